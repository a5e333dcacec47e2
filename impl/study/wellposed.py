"""Is the task solvable? The twin-image misfit and a direct (network-free) phase retrieval.

>>> import spec
>>> from impl.study.data import make_study_data
>>> from impl.study.losses import DiffractionLoss
>>> from impl.study.wellposed import twin_check
>>> def check(probe):
...     cfg = spec.StudyConfig(model=spec.ModelConfig(N=16, gridsize=1),
...                            data=spec.DataConfig(object_size=32, scan_stride=8, probe=probe))
...     data = make_study_data(cfg)
...     return twin_check(data, DiffractionLoss(data.probe, data.grid))["twin_margin"]
>>> check("gaussian") < 0.01 < 0.5 < check("diffuser")   # the twin fits only a symmetric probe
True

**Twin image.** For any probe ``P`` the exit wave's point reflection
``conj(psi(-r))`` has the same far-field intensity as ``psi``, so the object
``conj(O(-r)) c(r)`` with ``c = conj(P(-r)) / P(r)`` fits the data exactly. It is
a competitor only if it looks like an object: for a probe that is centro-symmetric
up to a smooth phase (the Gaussian probe: ``c`` is a quadratic phase), the *twin
object* ``conj(O(-r)) exp(i Q)``, with ``Q`` the quadratic fitted to ``arg c``
(weighted by ``|P|²``), fits the data too and the data cannot tell it from the
truth; for a diffuser ``c`` is a random phase screen and the twin object does not
fit. :func:`twin_check` reports the training loss on the test data of the truth
(the noise floor), of the twin object and of a constant object at the truth's
mean amplitude, and ``twin_margin = (twin - truth) / (constant - truth)``: 0 the
data cannot reject the twin, 1 the twin fits as badly as a blank object.
(With gridsize > 1 the twins of overlapping patches disagree and the overlap
constraint alone raises the margin.)

Both checks use the first test object's patterns, thinned to at most 256 groups
(every k-th scan position, k * stride <= N / 2 so the stitched windows still cover
the object): seconds at the default size, and bounded at upstream's.

**Direct retrieval.** :func:`direct_retrieval` solves the test patterns without a
network: complex patches, started flat at the amplitude the data's energy implies,
fitted by Adam to the same loss and forward model (overlap constraint included),
then stitched and scored like a network's prediction (:func:`impl.study.evaluate.score`).

:func:`check_wellposedness` runs both and calls the task well-posed when
``twin_margin >= 0.1`` (``twin_rejected``) and the direct retrieval's amplitude SSIM
``>= 0.5`` (``retrieval_solves``). The first is a proof of ambiguity when it fails;
the second is only evidence: a gradient-descent retrieval can stall on a solvable
task (strong phase objects, ``--set-phi``, where a network does better), so the
comparison refuses to rank arms only when the twin fits.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import Tensor

from impl.study.data import StudyData
from impl.study.evaluate import score
from impl.study.losses import DiffractionLoss
from impl.study.scan import merge_groups

__all__ = [
    "MIN_BASELINE_SSIM",
    "MIN_TWIN_MARGIN",
    "check_wellposedness",
    "direct_retrieval",
    "twin_check",
    "twin_object",
]

MIN_TWIN_MARGIN = 0.1
MIN_BASELINE_SSIM = 0.5
_MAX_GROUPS = 256


def _quadratic_fit(phase: Tensor, weight: Tensor) -> Tensor:
    n = phase.shape[-1]
    c = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    basis = torch.stack([torch.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], -1)
    basis = basis.reshape(-1, 6)
    w = weight.reshape(-1, 1).sqrt()
    coef = torch.linalg.lstsq(basis * w, phase.reshape(-1, 1) * w).solution
    return (basis @ coef).reshape(n, n)


def twin_object(patches: Tensor, probe: Tensor) -> Tensor:
    """The twin objects ``conj(O(-r)) exp(i Q)`` of complex patches (..., N, N) under ``probe``."""
    p = probe.to(torch.complex128)
    ratio = torch.conj(torch.flip(p, (-2, -1))) / torch.where(p.abs() > 0, p, torch.ones_like(p))
    smooth = _quadratic_fit(torch.angle(ratio), p.abs().square())
    return torch.conj(torch.flip(patches, (-2, -1))) * torch.exp(1j * smooth)


def twin_check(data: StudyData, loss: DiffractionLoss) -> dict[str, float]:
    """Losses of the truth, its twin object and a constant object on (thinned) test data."""
    patterns = data.test.subset(_baseline_patterns(data))
    truth = data.test_patches(patterns)
    inputs = patterns.inputs
    with torch.no_grad():
        truth_loss = float(loss.value_patches(truth, inputs))
        twin_loss = float(loss.value_patches(twin_object(truth, data.probe), inputs))
        flat = torch.full_like(truth, complex(float(truth.abs().mean())))
        constant_loss = float(loss.value_patches(flat, inputs))
    span = constant_loss - truth_loss
    return {
        "truth_loss": truth_loss,
        "twin_loss": twin_loss,
        "constant_loss": constant_loss,
        "twin_margin": (twin_loss - truth_loss) / span if span > 0 else 0.0,
    }


def _baseline_patterns(data: StudyData) -> Tensor:
    """Index of the first test object's groups, thinned to at most ~256 (windows still cover)."""
    grid = data.grid
    rows = (data.test.object_index == 0).nonzero().reshape(-1)
    per_side = grid.groups_per_side
    every = 1
    while (
        math.ceil(per_side / every) ** 2 > _MAX_GROUPS and (every + 1) * grid.stride <= grid.N // 2
    ):
        every += 1
    keep = torch.arange(0, per_side, every)
    flat = (keep[:, None] * per_side + keep[None, :]).reshape(-1)
    return rows[flat]


def direct_retrieval(
    data: StudyData, loss: DiffractionLoss, iterations: int = 200, lr: float = 0.05
) -> dict[str, Any]:
    """Fit complex patches to the test data without a network; their stitched scores."""
    started = time.perf_counter()
    patterns = data.test.subset(_baseline_patterns(data))
    inputs = patterns.inputs
    energy = float(inputs.square().sum(dim=(-2, -1)).mean())
    start = (energy / float(data.probe.abs().square().sum())) ** 0.5
    real = torch.full(inputs.shape, start, dtype=torch.float32, requires_grad=True)
    imag = torch.zeros(inputs.shape, dtype=torch.float32, requires_grad=True)
    optimizer = torch.optim.Adam([real, imag], lr=lr * start)
    value = torch.tensor(float("nan"))
    for _ in range(iterations):
        optimizer.zero_grad(set_to_none=True)
        value = loss.value_patches(torch.complex(real, imag), inputs)
        value.backward()
        optimizer.step()
    merged = merge_groups(torch.complex(real, imag).detach(), data.grid)
    scores, _ = score(merged, data, patterns)
    return {
        "loss": float(value.detach()),
        "groups": len(patterns),
        "iterations": iterations,
        "seconds": time.perf_counter() - started,
        **scores,
    }


def check_wellposedness(data: StudyData, loss: DiffractionLoss) -> dict[str, Any]:
    """Both checks, the verdict ``wellposed`` and the reasons when it is False."""
    twin = twin_check(data, loss)
    baseline = direct_retrieval(data, loss)
    reasons = []
    if twin["twin_margin"] < MIN_TWIN_MARGIN:
        reasons.append(
            f"the twin image fits the data (twin margin {twin['twin_margin']:.3g} < "
            f"{MIN_TWIN_MARGIN}): the probe is centro-symmetric up to a smooth phase"
        )
    ssim = baseline["amp_ssim"]
    if ssim is None or ssim < MIN_BASELINE_SSIM:
        shown = "none" if ssim is None else f"{ssim:.3g}"
        reasons.append(
            f"direct phase retrieval reaches amplitude SSIM {shown} < {MIN_BASELINE_SSIM}"
        )
    return {
        "wellposed": not reasons,
        "twin_rejected": twin["twin_margin"] >= MIN_TWIN_MARGIN,
        "retrieval_solves": ssim is not None and ssim >= MIN_BASELINE_SSIM,
        "reasons": reasons,
        "thresholds": {"twin_margin": MIN_TWIN_MARGIN, "baseline_amp_ssim": MIN_BASELINE_SSIM},
        "twin": twin,
        "direct_retrieval": baseline,
    }
