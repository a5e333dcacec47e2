"""The configs as the plan writes them: TF side a dataclass with the Literal field (Task 1.1),
Torch side a Pydantic model in its default (lax) mode, and a bridge copying fields by name
with the one rename."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from pydantic import BaseModel


@dataclass
class TFTrainingConfig:
    batch_size: int = 16
    nepochs: int = 50
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    seed: int = 42
    nphotons: float = 1e9
    nll_weight: float = 1.0
    mae_weight: float = 0.0
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: Literal["norm", "value", "agc"] = "norm"


class TorchTrainingConfig(BaseModel):
    batch_size: int = 16
    epochs: int = 50
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    seed: int = 42
    nphotons: float = 1e9
    accumulate_grad_batches: int = 1
    loss_function: str = "poisson"
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: Literal["norm", "value", "agc"] = "norm"


_SHARED = ("batch_size", "learning_rate", "optimizer", "seed", "nphotons", "gradient_clip_val",
           "gradient_clip_algorithm")  # fmt: skip


def to_tf(cfg: Any) -> TFTrainingConfig:
    return TFTrainingConfig(nepochs=cfg.epochs, **{n: getattr(cfg, n) for n in _SHARED})


def to_torch(cfg: Any) -> TorchTrainingConfig:
    return TorchTrainingConfig(epochs=cfg.nepochs, **{n: getattr(cfg, n) for n in _SHARED})


assert {f.name for f in fields(TFTrainingConfig)} >= set(_SHARED)
