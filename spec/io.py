"""Reading and writing config files (JSON and TOML).

>>> import tempfile, pathlib
>>> from spec import StudyConfig, load_config, save_config
>>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
>>> save_config(StudyConfig(), path)
>>> load_config(path) == StudyConfig()
True

The format follows the suffix (``.json`` or ``.toml``). A file that cannot be
read, parsed or validated raises :class:`ConfigFileError`, naming the file
and every offending field; nothing is returned half-loaded. TOML has no null,
so fields holding None are left out of a TOML file (every optional field
defaults to None, so reading it back gives the same object).

``load_config(path, base=cfg)`` fills the fields a file leaves out from
``cfg`` instead of from the model's defaults (a file holding only
``[training] epochs = 3`` changes the epochs and nothing else).

Writes are atomic (:func:`atomic_writer`): the data go to a temporary file
with a unique name in the target's directory, are flushed to disk, and
replace the target in one ``os.replace``; concurrent writers never share a
temporary file, and a reader sees the old file or a new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from spec.config import StudyConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "ConfigFileError",
    "atomic_write",
    "atomic_writer",
    "dumps_toml",
    "load_config",
    "save_config",
]

_M = TypeVar("_M", bound=BaseModel)
_FORMATS = (".json", ".toml")


class ConfigFileError(ValueError):
    """A config file could not be read, parsed or validated."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ConfigFileError(
            path, f"unknown config format {suffix or '(no suffix)'!r}: use one of {_FORMATS}"
        )
    return suffix


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"  field {where}: {item['msg']} (got {item.get('input')!r})")
    return f"{error.error_count()} invalid field(s):\n" + "\n".join(lines)


def _merged(base: Any, update: Any) -> Any:
    """``update`` laid over ``base``: nested tables merged key by key, other values replaced."""
    if isinstance(base, dict) and isinstance(update, dict):
        out = dict(base)
        for key, value in update.items():
            out[key] = _merged(base.get(key), value) if key in base else value
        return out
    return update


@overload
def load_config(path: str | os.PathLike[str]) -> StudyConfig: ...
@overload
def load_config(path: str | os.PathLike[str], model: type[_M]) -> _M: ...
@overload
def load_config(path: str | os.PathLike[str], *, base: _M) -> _M: ...


def load_config(
    path: str | os.PathLike[str],
    model: type[BaseModel] | None = None,
    *,
    base: BaseModel | None = None,
) -> BaseModel:
    """Read and validate a config file as ``model`` (default :class:`StudyConfig`).

    With ``base`` (a model instance), the fields the file leaves out keep ``base``'s values
    and the result has ``base``'s type.
    """
    path = Path(path)
    if base is not None and model is not None and not isinstance(base, model):
        raise TypeError(f"base is a {type(base).__name__}, not a {model.__name__}")
    target: type[BaseModel] = type(base) if base is not None else (model or StudyConfig)
    fmt = _format_of(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    try:
        data: Any = json.loads(raw) if fmt == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigFileError(path, f"not valid {fmt[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(
            path, f"top level must be a table/object of fields, got {type(data).__name__}"
        )
    if base is not None:
        data = _merged(base.model_dump(), data)
    try:
        return target.model_validate(data)
    except ValidationError as exc:
        raise ConfigFileError(path, f"not a valid {target.__name__}: {_describe(exc)}") from exc


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A binary file that replaces ``path`` atomically when the ``with`` block ends cleanly.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
    >>> with atomic_writer(target) as f:
    ...     _ = f.write(b"done")
    >>> target.read_bytes(), sorted(p.name for p in target.parent.iterdir())
    (b'done', ['out.bin'])

    The temporary file (``.<name>.<random>.tmp`` beside ``path``, created exclusively, so two
    writers never share one) is removed if the block raises; ``path`` is then left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (str as UTF-8) to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def save_config(cfg: BaseModel, path: str | os.PathLike[str]) -> None:
    """Write ``cfg`` to ``path`` as JSON or TOML (by suffix), atomically."""
    path = Path(path)
    fmt = _format_of(path)
    data = cfg.model_dump(mode="json")
    atomic_write(path, json.dumps(data, indent=2) + "\n" if fmt == ".json" else dumps_toml(data))


def _toml_scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: TOML cannot hold the non-finite float {value!r}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string literal is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_scalar(v, where) for v in value) + "]"
    raise ValueError(f"{where}: cannot write {type(value).__name__} {value!r} to TOML")


def dumps_toml(data: dict[str, Any], _prefix: str = "") -> str:
    """Render nested dicts of scalars as TOML; keys holding None are omitted."""
    plain, tables = [], []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            plain.append(f"{key} = {_toml_scalar(value, _prefix + key)}")
    out = "\n".join(plain) + ("\n" if plain else "")
    for key, table in tables:
        name = f"{_prefix}{key}"
        out += f"\n[{name}]\n" + dumps_toml(table, name + ".")
    return out
