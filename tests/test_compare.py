"""The compare wrapper: arms, flag forwarding to the runner, the table and the curves.

Clauses: RUN-002 (--torch-grad-clip / --torch-grad-clip-algorithm forwarded to the runner),
RUN-004 (bad arms and shared flags rejected before any run), RUN-009 (comparison table).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

import spec
from impl import compare, runner
from impl.compare import DEFAULT_ARMS, Arm, parse_arm

TINY = [
    "--N", "16", "--gridsize", "1", "--fno-blocks", "1", "--fno-width", "4", "--fno-modes", "4",
    "--epochs", "2", "--n-train", "8", "--n-val", "4", "--batch-size", "4", "--quiet",
]  # fmt: skip


def capture_configs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[spec.StudyConfig, Path]]:
    """Replace training by a recorder of what the runner was asked to train."""
    seen: list[tuple[spec.StudyConfig, Path]] = []

    def fake_run(config: spec.StudyConfig, output_dir: Any, options: Any, **_: Any) -> Any:
        seen.append((config, Path(output_dir)))
        metrics = {"failed": False, "interrupted": False, "best_val_loss": 1.0, "seconds": 0.0}
        return runner.RunOutcome(config=config, metrics=metrics, history=[], output_dir=None)

    monkeypatch.setattr(runner, "run_study", fake_run)
    return seen


def test_default_arms_are_stage_a(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RUN-002: the three Stage A arms reach the training config as the plan says."""
    seen = capture_configs(monkeypatch)
    assert compare.main([*TINY, "--output-dir", str(tmp_path), "--no-plot"]) == 0
    got = {
        out.parent.name: (
            c.model.architecture, c.training.gradient_clip_algorithm, c.training.clipping_enabled,
            c.training.gradient_clip_val,
        )
        for c, out in seen
    }  # fmt: skip
    assert got == {
        "control": ("hybrid", "norm", True, 1.0),
        "arch_fix": ("stable_hybrid", "norm", False, 0.0),
        "opt_fix": ("hybrid", "agc", True, 0.01),
    }
    assert all(c.training.epochs == 2 and c.model.N == 16 for c, _ in seen)  # shared flags


@pytest.mark.parametrize("algorithm", ["norm", "value", "agc"])
def test_torch_grad_clip_flags_are_forwarded(
    algorithm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN-002: --torch-grad-clip-algorithm / --torch-grad-clip reach arms without own clipping."""
    seen = capture_configs(monkeypatch)
    code = compare.main(
        [*TINY, "--arm", "a:hybrid", "--arm", "b:stable_hybrid", "--arm", "own:hybrid:value:0.5",
         "--torch-grad-clip", "0.03", "--torch-grad-clip-algorithm", algorithm,
         "--seeds", "2", "--seed0", "5", "--output-dir", str(tmp_path), "--no-plot"]
    )  # fmt: skip
    assert code == 0
    by_arm: dict[str, list[spec.StudyConfig]] = {}
    for config, out in seen:
        by_arm.setdefault(out.parent.name, []).append(config)
    for name in ("a", "b"):
        assert [c.training.gradient_clip_algorithm for c in by_arm[name]] == [algorithm] * 2
        assert [c.training.gradient_clip_val for c in by_arm[name]] == [0.03] * 2
    assert [c.training.gradient_clip_algorithm for c in by_arm["own"]] == ["value"] * 2
    assert [c.training.seed for c in by_arm["a"]] == [5, 6]


def test_arm_argv_round_trips_through_the_runner_parser(tmp_path: Path) -> None:
    """RUN-002: the command line the wrapper builds parses into the arm's training config."""
    argv = compare.arm_argv(Arm("x", "hybrid"), 9, tmp_path, TINY, 0.02, "agc")
    config, _, out = runner.parse_args(argv)
    assert config.training.gradient_clip_algorithm == "agc"
    assert config.training.gradient_clip_val == 0.02 and config.training.seed == 9
    assert out == tmp_path / "x" / "seed9"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("onlyname", "expected name:architecture"),
        ("a:hybrid:bogus:1", "algorithm 'bogus' is not one of norm, value, agc"),
        ("a:hybrid:agc:x", "clip value 'x' is not a number"),
        ("a:hybrid:agc:nan", "must be finite"),
        ("a b:hybrid", "name 'a b'"),
        ("a:hybrid:agc", "expected name:architecture"),
    ],
)
def test_bad_arm_specs(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        parse_arm(text)


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--arm", "a:hybrid:bogus:1"], "'bogus'"),
        (["--arm", "a:hybrd"], "--architecture='hybrd'"),
        (["--epochs", "0"], "--epochs=0"),
        (["--torch-grad-clip-algorithm", "bogus"], "'bogus'"),
        (["--grad-clip", "1"], "--grad-clip is set per arm"),
        (["--arm", "a:hybrid", "--arm", "a:stable_hybrid"], "unique"),
        (["--seeds", "0"], "--seeds=0"),
    ],
)
def test_bad_input_exits_2_before_any_run(
    flags: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """RUN-004: bad arms or shared flags exit 2 before the first arm trains."""
    seen = capture_configs(monkeypatch)
    with pytest.raises(SystemExit) as info:
        compare.main([*TINY, *flags, "--output-dir", str(tmp_path)])
    assert info.value.code == 2 and needle in capsys.readouterr().err
    assert seen == []


def test_summary_median_iqr_and_failure_rate() -> None:
    """RUN-009: median and IQR over the runs that did not fail; failures counted."""
    runs = [
        {"best_val_loss": v, "amp_ssim": 0.5, "failed": False} for v in (1.0, 2.0, 3.0, 4.0)
    ] + [{"best_val_loss": None, "amp_ssim": None, "failed": True}]
    s = compare.summarise(runs)
    assert s["best_val_loss"]["median"] == 2.5
    assert s["best_val_loss"]["iqr"] == pytest.approx(3.25 - 1.75)
    assert s["best_val_loss"]["n"] == 4 and s["failure_rate"] == pytest.approx(0.2)
    assert s["final_val_loss"]["median"] is None


def test_tiny_real_comparison_writes_table(tmp_path: Path) -> None:
    """RUN-009: a real (tiny) three-arm run writes comparison.json and comparison.md."""
    code = compare.main([*TINY, "--output-dir", str(tmp_path), "--no-plot"])
    assert code == 0
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert list(data["arms"]) == [a.name for a in DEFAULT_ARMS] and data["seeds"] == 1
    for arm in data["arms"].values():
        summary = arm["summary"]
        assert summary["runs"] == 1 and summary["failure_rate"] == 0.0
        run_metrics = arm["runs"][0]
        assert summary["best_val_loss"]["median"] == run_metrics["best_val_loss"]
        assert summary["amp_ssim"]["iqr"] == 0.0
    table = (tmp_path / "comparison.md").read_text()
    assert "| control | hybrid | norm 1 |" in table
    assert (
        "| arch_fix | stable_hybrid | none |" in table
        and "| opt_fix | hybrid | agc 0.01 |" in table
    )
    for name in ("control", "arch_fix", "opt_fix"):
        assert (tmp_path / name / "seed42" / "metrics.json").exists()
    assert not (tmp_path / "curves.png").exists()


def test_interrupted_arm_stops_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN-006: Ctrl-C inside an arm stops the comparison; what was measured is written."""
    calls: list[str] = []

    def fake_run(config: spec.StudyConfig, output_dir: Any, options: Any, **_: Any) -> Any:
        calls.append(config.model.architecture)
        metrics = {"failed": False, "interrupted": len(calls) == 2, "seconds": 0.0}
        return runner.RunOutcome(config=config, metrics=metrics, history=[], output_dir=None)

    monkeypatch.setattr(runner, "run_study", fake_run)
    assert compare.main([*TINY, "--output-dir", str(tmp_path), "--no-plot"]) == 130
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["interrupted"] and list(data["arms"]) == ["control", "arch_fix"]


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib missing")
def test_curves_png_written(tmp_path: Path) -> None:
    code = compare.main([*TINY, "--arm", "a:hybrid", "--output-dir", str(tmp_path)])
    png = tmp_path / "curves.png"
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_skips_png_with_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "matplotlib":
            raise ImportError("no matplotlib here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = compare.ComparisonResult(seeds=1, shared=[], arms={})
    assert compare.plot_curves(result, tmp_path / "c.png") is None
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()
