"""The public conformance matrix's adapters (``conformance.adapters``) and its driver.

None of the libraries is installed in CI, so these tests pin what must hold without them:
importing the adapters imports no library; an adapter whose library is missing fails, when
called, with an ImportError that names the library and its pip command (and touches no
gradient); the pure translations (optax layouts, neuraloperator's ``n_modes``) are right; the
matrix driver's table matches the adapters and reads a verdict in both directions.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import conformance.adapters as adapters
from conformance.adapters import matrix, neuraloperator, optax_jax
from conformance.adapters._library import Library
from conformance.roles import role

LIBRARY_MODULES = (
    "timm",
    "pytorch_optimizer",
    "composer",
    "nfnets",
    "optax",
    "jax",
    "neuralop",
    "tensorly",
    "tltorch",
)
"""Top-level import names of every library an adapter calls (and their heavy dependencies)."""

_RUN_MISSING = r"""
import importlib, importlib.util, json, sys
import torch
blocked = set(sys.argv[1].split(","))
real = importlib.util.find_spec
def find_spec(name, *args):
    return None if name.split(".")[0] in blocked else real(name, *args)
importlib.util.find_spec = find_spec
from conformance.adapters import ADAPTERS, LibraryMissing
modules = {name: importlib.import_module("conformance.adapters." + name) for name in ADAPTERS}
import conformance.adapters.matrix
out = {"on_import": sorted(m for m in blocked if m in sys.modules)}
for name, module in modules.items():
    p = torch.nn.Parameter(torch.ones(2, 3))
    p.grad = torch.full((2, 3), 5.0)
    try:
        if module.ROLE == "agc":
            module.agc([p], clip_factor=0.01, eps=1e-3)
        else:
            module.spectral_conv(1, 1, 1)
    except LibraryMissing as error:
        out[name] = {"error": str(error), "import_error": isinstance(error, ImportError),
                     "grad_kept": bool((p.grad == 5.0).all()), "pip": module.LIBRARY.pip,
                     "distribution": module.LIBRARY.distribution}
    else:
        out[name] = {"error": None}
out["imported"] = sorted(m for m in blocked if m in sys.modules)
print(json.dumps(out))
"""


def _python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def missing() -> dict[str, Any]:
    """Each adapter called once in a process where none of the libraries can be found."""
    result: dict[str, Any] = json.loads(_python(_RUN_MISSING, ",".join(LIBRARY_MODULES)))
    return result


@pytest.mark.parametrize("name", adapters.ADAPTERS)
def test_a_missing_library_is_named_with_its_pip_command(
    missing: dict[str, Any], name: str
) -> None:
    seen = missing[name]
    assert seen["error"] is not None, f"{name} ran without its library"
    assert seen["import_error"], "LibraryMissing must be an ImportError"
    assert seen["distribution"] in seen["error"] and "not installed" in seen["error"]
    assert seen["pip"] in seen["error"] and seen["pip"].startswith("pip install --no-deps ")
    assert seen["grad_kept"], "the gradient was touched before the library was found"


def test_importing_the_adapters_imports_no_library(missing: dict[str, Any]) -> None:
    assert missing["on_import"] == []


def test_no_library_was_imported_while_failing(missing: dict[str, Any]) -> None:
    assert missing["imported"] == []


def test_a_library_is_located_without_being_imported() -> None:
    code = (
        "import sys\n"
        "from conformance.adapters import Library\n"
        "print(Library('pip', '0', 'pip').directory().name, 'pip' in sys.modules)"
    )
    assert _python(code).split() == ["pip", "False"]
    assert Library("no-such-dist-xyz", "1.0", "no_such_module_xyz").installed_version() is None


@pytest.mark.parametrize("rank", range(7))
def test_optax_layout_round_trips_and_puts_the_output_axis_last(rank: int) -> None:
    shape = (2, 3, 4, 5, 6, 7)[:rank]
    t = torch.arange(float(torch.Size(shape).numel())).reshape(shape)
    jax_side = t.permute(optax_jax.to_jax_axes(rank))
    assert torch.equal(jax_side.permute(optax_jax.from_jax_axes(rank)), t)
    if rank >= 2:
        # (out, in, *kernel) -> (*kernel, in, out): Flax's Dense (I, O), Conv HWIO, DHWIO
        assert jax_side.shape == (*t.shape[2:], t.shape[1], t.shape[0])


def test_optax_layout_of_a_conv2d_weight_is_hwio() -> None:
    w = torch.nn.Conv2d(3, 5, (2, 4)).weight  # (out=5, in=3, H=2, W=4)
    assert w.permute(optax_jax.to_jax_axes(4)).shape == (2, 4, 3, 5)


@pytest.mark.parametrize("modes", range(1, 9))
def test_neuraloperator_modes_keep_the_roles_frequencies(modes: int) -> None:
    rows, last = neuraloperator.n_modes(modes)
    # neuraloperator keeps n_modes[0] rows centred on frequency 0 (n // 2 negative ones) and
    # n_modes[-1] // 2 + 1 columns of the real FFT: the role asks for -m <= k < m, 0 <= l < m
    assert (rows // 2, rows - rows // 2) == (modes, modes)
    assert last // 2 + 1 == modes


def test_the_matrix_rows_match_the_adapters() -> None:
    used = {row.adapter for row in matrix.ROWS if row.adapter}
    assert used == set(adapters.ADAPTERS)
    for row in matrix.ROWS:
        role(row.role)  # raises for an unknown role
        if row.adapter:
            module = importlib.import_module(f"conformance.adapters.{row.adapter}")
            assert row.role == module.ROLE
            assert row.target == f"conformance.adapters.{row.adapter}:{row.target.split(':')[1]}"
            assert callable(getattr(module, row.target.split(":")[1]))
    assert len({row.slug for row in matrix.ROWS}) == len(matrix.ROWS)


def test_a_row_whose_library_is_missing_is_not_run(tmp_path: Path) -> None:
    row = matrix.Row("ghost", "agc", "ghost:agc", library=Library("ghost-dist", "9.9", "ghost_x"))
    result = matrix.run_row(row, strict=False, out=tmp_path)
    assert result.exit_status is None
    assert result.message == "not installed: pip install --no-deps ghost-dist==9.9"
    assert list(tmp_path.iterdir()) == []


_FAULTY = Path(__file__).parent / "faulty" / "agc_faults.py"


@pytest.mark.parametrize(
    ("target", "exit_status", "failing"),
    [
        ("impl:adaptive_gradient_clip_", 0, []),
        (f"{_FAULTY}:no_eps_guard_agc", 1, ["AGC-009"]),
    ],
)
def test_the_driver_reads_a_verdict_in_both_directions(
    tmp_path: Path, target: str, exit_status: int, failing: list[str]
) -> None:
    row = matrix.Row("probe", "agc", target, library=Library("fno-stability", "0", "impl"))
    result = matrix.run_row(
        row, strict=False, out=tmp_path, profile="quick", extra=["--clause", "AGC-009"]
    )
    assert (result.exit_status, result.failing_clauses) == (exit_status, failing)
    assert result.report is not None and Path(result.report).is_file()
    assert result.summary_line, "the check's summary line was not captured"
    if exit_status:  # the fitted variant is read from the report
        assert result.behaves_like is not None and "no ε" in result.behaves_like
    table = matrix.markdown([result])
    assert table.count("\n") == 2  # header and rule only: "probe" is not a row of the matrix


def test_the_summary_table_puts_both_modes_on_one_line() -> None:
    default = matrix.RunResult("timm", "default", 0, "conforms to the plan", conforms=True)
    default.strict_failures = ["AGC-019", "AGC-033"]
    default.behaves_like = "a floor on ‖G‖ (1e-6) (fitted on the counterexamples of AGC-033)"
    strict = matrix.RunResult("timm", "strict", 1, "", ["AGC-019", "AGC-033"], conforms=False)
    lines = matrix.markdown([default, strict]).splitlines()
    assert len(lines) == 3
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[0] == "timm" and cells[2] == "`agc`"
    assert cells[3:] == [
        "conforms to the plan",
        "does NOT conform (strict)",
        "none",
        "none",
        "AGC-019, AGC-033",
        "a floor on ‖G‖ (1e-6)",
    ]


def test_the_tox_matrix_env_installs_the_versions_the_adapters_name() -> None:
    """tox.ini's ``matrix`` env pins each library again (it installs them before the driver
    runs): every ``distribution==version`` of a row's library (and optax's JAX) is there."""
    import configparser

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(Path(__file__).resolve().parents[2] / "tox.ini")
    env = tox["testenv:matrix"]
    installed = set((env["deps"] + " " + env["commands_pre"]).split())
    wanted = {f"{row.lib().distribution}=={row.lib().version}" for row in matrix.ROWS}
    wanted.add(f"{optax_jax.JAX.distribution}=={optax_jax.JAX.version}")
    assert wanted - installed == set(), (
        f"pinned in an adapter but not in tox.ini: {wanted - installed}"
    )
