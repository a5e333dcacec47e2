"""Strategies for the training step: a tiny model, micro-batches and a config, rebuilt from a seed.

>>> from hypothesis import given, settings
>>> from conformance.strategies.training import train_cases
>>> @settings(max_examples=3)
... @given(train_cases())
... def check(case):
...     assert len(case.micro_batches()) == case.accumulate
>>> check()

A :class:`TrainCase` is a handful of integers and names; the model (Linear,
tanh, Linear) and the data are generated from its seed, so its ``repr``
rebuilds it. Targets are scaled by ``10 ** target_decade`` so that clipping
is often active. The role's canonical call is
``train_step(model, optimizer, micro_batches, loss_fn, config, scaler=None)``
with ``loss_fn(model, batch) -> scalar tensor``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch
from hypothesis import strategies as st
from torch import nn

from spec.config import TorchTrainingConfig
from spec.vocabulary import CLIP_ALGORITHMS

__all__ = ["TrainCase", "train_cases"]


@dataclass(frozen=True)
class TrainCase:
    """A reproducible training step: model and data from ``seed``, config from the fields."""

    seed: int = 0
    in_features: int = 3
    hidden: int = 4
    out_features: int = 2
    rows: int = 2
    """Samples per micro-batch."""
    accumulate: int = 1
    """accumulate_grad_batches (k)."""
    algorithm: str = "norm"
    value: float | None = None
    target_decade: int = 0
    dtype: str = "float64"
    poison: bool = False
    """When True the last bias gets an infinite gradient (see :meth:`loss_fn`)."""

    @property
    def torch_dtype(self) -> torch.dtype:
        dtype = getattr(torch, self.dtype)
        assert isinstance(dtype, torch.dtype)
        return dtype

    def config(self, **changes: Any) -> TorchTrainingConfig:
        """The Torch-side config of this step (``changes`` override fields)."""
        fields: dict[str, Any] = {
            "accumulate_grad_batches": self.accumulate,
            "gradient_clip_algorithm": self.algorithm,
            "gradient_clip_val": self.value,
        }
        fields.update(changes)
        return TorchTrainingConfig(**fields)

    def model(self) -> nn.Module:
        """A fresh model, the same for the same case."""
        gen = torch.Generator().manual_seed(self.seed)
        model = nn.Sequential(
            nn.Linear(self.in_features, self.hidden),
            nn.Tanh(),
            nn.Linear(self.hidden, self.out_features),
        ).to(self.torch_dtype)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=self.torch_dtype))
        return model

    def micro_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``accumulate`` (x, y) pairs of ``rows`` samples each."""
        gen = torch.Generator().manual_seed(self.seed + 1)
        scale = 10.0**self.target_decade
        return [
            (
                torch.randn(self.rows, self.in_features, generator=gen, dtype=self.torch_dtype),
                torch.randn(self.rows, self.out_features, generator=gen, dtype=self.torch_dtype)
                * scale,
            )
            for _ in range(self.accumulate)
        ]

    def loss_fn(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Mean squared error of ``model(x)`` against ``y``.

        Poisoned, it adds ``inf * sum(last bias)``: that bias gets +inf gradients, all
        other gradients stay finite (so clipping 'value' first would hide the overflow).
        """
        x, y = batch
        loss = torch.nn.functional.mse_loss(model(x), y)
        if self.poison:
            last = list(model.parameters())[-1]
            loss = loss + last.sum() * math.inf
        return loss

    def with_(self, **changes: Any) -> TrainCase:
        return replace(self, **changes)


@st.composite
def train_cases(
    draw: st.DrawFn,
    algorithms: tuple[str, ...] = CLIP_ALGORITHMS,
    *,
    dtype: str = "float64",
    clipping: bool | None = None,
    min_accumulate: int = 1,
) -> TrainCase:
    """A training step; ``clipping`` True/False forces the value > 0 / None-or-<= 0."""
    algorithm = draw(st.sampled_from(algorithms), label="algorithm")
    positive = st.sampled_from([1.0, 0.1, 0.01, 10.0])
    off = st.sampled_from([None, 0.0])
    if clipping is None:
        value = draw(st.one_of(positive, off), label="value")
    else:
        value = draw(positive if clipping else off, label="value")
    return TrainCase(
        seed=draw(st.integers(0, 2**16), label="seed"),
        in_features=draw(st.integers(1, 4)),
        hidden=draw(st.integers(1, 5)),
        out_features=draw(st.integers(1, 3)),
        rows=draw(st.integers(1, 3)),
        accumulate=draw(st.integers(min_accumulate, 4), label="accumulate"),
        algorithm=algorithm,
        value=value,
        target_decade=draw(st.integers(0, 3), label="target decade"),
        dtype=dtype,
    )
