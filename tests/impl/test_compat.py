"""impl._compat: the torch-version shims answer for the torch installed here.

The other versions' branches are exercised by the torch matrix (``tox -e matrix``); here
each shim is checked against what this torch has, found another way.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from impl import _compat
from impl.distributed import fsdp2_problem

ROOT = Path(__file__).resolve().parents[2]

needs_distributed = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch was built without torch.distributed"
)


def test_torch_version_is_major_minor_of_the_installed_torch() -> None:
    major, minor = re.match(r"(\d+)\.(\d+)", torch.__version__).groups()  # type: ignore[union-attr]
    assert (int(major), int(minor)) == _compat.TORCH_VERSION


@pytest.mark.parametrize(
    ("text", "expected"), [("2.4.1+cpu", (2, 4)), ("2.13.0a0+git1", (2, 13)), ("3.0", (3, 0))]
)
def test_version_parsing(text: str, expected: tuple[int, int]) -> None:
    assert _compat._major_minor(text) == expected


@needs_distributed
def test_dtensor_api_and_placements() -> None:
    api = _compat.dtensor_api()
    assert callable(api.distribute_tensor)
    shard, replicate = _compat.placement_types()
    assert shard(1).dim == 1 and type(replicate()).__name__ == "Replicate"
    assert _compat.dtensor_type() is api.DTensor  # its module is imported now


def test_dtensor_type_is_not_imported_by_impl() -> None:
    """Looking DTensor up imports nothing: in a fresh interpreter it is None after import impl."""
    code = (
        "import sys, impl\n"
        "from impl._compat import DTENSOR_API_MODULES, dtensor_type\n"
        "assert dtensor_type() is None\n"
        "assert not any(m in sys.modules for m in DTENSOR_API_MODULES)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@needs_distributed
def test_comm_debug_mode_counts_nothing_without_collectives() -> None:
    mode = _compat.comm_debug_mode()
    with mode:
        torch.ones(2).sum()
    assert mode.get_total_counts() == 0


def test_fully_shard_agrees_with_the_distributed_module() -> None:
    found = _compat.fully_shard()
    assert (found is None) == (fsdp2_problem() is not None)
    if found is not None:
        fsdp = importlib.import_module("torch.distributed.fsdp")
        assert found is fsdp.fully_shard


def test_tensor_grouper_groups_by_device_and_dtype() -> None:
    grouper = _compat.tensor_grouper()
    if grouper is None:
        pytest.skip("this torch has no _group_tensors_by_device_and_dtype")
    tensors = [torch.ones(1), torch.ones(1, dtype=torch.float64), torch.ones(2)]
    grouped = grouper([tensors])
    sizes = {dtype: len(lists[0]) for (_, dtype), (lists, _) in grouped.items()}
    assert sizes == {torch.float32: 2, torch.float64: 1}


def test_takes_shard_placement_fn_reads_the_signature() -> None:
    def with_it(module: object, *, shard_placement_fn: object = None) -> None: ...

    def without(module: object) -> None: ...

    assert _compat.takes_shard_placement_fn(with_it)
    assert not _compat.takes_shard_placement_fn(without)
