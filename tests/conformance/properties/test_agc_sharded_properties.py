"""The sharded conformance properties (AGC-035, AGC-036): asked for, they pass the bundled
implementation and torch's own clipping, and fail local-shard clipping; not asked for, they
are not applicable, saying how to ask. ``--distributed`` is validated like the domain."""

from __future__ import annotations

import sys

import pytest
import torch

from conformance.cli import main as cli
from conformance.domain import Domain, DomainError
from conformance.judge import run_conformance

pytestmark = [
    pytest.mark.skipif(
        not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
        reason="torch.distributed with gloo is not available",
    ),
    pytest.mark.skipif(sys.platform == "win32", reason="the rank processes are forked"),
]

SHARDED = ["AGC-035", "AGC-036"]


LIMIT = 300.0
"""Seconds per property: each example forks its ranks; a loaded machine must not time it out."""


def _statuses(targets: dict[str, str], **kw: object) -> dict[str, str]:
    report = run_conformance(targets, clauses=SHARDED, time_limit=LIMIT, **kw)  # type: ignore[arg-type]
    return {r.property: r.status for r in report.results}


def test_bundled_implementation_passes_on_two_ranks() -> None:
    """AGC-035 / AGC-036: impl's AGC and dispatch on 1-D and 2-D meshes of 2 ranks."""
    got = _statuses({"agc": "impl:adaptive_gradient_clip_", "clip": "impl:clip_gradients_"},
                    distributed=2)  # fmt: skip
    assert got == {
        "agc.agc_equals_unsharded": "passed",
        "agc.clip_equals_unsharded": "passed",
    }


def test_local_shard_clipping_fails() -> None:
    """Clipping each rank's local tensors on their own (as per-tensor utilities do on FSDP2's
    shards) fails both sharded clauses, with the mesh and layouts in the message."""
    report = run_conformance(
        {"agc": "faulty.sharded_faults:local_agc", "clip": "faulty.sharded_faults:local_norm_clip"},
        clauses=SHARDED,
        distributed=2,
        time_limit=LIMIT,
    )
    bad = {r.property: r for r in report.results}
    for name in ("agc.agc_equals_unsharded", "agc.clip_equals_unsharded"):
        assert bad[name].status == "failed", (name, bad[name].status, bad[name].message)
        assert "sharded on mesh" in bad[name].message
        assert bad[name].example is not None and "ShardedCase" in bad[name].example
    assert report.exit_status == 0  # strict-tier clauses: reported, not counted by default
    assert (
        run_conformance(
            {"agc": "faulty.sharded_faults:local_agc"}, clauses=SHARDED, distributed=2, strict=True
        ).exit_status
        == 1
    )


def test_not_applicable_unless_asked() -> None:
    got = run_conformance({"agc": "impl:adaptive_gradient_clip_"}, clauses=SHARDED)
    (result,) = got.results
    assert result.status == "not_applicable" and "--distributed N" in result.message


def test_distributed_flag_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    """``--distributed 1`` is a usage error naming what is allowed; 0 means off."""
    assert cli(["check", "--agc", "impl:adaptive_gradient_clip_", "--distributed", "1"]) == 2
    assert "distributed 1: allowed is 0 (off) or an int from 2 to 16" in capsys.readouterr().err
    assert Domain.declared({"distributed": 0}).distributed == 0
    assert Domain().narrow(Domain(distributed=4)).distributed == 4  # a request survives narrowing
    with pytest.raises(DomainError):
        Domain.declared({"distributed": True})
