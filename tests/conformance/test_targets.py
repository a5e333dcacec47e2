"""Target loading (conformance.targets): module and single-file forms, and the errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import spec
from conformance.targets import TargetError, canonical, load_target, object_name, parse_target

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def boom_package(tmp_path: Path) -> Path:
    """A package whose ``__init__`` raises, with a clean AGC module inside it."""
    pkg = tmp_path / "boompkg"
    (pkg / "utils").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('importing boompkg needs torchvision')\n")
    (pkg / "utils" / "__init__.py").write_text("")
    (pkg / "utils" / "agc.py").write_text(
        textwrap.dedent(
            """
            import dataclasses

            @dataclasses.dataclass
            class Knob:
                value: int = 1

            def clip(parameters, clip_factor=0.01, eps=1e-3):
                return None

            NOT_CALLABLE = 3
            """
        )
    )
    (pkg / "utils" / "relative.py").write_text("from . import agc\n")
    return tmp_path


def test_module_form_and_dotted_attribute() -> None:
    assert load_target("spec.bridge:to_tf") is spec.to_tf
    assert load_target("spec:TorchTrainingConfig.model_validate") is not None
    assert load_target("spec", role="bridge") is spec


def test_file_form_loads_one_file_without_importing_its_package(boom_package: Path) -> None:
    path = boom_package / "boompkg" / "utils" / "agc.py"
    fn = load_target(f"{path}:clip", role="agc")
    assert callable(fn) and fn.__name__ == "clip"
    assert "boompkg" not in sys.modules, "the file form imported the package"
    # a dataclass defined in the file works (its module is registered while it runs)
    assert load_target(f"{path}:Knob")().value == 1
    assert load_target(f"{path}:clip") is fn, "loading the same file twice reuses the module"


def test_module_form_of_that_package_reports_the_import_error(
    boom_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(boom_package))
    with pytest.raises(TargetError) as info:
        load_target("boompkg.utils.agc:clip", role="agc")
    message = str(info.value)
    assert "boompkg.utils.agc:clip" in message and "--agc" in message
    assert "RuntimeError: importing boompkg needs torchvision" in message
    assert "'package.module:attr' or 'path/to/file.py:attr'" in message


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("impl", "no ':'"),
        ("impl:", "attribute name is missing"),
        ("impl:not-a-name", "not a (dotted) Python attribute name"),
        ("no_such_pkg_xyz.mod:fn", "module 'no_such_pkg_xyz.mod' not found"),
        ("impl:adaptive_gradient_clip", "did you mean 'adaptive_gradient_clip_'"),
        ("/no/such/dir/agc.py:fn", "file not found"),
        ("", "empty"),
    ],
)
def test_unloadable_targets_name_target_reason_and_form(target: str, why: str) -> None:
    with pytest.raises(TargetError) as info:
        load_target(target, role="agc")
    message = str(info.value)
    assert why in message
    assert repr(target) in message or target == ""
    assert "Expected form: 'package.module:attr' or 'path/to/file.py:attr'" in message
    assert "canonical call is fn(parameters, clip_factor=" in message


def test_file_errors(boom_package: Path, tmp_path: Path) -> None:
    utils = boom_package / "boompkg" / "utils"
    with pytest.raises(TargetError, match="relative imports cannot work"):
        load_target(f"{utils / 'relative.py'}:agc")
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    with pytest.raises(TargetError, match="raised SyntaxError"):
        load_target(f"{broken}:f")
    with pytest.raises(TargetError, match="has no attribute 'nope'"):
        load_target(f"{utils / 'agc.py'}:nope")


def test_role_shape_is_checked(boom_package: Path) -> None:
    path = boom_package / "boompkg" / "utils" / "agc.py"
    with pytest.raises(TargetError, match="it is a int, not callable"):
        load_target(f"{path}:NOT_CALLABLE", role="agc")
    with pytest.raises(TargetError, match="has no callable to_tf"):
        load_target("impl", role="bridge")
    with pytest.raises(ValueError, match="unknown role 'agcc'"):
        load_target("impl:adaptive_gradient_clip_", role="agcc")


def test_parsing_imports_nothing(boom_package: Path) -> None:
    """The judge only parses names: nothing is imported, files are made absolute."""
    path = boom_package / "boompkg" / "utils" / "agc.py"
    assert parse_target(f"{path}:clip", "agc") == (str(path), "clip")
    assert parse_target("spec", "bridge") == ("spec", None)
    assert canonical("boompkg/utils/agc.py:clip", "agc").startswith("/")
    assert "boompkg" not in sys.modules
    with pytest.raises(TargetError, match="no ':'"):
        parse_target("impl", "agc")


def module_level_agc(parameters: object, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    """A module-level function: nameable for a worker."""


def test_object_names_for_workers() -> None:
    assert object_name(spec.TorchTrainingConfig) == "spec.config:TorchTrainingConfig"
    assert object_name(spec) == "spec"
    assert object_name(module_level_agc).endswith(":module_level_agc")
    with pytest.raises(TargetError, match="not reachable by name"):
        object_name(lambda: None)
    with pytest.raises(TargetError, match="module-level function or class"):
        object_name(object())


def test_cli_loads_a_file_target_from_a_fresh_interpreter(boom_package: Path) -> None:
    """End to end: `python -m conformance` with the file form; the package never imported."""
    path = boom_package / "boompkg" / "utils" / "agc.py"
    script = (
        "import sys\nfrom conformance.cli import main\n"
        f"code = main(['check', '--agc', {str(path) + ':clip'!r}, '--clause', 'AGC-001'])\n"
        "assert 'boompkg' not in sys.modules\nsys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    # the do-nothing AGC loads fine and then fails the unit rule
    assert done.returncode == 1, done.stderr
    assert "AGC-001" in done.stdout and "failed" in done.stdout
