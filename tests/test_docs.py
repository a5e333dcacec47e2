"""The documentation: generated pages fresh, the generator's rendering, README size, tutorial."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_generate"] = module
    spec.loader.exec_module(module)
    return module


GEN = _generator()
PAGES = ["clauses.md", "cli.md", "roles.md", "benchmarks.md", "mutation-scores.md"]


@pytest.mark.parametrize("name", PAGES)
def test_generated_page_is_fresh(name: str) -> None:
    path = ROOT / "docs" / "reference" / name
    fresh = GEN.render_all()[path]
    assert path.read_text(encoding="utf-8") == fresh, (
        f"docs/reference/{name} is stale: run python docs/generate.py"
    )


def test_every_generated_page_is_listed() -> None:
    assert sorted(p.name for p in GEN.render_all()) == sorted(PAGES)


def test_check_finds_stale_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GEN, "REFERENCE", tmp_path)
    assert GEN.main(["--check"]) == 1
    assert len(GEN.stale_pages()) == len(PAGES)
    assert GEN.main([]) == 0
    assert GEN.stale_pages() == []
    (tmp_path / "cli.md").write_text("edited by hand\n", encoding="utf-8")
    assert GEN.stale_pages() == [tmp_path / "cli.md"]
    assert GEN.main(["--check"]) == 1


def test_cli_page_documents_every_option() -> None:
    from conformance.roles import ROLE_TABLE

    page = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    for flag in [r.flag for r in ROLE_TABLE] + ["--xfail", "--distributed", "--memory-limit"]:
        assert flag in page, flag
    for heading in ("## `conformance check`", "## `python -m impl.runner`"):
        assert heading in page
    assert "--seeds" in page.split("## `python -m impl.compare`")[1]


def test_benchmark_page_ratios_and_conditions(tmp_path: Path) -> None:
    result = {
        "benchmark": "bench_x",
        "title": "A made-up benchmark",
        "command": "python benchmarks/bench_x.py --json x.json",
        "conditions": {
            "torch": "9.9",
            "threads": 1,
            "device": "cpu",
            "cpu_count": 2,
            "reps": 5,
            "load_before": [3.5, 2.0, 1.0],
            "load_after": [4.25, 2.5, 1.5],
            "date": "2026-01-02T03:04:05Z",
        },
        "groups": [
            {
                "name": "set one",
                "unit": "ms",
                "baseline": "torch's",
                "medians": {"torch's": 8.0, "ours": 12.0, "a | piped arm": 2.0},
                "notes": ["target met"],
            }
        ],
    }
    (tmp_path / "bench_x.json").write_text(json.dumps(result), encoding="utf-8")
    page = GEN.render_benchmarks(tmp_path)
    assert "## A made-up benchmark" in page
    assert "| ours | 12.0 | 1.500 |" in page
    assert "| torch's | 8 | 1.000 |" in page
    assert "| a \\| piped arm | 2 | 0.250 |" in page
    assert "| load average before (1 / 5 / 15 min) | 3.50 / 2.00 / 1.00 |" in page
    assert "| load average after (1 / 5 / 15 min) | 4.25 / 2.50 / 1.50 |" in page
    assert "- target met" in page


def test_committed_benchmark_results_have_their_conditions() -> None:
    files = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert {f.stem for f in files} >= {
        "bench_agc",
        "bench_blocks",
        "bench_conformance",
        "bench_distributed",
    }
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        cond = data["conditions"]
        for key in ("torch", "threads", "device", "cpu_count", "reps", "date"):
            assert cond.get(key) is not None, (path.name, key)
        assert len(cond["load_before"]) == 3 and len(cond["load_after"]) == 3, path.name
        assert data["groups"], path.name
        for g in data["groups"]:
            assert g["baseline"] in g["medians"], (path.name, g["name"])


def test_readme_is_a_front_door() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 10_000
    assert re.search(r"<!-- ci:test-command -->\n```bash\n.+pytest", text)
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).exists(), link


def test_tutorial_agc_fails_the_eps_guard_and_its_fix_passes() -> None:
    from conformance import run_conformance

    tutorial = ROOT / "docs" / "tutorial"
    buggy = run_conformance({"agc": f"{tutorial / 'my_agc.py'}:agc"}, clauses=["AGC-009"])
    fixed = run_conformance({"agc": f"{tutorial / 'my_agc_fixed.py'}:agc"}, clauses=["AGC-009"])
    assert [r.status for r in buggy.results] == ["failed"]
    assert [r.status for r in fixed.results] == ["passed"]


def _benchmark_module(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_triage_entries_name_survivors_by_id_or_line_range() -> None:
    scores = _benchmark_module("mutation_scores")
    entries = scores.parse_triage(
        "# reviewed\n120-180  the plugin machinery: no clause\nbranch:40:7:1  a type check\n"
    )
    assert scores.why_alive(entries, "statement:150:8:0") == "the plugin machinery: no clause"
    assert scores.why_alive(entries, "branch:40:7:1") == "a type check"
    assert scores.why_alive(entries, "branch:40:7:0") == ""  # another mutant of that line
    assert scores.why_alive(entries, "constant:181:4:0") == ""
    with pytest.raises(ValueError, match="has no reason"):
        scores.parse_triage("120-180\n")
    with pytest.raises(ValueError, match="not a mutant id"):
        scores.parse_triage("line120  why\n")


def test_mutation_page_says_why_each_survivor_lives(tmp_path: Path) -> None:
    def survivor(mid: str, why: str) -> dict[str, object]:
        return {"id": mid, "description": "d", "before": "a", "after": "b", "reached": True,
                "why": why}  # fmt: skip

    run = {
        "name": "bundled-x", "role": "agc", "target": "impl:x", "options": ["--strict"],
        "equivalence_file": None, "triage_file": "benchmarks/mutation/bundled_x.triage",
        "score": 0.5, "generated": 4, "planned": 4, "killed": 2, "timeout": 0, "survived": 2,
        "unreached": 0, "incompetent": 0, "equivalent": 0, "mutants_per_minute": 1.0,
        "seconds": 1.0, "wall_seconds": 1.0, "load_before": [0, 0, 0], "load_after": [0, 0, 0],
        "survivors": [survivor("branch:1:0:0", "no clause asks"), survivor("branch:2:0:0", "")],
    }  # fmt: skip
    data = {"command": "c", "conditions": {"date": "d"}, "runs": {"bundled-x": run}}
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    page = GEN.render_mutation_scores(path)
    assert "(2; 1 reviewed in `benchmarks/mutation/bundled_x.triage`)" in page
    assert "| no clause asks |" in page
    assert "| not reviewed |" in page
