"""The study runner under torchrun: ``--distributed ddp|fsdp`` (TRN-009 applied to a run).

One tiny run per mode on 2 gloo ranks (``torchrun --standalone``: a free port), against the
same run in one process: the same metrics within float rounding, every output written
(by rank 0). Outside torchrun ``--distributed`` is a usage error (exit 2).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from conformance.properties.agc.sharded import run_ranks
from impl.distributed import fsdp2_problem
from impl.study.ranks import distributed_problem
from impl.study.run import main
from impl.study.rundir import RUN_FILES

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--N", "16", "--fno-blocks", "2", "--fno-width", "4", "--fno-modes", "2",
    "--architecture", "stable_hybrid", "--object-size", "32", "--scan-stride", "8",
    "--epochs", "2", "--batch-size", "2", "--accumulate-grad-batches", "2",
    "--gradient-clip-algorithm", "agc", "--grad-clip", "0.01", "--quiet",
]  # fmt: skip
SAME = ("status", "steps", "steps_clipped", "clip_fraction", "epochs_completed", "n_parameters")
CLOSE = ("final_train_loss", "final_val_loss", "best_val_loss", "amp_ssim", "amp_mae",
         "amp_psnr", "stable_gain_final")  # fmt: skip

pytestmark = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
    reason="torch.distributed with gloo is not available",
)


def _complex_problem(rank: int, world: int) -> str | None:
    from impl.distributed import complex_broadcast_problem

    return complex_broadcast_problem()


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("single") / "run"
    assert main([*ARGS, "--output-dir", str(out)]) == 0
    return json.loads((out / "metrics.json").read_text())


def _torchrun(mode: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "-m", "impl.runner", "--distributed", mode,
               *ARGS, "--output-dir", str(out)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("mode", ["ddp", "fsdp"])
def test_torchrun_run_measures_what_one_process_measures(
    mode: str, single: dict[str, Any], tmp_path: Path
) -> None:
    """2 ranks, each half of every micro-batch (accumulation 2, AGC): the one-process metrics;
    rank 0 wrote every output file; metrics.json says how it ran."""
    if mode == "fsdp" and (problem := fsdp2_problem()) is not None:
        pytest.skip(problem)
    if mode == "ddp" and (problem := run_ranks(_complex_problem, 2)[0]) is not None:
        pytest.skip(problem)
    out = tmp_path / "run"
    done = _torchrun(mode, out)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads((out / "metrics.json").read_text())
    assert got["distributed"] == {"mode": mode, "world_size": 2, "backend": "gloo"}
    assert single["distributed"] is None
    for key in SAME:
        assert got[key] == single[key], key
    for key in CLOSE:
        assert math.isclose(got[key], single[key], rel_tol=1e-5), (key, got[key], single[key])
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    state = torch.load(out / "model.pt", weights_only=True)  # a plain state_dict, whole
    assert all(not hasattr(v, "placements") for v in state.values())


def test_distributed_outside_torchrun_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--distributed`` without torchrun's environment: exit 2, saying how to run it."""
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_:
        main([*ARGS, "--distributed", "ddp", "--output-dir", str(tmp_path / "run")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--distributed ddp needs torchrun" in err and "torchrun --nproc-per-node N" in err
    assert not (tmp_path / "run").exists()


def test_distributed_problems_name_what_is_wrong() -> None:
    """A batch that does not divide among the ranks, or FSDP2 missing, is named before anything
    runs; a good setting has no problem."""
    env = {
        "RANK": "0",
        "WORLD_SIZE": "3",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "x",
        "MASTER_PORT": "1",
    }
    problem = distributed_problem("ddp", 16, env)
    assert problem is not None and "--batch-size 16" in problem and "3 ranks" in problem
    assert distributed_problem("ddp", 15, env) is None
    fsdp = distributed_problem("fsdp", 15, env)
    assert fsdp == (None if fsdp2_problem() is None else f"--distributed fsdp: {fsdp2_problem()}")
