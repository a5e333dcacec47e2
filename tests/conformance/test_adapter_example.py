"""The README's adapter example: an AGC that lives inside an optimizer wrapper (it clips in
``step()``, as several third-party AGCs do) is checked through a few lines that give it the
canonical ``fn(parameters, clip_factor, eps)`` form."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from conformance.judge import run_conformance


class ThirdPartyAGC(torch.optim.Optimizer):
    """Stand-in for a third-party optimizer wrapper: clips unit-wise, then steps ``optim``."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        optim: torch.optim.Optimizer,
        clipping: float,
        eps: float,
    ) -> None:
        super().__init__(list(params), {"clipping": clipping, "eps": eps})
        self.optim = optim

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                dims = tuple(range(1, p.ndim)) or None
                wide = torch.complex128 if p.is_complex() else torch.float64
                w = torch.linalg.vector_norm(p.to(wide), dim=dims, keepdim=p.ndim > 1)
                g = torch.linalg.vector_norm(p.grad.to(wide), dim=dims, keepdim=p.ndim > 1)
                bound = group["clipping"] * w.clamp(min=group["eps"])
                scale = torch.where(g > bound, bound / g, torch.ones_like(g))
                p.grad.mul_(scale.to(p.grad.real.dtype))
        self.optim.step()


# --- the adapter, as in the README -------------------------------------------------------------


class NoStep(torch.optim.Optimizer):
    """An optimizer whose step does nothing: the check must see the clipping alone."""

    def __init__(self, params: list[torch.Tensor]) -> None:
        super().__init__(params, {})

    def step(self, closure: Callable[[], Any] | None = None) -> None:  # type: ignore[override]
        return None


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    ThirdPartyAGC(params, NoStep(params), clipping=clip_factor, eps=eps).step()


def no_clipping(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    """The wrapper's step without its clipping."""


def test_adapted_optimizer_wrapper_is_checked_clause_by_clause() -> None:
    clauses = ["AGC-001", "AGC-002", "AGC-005", "AGC-008", "AGC-011", "AGC-013"]
    report = run_conformance({"agc": agc}, clauses=clauses, profile="quick")
    status = {r.clause: r.status for r in report.results}
    assert status == dict.fromkeys(clauses, "passed"), [
        (r.clause, r.message[:200]) for r in report.results if r.bad
    ]
    # the same wrapper without its clipping is caught: the adapter does not hide anything
    report = run_conformance({"agc": no_clipping}, clauses=["AGC-005"])
    assert report.results[0].status == "failed"
