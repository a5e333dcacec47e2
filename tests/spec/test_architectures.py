"""Which architecture names spec.ModelConfig accepts (REG-005), whatever has been imported.

Each check of import order runs in a fresh interpreter: in this one ``impl`` is imported
already. A fake installed distribution (a ``.dist-info`` folder on ``PYTHONPATH``) declares
a plugin name in the entry-point group whose module does not exist: spec must list the
name from the metadata alone, without importing anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import spec
from spec import architectures

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "from_metadata"
PROBES = [*spec.BUILTIN_ARCHITECTURES, PLUGIN, "stable_hybird", "no_such_generator"]

_REPORT = """
import json, sys
import spec
from pydantic import ValidationError

def report():
    accepted = {}
    for name in PROBES:
        try:
            spec.ModelConfig(architecture=name)
            accepted[name] = True
        except ValidationError:
            accepted[name] = False
    return {"accepted": accepted, "known": sorted(spec.known_architectures())}
"""

ORDERS = {
    "spec alone": "out = [report()]\nassert 'impl' not in sys.modules",
    "impl first": "import impl\nout = [report()]",
    "spec, then impl": "out = [report()]\nimport impl\nout.append(report())",
    "impl.registry resolves first": ("import impl\nimpl.registry.available()\nout = [report()]"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding an installed distribution that declares one generator plugin."""
    root = tmp_path_factory.mktemp("site")
    info = root / "fake_generators-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-generators\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{spec.ENTRY_POINT_GROUP}]\n{PLUGIN} = no_such_module_abc:Generator\n"
    )
    return root


def _run(code: str, site: Path) -> list[dict[str, object]]:
    program = f"PROBES = {PROBES!r}\n{_REPORT}\n{code}\nprint(json.dumps(out))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    reports: list[dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return reports


@pytest.fixture(scope="module")
def reports(site: Path) -> dict[str, list[dict[str, object]]]:
    return {order: _run(code, site) for order, code in ORDERS.items()}


def test_validation_is_the_same_whatever_was_imported_first(
    reports: dict[str, list[dict[str, object]]],
) -> None:
    """REG-005: the same names are accepted before and after ``import impl``, in any order."""
    every = [r for runs in reports.values() for r in runs]
    assert len(every) == len(ORDERS) + 1
    assert all(r == every[0] for r in every), reports


def test_builtins_and_installed_plugins_accepted_others_refused(
    reports: dict[str, list[dict[str, object]]],
) -> None:
    """The built-in names and the plugin's (listed from metadata, not imported) validate;
    a misspelling and an unknown name do not."""
    accepted = reports["spec alone"][0]["accepted"]
    assert accepted == {
        **dict.fromkeys(spec.BUILTIN_ARCHITECTURES, True),
        PLUGIN: True,
        "stable_hybird": False,
        "no_such_generator": False,
    }
    assert reports["spec alone"][0]["known"] == sorted([*spec.BUILTIN_ARCHITECTURES, PLUGIN])


def test_plugin_name_listed_without_installed_metadata_is_refused() -> None:
    """Without the fake distribution (this interpreter) the plugin's name is unknown."""
    with pytest.raises(ValidationError, match=f"unknown architecture '{PLUGIN}'"):
        spec.ModelConfig(architecture=PLUGIN)


def test_declare_and_withdraw() -> None:
    spec.declare_architecture("declared_here")
    try:
        assert "declared_here" in spec.known_architectures()
        assert "declared_here" in architectures.declared_architectures()
        assert spec.ModelConfig(architecture="declared_here").architecture == "declared_here"
        with pytest.raises(ValueError, match="'declared_here' is already known"):
            spec.declare_architecture("declared_here")
    finally:
        spec.withdraw_architecture("declared_here")
    assert "declared_here" not in spec.known_architectures()


@pytest.mark.parametrize("name", [*spec.BUILTIN_ARCHITECTURES, "", " padded", 3])
def test_declare_refuses_taken_and_malformed_names(name: object) -> None:
    with pytest.raises(ValueError, match=f"architecture name {name!r}"):
        spec.declare_architecture(name)  # type: ignore[arg-type]
    assert spec.known_architectures() >= set(spec.BUILTIN_ARCHITECTURES)


@pytest.mark.parametrize("name", [*spec.BUILTIN_ARCHITECTURES, "never_declared"])
def test_withdraw_refuses_names_not_declared(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name!r} was not declared at run time"):
        spec.withdraw_architecture(name)
    if name in spec.BUILTIN_ARCHITECTURES:
        assert spec.ModelConfig(architecture=name).architecture == name


def test_entry_points_are_read_once_until_refreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def read() -> tuple[()]:
        calls.append(1)
        return ()

    monkeypatch.setattr(architectures, "_read_entry_points", read)
    architectures.refresh_plugins()
    try:
        spec.known_architectures()
        spec.known_architectures()
        assert len(calls) == 1
        architectures.refresh_plugins()
        spec.known_architectures()
        assert len(calls) == 2
    finally:
        architectures.refresh_plugins()
