"""Evaluation as upstream does it: stitch the test patches into objects, then score them.

>>> import spec
>>> from impl.study.data import make_study_data
>>> from impl.study.evaluate import score
>>> cfg = spec.StudyConfig(model=spec.ModelConfig(N=16, gridsize=1),
...                        data=spec.DataConfig(object_size=48, scan_stride=4, set_phi=True))
>>> data = make_study_data(cfg)
>>> truth = data.test_patches()
>>> perfect, _ = score(truth * 0.5j, data)      # a scale and a global phase are not scored
>>> [round(perfect[k], 9) for k in ("amp_ssim", "phase_ssim", "amp_frc50")]  # 1 up to rounding
[1.0, 1.0, 1.0]
>>> blank, _ = score(truth.abs().mean() + 0 * truth, data)
>>> blank["amp_ssim"] < 0.1, blank["amp_frc50"]
(True, 0.0)

For each test object, every predicted patch (after the overlap constraint) is put
in place: the amplitude is stitched from each patch's central ``N/2 x N/2`` window
(averaged where windows overlap) and rescaled so that its mean is the truth's; the
phase is stitched from the patches' unit phasors the same way, turned by the one
global phase that best aligns it with the truth (a global phase is not observable
from intensities), and a fitted plane (offset and tilt) is removed from it and
from the true phase before scoring. Patches whose phases disagree where they
overlap (a per-patch phase is not constrained without the overlap constraint)
blur the stitched phase, as they do upstream's.
Scores (:mod:`impl.study.metrics`): SSIM, MAE, PSNR and FRC50 of amplitude and, for
objects with a phase (``set_phi``), of phase; averaged over the test objects.
Without ``set_phi`` the true phase is constant and the phase scores are None.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from impl.study import metrics
from impl.study.data import PatternSet, StudyData
from impl.study.scan import extract, stitch

__all__ = ["SCORES", "StitchedObject", "score", "stitch_object"]

SCORES = (
    "amp_ssim", "amp_mae", "amp_psnr", "amp_frc50",
    "phase_ssim", "phase_mae", "phase_psnr", "phase_frc50",
)  # fmt: skip
"""The reconstruction scores, in the order tables list them."""

StitchedObject = dict[str, Tensor]
"""``amplitude``, ``phase``, ``true_amplitude``, ``true_phase`` (2-D float64, the scored region)."""


def _stitch_phasor(patches: Tensor, positions: Tensor, M: int, window: int) -> Tensor:
    """Unit phasors of complex patches averaged into place (complex128, the stitched region)."""
    unit = patches / patches.abs().clamp_min(1e-30)
    re, _ = stitch(unit.real, positions, M, window)
    im, _ = stitch(unit.imag, positions, M, window)
    return torch.complex(re, im)


def stitch_object(
    patches: Tensor, truth: Tensor, positions: Tensor, data: StudyData
) -> StitchedObject:
    """Stitch (P, N, N) complex predicted patches of one object against its true patches."""
    N, M = data.grid.N, data.grid.object_size
    window = max(1, N // 2)
    pred, true = patches.to(torch.complex128), truth.to(torch.complex128)
    amp, region = stitch(pred.abs(), positions, M, window)
    true_amp, _ = stitch(true.abs(), positions, M, window)
    amp = amp * (true_amp.mean() / amp.mean().clamp_min(1e-30))
    phasor = _stitch_phasor(pred, positions, M, window)
    true_phasor = _stitch_phasor(true, positions, M, window)
    # the one global phase (not observable from intensities) that best aligns the two
    phasor = phasor * torch.exp(1j * torch.angle((phasor.conj() * true_phasor).sum()))
    return {
        "amplitude": amp,
        "phase": metrics.remove_phase_plane(torch.angle(phasor)),
        "true_amplitude": true_amp,
        "true_phase": metrics.remove_phase_plane(torch.angle(true_phasor)),
        "region": torch.tensor([region.start, region.stop]),
    }


def _scores(obj: StitchedObject, with_phase: bool) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for part, key in (("amp", "amplitude"), ("phase", "phase")):
        if part == "phase" and not with_phase:
            out.update(dict.fromkeys(("phase_ssim", "phase_mae", "phase_psnr", "phase_frc50")))
            continue
        x, y = obj[key], obj[f"true_{key}"]
        out[f"{part}_ssim"] = metrics.ssim(x, y)
        out[f"{part}_mae"] = metrics.mae(x, y)
        out[f"{part}_psnr"] = metrics.psnr(x, y)
        out[f"{part}_frc50"] = metrics.frc50(x, y)
    return out


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if len(finite) == len(values) and finite else None


def score(
    patches: Tensor, data: StudyData, patterns: PatternSet | None = None
) -> tuple[dict[str, Any], list[StitchedObject]]:
    """Scores of predicted (S, C, N, N) complex patches of the test groups (or ``patterns``).

    Returns the scores (keys :data:`SCORES`, averaged over objects) and each stitched object.
    """
    patterns = data.test if patterns is None else patterns
    need = (*patterns.positions.shape[:-1], data.grid.N, data.grid.N)
    if tuple(patches.shape) != need:
        raise ValueError(
            f"predicted patches have shape {tuple(patches.shape)}; the test groups need {need}"
        )
    stitched, per_object = [], []
    for k in patterns.object_index.unique().tolist():  # one object at a time: memory
        rows = patterns.object_index == k
        positions = patterns.positions[rows].reshape(-1, 2)
        obj = stitch_object(
            patches[rows].reshape(-1, *need[-2:]),
            extract(data.test_objects[k], positions, data.grid.N),
            positions,
            data,
        )
        stitched.append(obj)
        per_object.append(_scores(obj, data.set_phi))
    result = {key: _mean([s[key] for s in per_object]) for key in SCORES}
    return result, stitched
