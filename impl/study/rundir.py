"""A run's output directory: checked before anything is generated, written atomically.

>>> import tempfile, pathlib
>>> from impl.study.rundir import RunDirectory
>>> run = RunDirectory(pathlib.Path(tempfile.mkdtemp()) / "run")
>>> run.problem(overwrite=False) is None       # creatable and writable, holds no run
True
>>> run.prepare(overwrite=False)
>>> run.write_json("metrics.json", {"status": "running", "loss": float("nan")})
True
>>> run.holds_run(), (run.path / "metrics.json").read_text().split()
(True, ['{', '"status":', '"running",', '"loss":', 'null', '}'])

Every file goes through :func:`spec.io.atomic_writer` (unique temporary name,
flush, ``os.replace``), so a reader — or a run killed mid-write — sees an old
file or a new one, never a torn one. A write that fails (full disk, directory
gone) is recorded in :attr:`RunDirectory.errors` instead of raised, so that one
failed file does not lose the others; the runner reports the errors (exit 3).
A directory *holds a run* when one of :data:`RUN_FILES` is in it; the runner
refuses such a directory unless ``--overwrite``, which first removes exactly
those files.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from spec.io import atomic_writer

__all__ = ["RUN_FILES", "QuietDirectory", "RunDirectory", "json_safe"]

RUN_FILES = (
    "config.json",
    "metrics.json",
    "history.json",
    "wellposedness.json",
    "probe.npy",
    "reconstruction.npz",
    "model.pt",
)
"""Every file a run writes; their presence marks a directory as holding a run."""


def json_safe(obj: Any) -> Any:
    """A JSON-safe copy: non-finite floats become None, tuples lists, tensors numbers."""
    if isinstance(obj, torch.Tensor) and obj.ndim == 0:
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


class RunDirectory:
    """The output directory of one run."""

    writes = True
    """False for :class:`QuietDirectory` (a rank other than 0 under torchrun)."""

    def __init__(self, path: str | os.PathLike[str], files: tuple[str, ...] = RUN_FILES) -> None:
        self.path = Path(path)
        self.files = files
        self.errors: list[str] = []

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in self.files)

    def problem(self, overwrite: bool) -> str | None:
        """Why this directory cannot take a run (None when it can); creates it if missing."""
        if self.path.exists() and not self.path.is_dir():
            return f"{self.path} exists and is not a directory"
        if self.holds_run() and not overwrite:
            present = [n for n in self.files if (self.path / n).exists()]
            return (
                f"{self.path} already holds a run ({', '.join(present)}): pass --overwrite to "
                "replace it, or choose another --output-dir"
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            return f"{self.path} is not writable: {exc.strerror or exc}"
        return None

    def prepare(self, overwrite: bool) -> None:
        """Make the directory ready (ValueError with :meth:`problem`'s message if it is not)."""
        problem = self.problem(overwrite)
        if problem:
            raise ValueError(problem)
        for name in self.files:
            (self.path / name).unlink(missing_ok=True)

    def write(self, name: str, write: Callable[[IO[bytes]], None]) -> bool:
        """Write ``name`` atomically with ``write(file)``; False (error recorded) on OSError."""
        try:
            with atomic_writer(self.path / name) as f:
                write(f)
        except OSError as exc:
            self.errors.append(f"{self.path / name}: {exc.strerror or exc}")
            return False
        return True

    def write_json(self, name: str, obj: Any) -> bool:
        return self.write_text(name, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")

    def write_text(self, name: str, text: str) -> bool:
        data = text.encode("utf-8")

        def dump(f: IO[bytes]) -> None:
            f.write(data)

        return self.write(name, dump)

    def write_torch(self, name: str, obj: Any) -> bool:
        return self.write(name, lambda f: torch.save(obj, f))

    def write_npz(self, name: str, arrays: dict[str, Any]) -> bool:
        return self.write(name, lambda f: np.savez(f, **arrays))

    def write_npy(self, name: str, array: Any) -> bool:
        return self.write(name, lambda f: np.save(f, array))


class QuietDirectory(RunDirectory):
    """The output directory as a rank other than 0 sees it under torchrun: it writes nothing
    (rank 0 writes the run) and has no problem to report."""

    writes = False

    def problem(self, overwrite: bool) -> str | None:
        return None

    def prepare(self, overwrite: bool) -> None:
        return None

    def write(self, name: str, write: Callable[[IO[bytes]], None]) -> bool:
        return True
