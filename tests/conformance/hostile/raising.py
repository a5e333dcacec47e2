"""Targets that raise where the clauses ask them to work, or return garbage."""

from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    raise RuntimeError("boom from the target")


def block(channels: int, modes: int) -> Any:
    return "not a module"


def spinning_agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    while True:  # a Python-level hang
        pass


def torch_error_agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    import torch

    torch.einsum("i,i->", torch.ones(2), torch.ones(3))  # raises inside torch's Python code
