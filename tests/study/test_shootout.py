"""The compare wrapper: arms as StudyConfigs, flag forwarding, checks before any run, the tables,
the verdicts and the pictures.

Clauses: RUN-002 (--torch-grad-clip / --torch-grad-clip-algorithm forwarded), RUN-004 (bad arms,
shared flags and output directories rejected before any run), RUN-009 (comparison table over
seeds), RUN-015 (a verdict per arm pair against the seed-to-seed spread; none when ill-posed).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

import spec
from impl.study import run as study_run
from impl.study import shootout, tables
from impl.study.presets import DEFAULT
from impl.study.shootout import DEFAULT_ARMS, Arm, arm_config, parse_arm

TINY = [
    "--N", "16", "--fno-blocks", "1", "--fno-width", "4", "--fno-modes", "4",
    "--object-size", "32", "--scan-stride", "4", "--epochs", "2", "--batch-size", "8", "--quiet",
]  # fmt: skip
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def capture_configs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[spec.StudyConfig, Path]]:
    """Replace training (and data) by a recorder of what each run was asked to do."""
    seen: list[tuple[spec.StudyConfig, Path]] = []

    def fake_run(config: spec.StudyConfig, output_dir: Any, options: Any, **_: Any) -> Any:
        seen.append((config, Path(output_dir)))
        metrics = {"failed": False, "interrupted": False, "best_val_loss": 1.0, "seconds": 0.0}
        return study_run.RunOutcome(config=config, metrics=metrics, history=[], output_dir=None)

    check = {
        "wellposed": True, "twin_rejected": True, "retrieval_solves": True, "reasons": [],
        "twin": {"twin_margin": 1.0, "truth_loss": 0.0}, "direct_retrieval": {"amp_ssim": 1.0},
    }  # fmt: skip
    monkeypatch.setattr(shootout, "run_study", fake_run)
    monkeypatch.setattr(shootout, "make_study_data", lambda config: None)
    monkeypatch.setattr(shootout, "check_wellposedness", lambda data, loss: check)
    monkeypatch.setattr(shootout, "make_loss", lambda config, data: None)
    return seen


def test_default_arms_are_stage_a(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RUN-002: the three Stage A arms reach the training config as the plan says."""
    seen = capture_configs(monkeypatch)
    assert shootout.main([*TINY, "--output-dir", str(tmp_path), "--no-plot"]) == 0
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


@pytest.mark.parametrize("algorithm", spec.CLIP_ALGORITHMS)
def test_torch_grad_clip_flags_are_forwarded(
    algorithm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN-002: --torch-grad-clip-algorithm / --torch-grad-clip reach arms without own clipping."""
    seen = capture_configs(monkeypatch)
    code = shootout.main(
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


def test_arm_config_is_the_base_with_the_arm_applied() -> None:
    """No argv round trip: the arm's fields on the base config, everything else unchanged."""
    cfg = arm_config(DEFAULT, Arm("x", "stable_hybrid"), 9, 0.02, "agc")
    assert cfg.model == DEFAULT.model.model_copy(update={"architecture": "stable_hybrid"})
    assert cfg.training == DEFAULT.training.model_copy(
        update={"gradient_clip_algorithm": "agc", "gradient_clip_val": 0.02, "seed": 9}
    )
    assert cfg.data == DEFAULT.data
    assert (
        arm_config(DEFAULT, Arm("y", "hybrid", "norm", -1.0), 1).training.gradient_clip_val == 0.0
    )


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
        (["--arm", "a:hybrd"], "arm 'a' (seed 42): field model.architecture"),
        (["--epochs", "0"], "--epochs=0"),
        (["--torch-grad-clip-algorithm", "bogus"], "'bogus'"),
        (["--grad-clip", "1"], "--grad-clip is set per arm"),
        (["--seed", "1"], "--seed is set per arm"),
        (["--arm", "a:hybrid", "--arm", "a:stable_hybrid"], "unique"),
        (["--seeds", "0"], "--seeds=0"),
        (["--N", "30", "--fno-blocks", "3"], "model.N=30 does not fit the generator"),
        (["--bogus-flag"], "unrecognized arguments: --bogus-flag"),
    ],
)
def test_bad_input_exits_2_before_any_run(
    flags: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """RUN-004: bad arms or shared flags exit 2 before the first arm trains."""
    seen = capture_configs(monkeypatch)
    try:
        code = shootout.main([*TINY, *flags, "--output-dir", str(tmp_path / "c")])
    except SystemExit as exc:
        code = exc.code  # type: ignore[assignment]
    assert code == 2 and needle in capsys.readouterr().err
    assert seen == []


def test_a_directory_holding_a_run_is_refused_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    seen = capture_configs(monkeypatch)
    (tmp_path / "opt_fix" / "seed42").mkdir(parents=True)
    (tmp_path / "opt_fix" / "seed42" / "metrics.json").write_text("{}")
    assert shootout.main([*TINY, "--output-dir", str(tmp_path), "--no-plot"]) == 2
    assert "opt_fix/seed42 already holds a run" in capsys.readouterr().err and seen == []
    (tmp_path / "comparison.json").write_text("{}")
    assert shootout.main([*TINY, "--output-dir", str(tmp_path), "--no-plot", "--overwrite"]) == 0
    assert len(seen) == 3


def test_summary_median_iqr_and_failure_rate() -> None:
    """RUN-009: median and IQR over the runs that did not fail; failures counted."""
    runs = [
        {"best_val_loss": v, "amp_ssim": 0.5, "failed": False, "cpu_seconds": 2.0}
        for v in (1.0, 2.0, 3.0, 4.0)
    ] + [{"best_val_loss": None, "amp_ssim": None, "failed": True, "cpu_seconds": 1.0}]
    s = tables.summarise(runs)
    assert s["best_val_loss"]["median"] == 2.5
    assert s["best_val_loss"]["iqr"] == pytest.approx(3.25 - 1.75)
    assert s["best_val_loss"]["n"] == 4 and s["failure_rate"] == pytest.approx(0.2)
    assert s["cpu_seconds"]["n"] == 5  # time counts for every run, failed or not
    assert s["final_val_loss"]["median"] is None


def arm_summary(*values: float) -> dict[str, Any]:
    return tables.summarise([{"amp_ssim": v, "failed": False} for v in values])


@pytest.mark.parametrize(
    ("a", "b", "needle"),
    [
        (
            (0.95, 0.96, 0.97),
            (0.80, 0.81, 0.83),
            "exceeds the seed-to-seed spread (IQR 0.015): a is better",
        ),
        ((0.80, 0.81, 0.83), (0.95, 0.96, 0.97), ": b is better"),
        ((0.90, 0.95, 0.99), (0.92, 0.94, 0.96), "within the seed-to-seed spread"),
        ((0.95,), (0.80,), "no verdict: 1 run(s) per arm, need >= 3"),
        ((), (0.80, 0.8, 0.8), "no verdict (an arm has no successful run)"),
    ],
)
def test_verdict_against_the_spread(
    a: tuple[float, ...], b: tuple[float, ...], needle: str
) -> None:
    """RUN-015: the difference of medians against the larger IQR of the two arms."""
    line = tables.verdict("a", arm_summary(*a), "b", arm_summary(*b), "amp_ssim")
    assert line.startswith("a vs b: amp SSIM") and needle in line


def test_lower_is_better_for_losses() -> None:
    a = tables.summarise([{"best_val_loss": v, "failed": False} for v in (0.1, 0.1, 0.1)])
    b = tables.summarise([{"best_val_loss": v, "failed": False} for v in (0.5, 0.5, 0.5)])
    assert tables.verdict("a", a, "b", b, "best_val_loss").endswith("a is better")


def test_tiny_real_comparison_writes_tables_and_pictures(tmp_path: Path, capsys: Any) -> None:
    """RUN-009: a real (tiny) three-arm run writes comparison.json/.md and, with matplotlib (the
    study extra), both PNGs; without it, the tables and a message naming the extra."""
    assert shootout.main([*TINY, "--output-dir", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert list(data["arms"]) == [a.name for a in DEFAULT_ARMS] and data["seeds"] == 1
    assert data["wellposed"] is True and data["task"].startswith("well-posed")
    for arm in data["arms"].values():
        summary, run_metrics = arm["summary"], arm["runs"][0]
        assert summary["runs"] == 1 and summary["failure_rate"] == 0.0
        assert summary["amp_ssim"]["median"] == run_metrics["amp_ssim"]
        assert summary["cpu_seconds"]["median"] == run_metrics["cpu_seconds"] > 0
    assert len(data["verdicts"]) == 3 and all("no verdict: 1 run(s)" in v for v in data["verdicts"])
    table = (tmp_path / "comparison.md").read_text()
    assert (
        "| control | hybrid | norm 1 |" in table and "| arch_fix | stable_hybrid | none |" in table
    )
    assert "Task: well-posed" in table and "CPU s" in table
    for name in ("curves.png", "reconstructions.png"):
        if HAS_MPL:
            assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert not (tmp_path / name).exists()
    assert HAS_MPL or "pip install 'fno-stability[study]'" in capsys.readouterr().err
    for name in ("control", "arch_fix", "opt_fix"):
        assert (tmp_path / name / "seed42" / "metrics.json").exists()


def test_ill_posed_comparison_ranks_nothing(tmp_path: Path) -> None:
    """RUN-015: with the Gaussian probe the table says ill-posed and gives no verdicts."""
    flags = [
        *TINY,
        "--probe",
        "gaussian",
        "--epochs",
        "1",
        "--arm",
        "a:hybrid",
        "--arm",
        "b:hybrid:agc:0.01",
    ]
    with pytest.warns(study_run.IllPosedWarning):
        assert (
            shootout.main([*flags, "--seeds", "3", "--output-dir", str(tmp_path), "--no-plot"]) == 0
        )
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["wellposed"] is False and data["task"].startswith("ILL-POSED")
    assert data["verdicts"] == ["no verdicts: " + data["task"]]
    assert "ILL-POSED, arms are not ranked" in (tmp_path / "comparison.md").read_text()


def test_unconfirmed_task_is_ranked_with_a_caveat() -> None:
    """RUN-015: the direct retrieval failing alone (no proven ambiguity) still gives verdicts."""
    result = shootout.ComparisonResult(seeds=3)
    result.wellposedness[42] = {
        "wellposed": False, "twin_rejected": True, "retrieval_solves": False,
        "reasons": ["direct phase retrieval reaches amplitude SSIM 0.47 < 0.5"],
        "twin": {"twin_margin": 1.07, "truth_loss": 1e-3}, "direct_retrieval": {"amp_ssim": 0.47},
    }  # fmt: skip
    for name, values in (("a", (0.9, 0.91, 0.92)), ("b", (0.5, 0.52, 0.51))):
        runs = [{"amp_ssim": v, "failed": False} for v in values]
        result.arms[name] = {"runs": runs, "summary": tables.summarise(runs)}
    data = result.to_json()
    assert data["wellposed"] is False and data["task"].startswith("not confirmed: direct phase")
    assert data["verdicts"][0].endswith("a is better")
    result.wellposedness[43] = {**result.wellposedness[42], "twin_rejected": False}
    assert shootout.ComparisonResult.to_json(result)["verdicts"][0].startswith("no verdicts: ILL")


def test_interrupted_arm_stops_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN-006: an interrupt inside an arm stops the comparison; what was measured is written."""
    capture_configs(monkeypatch)
    calls: list[str] = []

    def fake_run(config: spec.StudyConfig, output_dir: Any, options: Any, **_: Any) -> Any:
        calls.append(config.model.architecture)
        metrics = {"failed": False, "interrupted": len(calls) == 2, "seconds": 0.0,
                   "interrupt_signal": "SIGTERM" if len(calls) == 2 else None}  # fmt: skip
        return study_run.RunOutcome(config=config, metrics=metrics, history=[], output_dir=None)

    monkeypatch.setattr(shootout, "run_study", fake_run)
    assert shootout.main([*TINY, "--output-dir", str(tmp_path), "--no-plot"]) == 143
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["interrupted"] and list(data["arms"]) == ["control", "arch_fix"]


def test_missing_matplotlib_skips_pictures_with_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import builtins

    from impl.study import plots
    from impl.study.rundir import RunDirectory

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "matplotlib":
            raise ImportError("no matplotlib here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = shootout.ComparisonResult(seeds=1)
    assert plots.plot_curves(result, RunDirectory(tmp_path)) is False
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
