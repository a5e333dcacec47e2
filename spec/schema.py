"""JSON Schema of every contract model, and the check that the committed copies are fresh.

>>> from spec.schema import schemas
>>> {"ModelConfig", "StudyConfig", "TFTrainingConfig"} <= set(schemas())
True

``python -m spec schema`` writes ``spec/schema/<Model>.json``;
``python -m spec schema --check`` exits 1 when a committed file has drifted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from spec.config import (
    DataConfig,
    ModelConfig,
    StudyConfig,
    TFTrainingConfig,
    TorchTrainingConfig,
)

__all__ = ["MODELS", "SCHEMA_DIR", "render", "schemas", "stale_schemas", "write_schemas"]

MODELS: tuple[type[BaseModel], ...] = (
    DataConfig,
    ModelConfig,
    StudyConfig,
    TFTrainingConfig,
    TorchTrainingConfig,
)
SCHEMA_DIR = Path(__file__).parent / "schema"


def schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each model, by model name."""
    return {m.__name__: m.model_json_schema() for m in MODELS}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / f"{name}.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of models whose committed schema is missing or differs from the model."""
    stale = []
    for name, schema in schemas().items():
        path = directory / f"{name}.json"
        if not path.exists() or path.read_text(encoding="utf-8") != render(schema):
            stale.append(name)
    return stale
