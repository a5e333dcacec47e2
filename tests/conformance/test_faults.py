"""Proof that the harness discriminates: each faulty config / bridge (faulty/config_faults.py)
fails exactly the CFG clauses it breaks, the faithful spec passes them all; each faulty
spectral conv, plain block and registry API (faulty/blocks_layer_faults.py) fails its clause;
and the other families' faults are caught through the CLI as a third party would run it.

(The AGC, training-step, block, generator and registry faults are also run through the
runner, property by property, in tests/test_agc_properties.py and test_block_properties.py.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from faulty import blocks_layer_faults
from faulty.config_faults import (
    ALSO_POSSIBLE,
    FAULTS,
    UpstreamTFTrainingConfig,
    UpstreamTorchTrainingConfig,
)

import impl
import spec
from conformance.cli import main
from conformance.judge import run_conformance

FAITHFUL: dict[str, Any] = {
    "tf_config": spec.TFTrainingConfig,
    "torch_config": spec.TorchTrainingConfig,
    "bridge": spec,
}
FAULTY = Path(__file__).resolve().parent / "faulty"


def failing(targets: dict[str, Any], **kwargs: Any) -> set[str]:
    report = run_conformance(targets, clauses=["CFG-*"], **kwargs)
    assert not [r for r in report.results if r.status == "skipped"]
    return {r.clause for r in report.results if r.bad}


def test_faithful_configs_pass_every_cfg_clause() -> None:
    report = run_conformance(FAITHFUL, clauses=["CFG-*"], profile="default")
    assert {r.status for r in report.results} == {"passed"}
    must = {c.id for c in spec.clauses_of("CFG")}
    assert {r.clause for r in report.results} == must


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_fails_its_clauses_and_no_other(name: str) -> None:
    replaced, expected = FAULTS[name]
    got = failing({**FAITHFUL, **replaced})
    assert expected <= got, f"{name}: expected {sorted(expected)} to fail, got {sorted(got)}"
    extra = got - expected - ALSO_POSSIBLE.get(name, set())
    assert not extra, f"{name} also failed {sorted(extra)}: the fault is not narrow"


def test_upstream_dataclasses_fail_the_rejection_clauses() -> None:
    """Dataclasses accept anything at run time: an unknown algorithm, a negative clip value, a
    string for a count (strict clauses). They do reject unknown keys (TypeError) and keep the
    defaults and values right. At plan level only the Torch side's plain ``str`` annotation
    fails (CFG-003): the TF side's Literal refuses 'bogus' for a type checker."""
    report = run_conformance(
        {"torch_config": UpstreamTorchTrainingConfig, "tf_config": UpstreamTFTrainingConfig}
    )
    bad = {r.clause for r in report.results if r.bad}
    assert bad == {"CFG-003", "CFG-010", "CFG-011", "CFG-012"}
    assert report.failing_clauses() == ["CFG-003"]
    refused = {r.property: r.status for r in report.results if r.clause == "CFG-003"}
    assert refused == {"config.tf_unknown_algorithm_refused": "passed",
                       "config.torch_unknown_algorithm_refused": "failed"}  # fmt: skip
    by_id = {r.property: r for r in report.results}
    assert by_id["config.bridge_round_trip"].status == "skipped"
    assert by_id["config.torch_unknown_key_rejected"].status == "passed"
    rejected = by_id["config.torch_clip_value_rejected"]
    assert rejected.status == "failed" and "was accepted" in rejected.message


def test_faults_caught_through_the_cli_with_file_targets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As a third party would run it: every role from a file target, one faulty per family."""
    argv = [
        "check",
        "--agc", f"{FAULTY / 'agc_faults.py'}:per_tensor_agc",
        "--registry", f"{FAULTY / 'registry_faults.py'}:silent_fallback",
        "--block", f"{FAULTY / 'blocks_faults.py'}:UnitGammaStableBlock",
        "--torch-config", f"{FAULTY / 'config_faults.py'}:NegativeClipTorchConfig",
        "--clause", "AGC-008", "REG-009", "BLK-007", "CFG-004", "CFG-012", "BLK-006",
        "--format", "json",
    ]  # fmt: skip
    code = main(argv)
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    status = {r["property"]: r["status"] for r in report["results"]}
    assert status["agc.unit_locality"] == "failed"
    assert status["registry.unknown_name_rejected"] == "failed"
    assert status["blocks.identity_at_init"] == "failed"
    assert status["config.torch_clip_value_rejected"] == "failed"
    assert status["config.torch_clip_value_accepted"] == "passed"
    assert status["blocks.forward_shape"] == "passed", "the faulty block keeps its shape"


LAYERS: dict[str, Any] = {
    "spectral_conv": impl.SpectralConv2d,
    "plain_block": impl.PtychoBlock,
    "registry": impl.resolve_generator,
    "register": impl.register,
    "model_config": spec.ModelConfig,
    "build_generator": impl.build_generator,
}


def test_reference_layers_and_registry_api_pass() -> None:
    report = run_conformance(LAYERS, clauses=["BLK-00[1235]", "REG-00[458]", "REG-010"])
    assert {r.status for r in report.results} == {"passed"}
    assert {r.clause for r in report.results} >= {"BLK-001", "BLK-003", "REG-004", "REG-008"}


@pytest.mark.parametrize(
    ("replaced", "clause"),
    [(replaced, clause) for _, replaced, clause in blocks_layer_faults.FAULTS],
    ids=[name for name, _, _ in blocks_layer_faults.FAULTS],
)
def test_layer_and_registry_faults_fail_their_clause(replaced: dict[str, Any], clause: str) -> None:
    try:
        report = run_conformance({**LAYERS, **replaced}, clauses=[clause])
    finally:
        blocks_layer_faults.reset_table()
    (bad,) = {r.clause for r in report.results if r.bad}
    assert bad == clause
