"""The pytest plugin (conformance.plugin), run in inner pytest sessions through pytester.

The inner sessions load the plugin with ``-p conformance.plugin`` and entry-point
autoloading off, so they work whether or not the distribution is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ROOT / "tests" / "conformance" / "faulty" / "config_faults.py"
OWN_TEST = "def test_own():\n    assert 1 + 1 == 2\n"
PLUGIN = ("-p", "conformance.plugin", "-W", "ignore::pytest.PytestAssertRewriteWarning")
"""Load the plugin explicitly (already imported here: no assertion rewriting for it)."""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # for runpytest_subprocess
    monkeypatch.syspath_prepend(str(ROOT))
    pytester.makepyfile(test_own=OWN_TEST)
    return pytester


def test_every_role_is_a_targets_attribute_and_an_option(inner: pytest.Pytester) -> None:
    from conformance.properties import Targets
    from conformance.roles import ROLE_TABLE

    assert all(getattr(Targets(), r.name) is None for r in ROLE_TABLE)
    help_text = inner.runpytest(*PLUGIN, "--help").stdout.str()
    missing = [r.plugin_option for r in ROLE_TABLE if r.plugin_option not in help_text]
    assert not missing, missing


def test_no_option_changes_nothing(inner: pytest.Pytester) -> None:
    """Without --conformance-<role>, the run is the project's own tests only; the harness
    (runner, properties, torch) is not even imported."""
    inner.makepyfile(
        test_imports=(
            "import sys\n"
            "def test_harness_not_imported():\n"
            "    assert 'conformance.judge' not in sys.modules\n"
            "    assert 'conformance.properties' not in sys.modules\n"
        )
    )
    result = inner.runpytest_subprocess(*PLUGIN, "-q")
    result.assert_outcomes(passed=2)
    assert "conformance" not in result.stdout.str().replace("conformance.plugin", "")


def test_one_item_per_property_with_clause_ids(inner: pytest.Pytester) -> None:
    result = inner.runpytest(
        *PLUGIN, "--collect-only", "-q",
        "--conformance-torch-config=spec:TorchTrainingConfig",
    )  # fmt: skip
    out = result.stdout.str()
    assert "test_own.py::test_own" in out
    assert "conformance::CFG-003::config.torch_unknown_algorithm_refused" in out
    assert "conformance::CFG-002::config.torch_algorithm_default" in out
    assert "agc." not in out, "only the roles given are collected"


def test_passing_failing_and_skipped_items(inner: pytest.Pytester) -> None:
    result = inner.runpytest(
        *PLUGIN,
        f"--conformance-torch-config={FAULTS}:PlainStrAlgorithmTorchConfig",
        "--conformance-tf-config=spec:TFTrainingConfig",
        "-k", "CFG-002 or CFG-003 or CFG-005 or test_own",
    )  # fmt: skip
    # CFG-002 x2 and CFG-003 (tf) pass, CFG-003 (torch) fails, CFG-005 needs --conformance-bridge
    result.assert_outcomes(
        passed=4, failed=1, skipped=1, deselected=result.parseoutcomes().get("deselected", 0)
    )
    out = result.stdout.str()
    assert "FAILED conformance::CFG-003::config.torch_unknown_algorithm_refused" in out
    assert "counterexample:" in out and "reproduce:" in out
    assert result.ret == 1


def test_xfail_file_and_advisory_should(inner: pytest.Pytester) -> None:
    xfail = inner.path / "known.txt"
    xfail.write_text("CFG-003  typed plain str upstream\n")
    args = [
        *PLUGIN,
        f"--conformance-torch-config={FAULTS}:PlainStrAlgorithmTorchConfig",
        "--conformance-tf-config=spec:TFTrainingConfig",
        f"--conformance-bridge={FAULTS}:silent_bridge",
        "-k", "CFG-003 or CFG-009",
    ]  # fmt: skip
    result = inner.runpytest(*args, f"--conformance-xfail={xfail}")
    # CFG-003 is listed: torch xfailed, tf xpassed; CFG-009 (SHOULD) fails: advisory xfail
    result.assert_outcomes(xfailed=2, xpassed=1, deselected=result.parseoutcomes()["deselected"])
    assert result.ret == 0
    assert "advisory SHOULD clause CFG-009" in inner.runpytest(*args, "-rx").stdout.str()
    strict = inner.runpytest(*args, f"--conformance-xfail={xfail}", "--conformance-strict")
    strict.assert_outcomes(
        xfailed=1, xpassed=1, failed=1, deselected=strict.parseoutcomes()["deselected"]
    )


def test_unloadable_target_is_a_usage_error(inner: pytest.Pytester) -> None:
    result = inner.runpytest(*PLUGIN, "--conformance-agc=impl:nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--agc target 'impl:nope'" in result.stderr.str()
    assert "has no attribute 'nope'" in result.stderr.str()


def test_profile_and_seed_options_reach_the_runner(inner: pytest.Pytester) -> None:
    inner.makeconftest(
        "import json\n"
        "def pytest_runtest_teardown(item):\n"
        "    r = getattr(item, 'result', None)\n"
        "    if r is not None:\n"
        "        open('examples.txt', 'a').write(f\"{r['property']} {r['examples']}\\n\")\n"
    )
    result = inner.runpytest(
        *PLUGIN, "--conformance-profile=default", "--conformance-seed=3",
        "--conformance-torch-config=spec:TorchTrainingConfig", "-k", "wrong_type",
    )  # fmt: skip
    result.assert_outcomes(passed=1, deselected=result.parseoutcomes()["deselected"])
    assert (inner.path / "examples.txt").read_text().split() == [
        "config.torch_wrong_type_rejected",
        "40",
    ]


def test_conformance_runs_without_pytest() -> None:
    """pytest stays optional: importing and running the harness never imports it."""
    import subprocess

    code = (
        "import sys, conformance; "
        "r = conformance.run_conformance({'torch_config': 'spec:TorchTrainingConfig'}, "
        "clauses=['CFG-002']); "
        "assert r.exit_status == 0; assert 'pytest' not in sys.modules, 'pytest imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_plugin_module_needs_no_torch_to_import() -> None:
    """Registering options must stay cheap: the plugin module imports only pytest."""
    import subprocess

    code = (
        "import sys; import conformance.plugin; "
        "assert 'torch' not in sys.modules and 'hypothesis' not in sys.modules, "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'hypothesis'))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_crashing_target_fails_its_items_and_the_test_run_goes_on(
    inner: pytest.Pytester,
) -> None:
    """Items run in the plugin's judge and its workers: a target calling os._exit ends only
    its worker, never the pytest process."""
    result = inner.runpytest(
        *PLUGIN, f"--conformance-agc={ROOT}/tests/conformance/hostile/exits.py:agc",
        "-k", "unit_rule or unclipped_units_bitwise or test_own",
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=3, deselected=result.parseoutcomes()["deselected"])
    out = result.stdout.str()
    assert "agc.unit_rule crashed" in out and "exited with status 0" in out


def test_a_folder_with_its_own_spec_neither_breaks_the_plugin_nor_is_checked(
    inner: pytest.Pytester,
) -> None:
    (inner.path / "spec").mkdir()
    (inner.path / "spec" / "__init__.py").write_text("raise RuntimeError('a shadowing spec')\n")
    plain = inner.runpytest_subprocess(*PLUGIN, "-q", "test_own.py")
    plain.assert_outcomes(passed=1)
    checked = inner.runpytest_subprocess(
        *PLUGIN, "-q", "--conformance-torch-config=spec:TorchTrainingConfig", "-k", "CFG-002"
    )
    checked.assert_outcomes(passed=1, deselected=checked.parseoutcomes()["deselected"])
