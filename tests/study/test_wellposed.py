"""The well-posedness check (impl.study.wellposed): twin-image misfit and direct phase retrieval.

Clauses: RUN-012 (a well-posed task, and a check written to the outputs that says when it is not).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import spec
from impl.study.data import make_study_data
from impl.study.fourier import diffraction_intensity
from impl.study.losses import DiffractionLoss
from impl.study.wellposed import check_wellposedness, direct_retrieval, twin_check, twin_object


def task(probe: str, gridsize: int = 1) -> spec.StudyConfig:
    return spec.StudyConfig(
        model=spec.ModelConfig(N=16, gridsize=gridsize),
        data=spec.DataConfig(object_size=40, scan_stride=4, probe=probe),  # type: ignore[arg-type]
    )


def test_the_exact_twin_fits_any_probe() -> None:
    """The reason for the check: conj(psi(-r)) has the data of psi, whatever the probe."""
    data = make_study_data(task("diffuser"))
    psi = data.test_patches()[:5] * data.probe.to(torch.complex128)
    twin = torch.conj(torch.flip(psi, (-2, -1)))
    torch.testing.assert_close(diffraction_intensity(twin), diffraction_intensity(psi))


def test_twin_object_fits_a_symmetric_probe_only() -> None:
    gaussian = make_study_data(task("gaussian"))
    diffuser = make_study_data(task("diffuser"))
    g = twin_check(gaussian, DiffractionLoss(gaussian.probe, gaussian.grid, "mae"))
    d = twin_check(diffuser, DiffractionLoss(diffuser.probe, diffuser.grid, "mae"))
    assert g["truth_loss"] < 0.01 and d["truth_loss"] < 0.01
    assert g["twin_margin"] < 0.01 < 0.8 < d["twin_margin"]
    assert g["constant_loss"] > 10 * g["truth_loss"]
    # the twin object of the Gaussian probe is a plausible object: the reflected amplitude
    t = twin_object(gaussian.test_patches()[:3], gaussian.probe)
    torch.testing.assert_close(t.abs(), torch.flip(gaussian.test_patches()[:3], (-2, -1)).abs())


def test_overlap_constraint_breaks_the_twin_of_a_symmetric_probe() -> None:
    data = make_study_data(task("gaussian", gridsize=2))
    margin = twin_check(data, DiffractionLoss(data.probe, data.grid, "mae"))["twin_margin"]
    assert margin > 0.3


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    out = {}
    for probe in spec.PROBE_KINDS:
        data = make_study_data(task(probe))
        out[probe] = check_wellposedness(data, DiffractionLoss(data.probe, data.grid, "mae"))
    return out


def test_direct_retrieval_does_better_on_the_diffuser_task(reports: dict[str, Any]) -> None:
    d, g = reports["diffuser"]["direct_retrieval"], reports["gaussian"]["direct_retrieval"]
    assert d["amp_ssim"] > 0.8 and d["amp_ssim"] > g["amp_ssim"] + 0.1
    assert d["groups"] == 49 and d["loss"] < 0.05


def test_check_verdict_and_reasons(reports: dict[str, Any]) -> None:
    bad, good = reports["gaussian"], reports["diffuser"]
    assert bad["wellposed"] is False and good["wellposed"] is True and good["reasons"] == []
    assert any("twin image fits the data" in r for r in bad["reasons"])
    assert set(bad) >= {"twin", "direct_retrieval", "thresholds"}


@pytest.mark.parametrize("size", [40, 72])
def test_retrieval_is_thinned_but_still_covers(size: int) -> None:
    cfg = task("diffuser")
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"object_size": size})})
    data = make_study_data(cfg)
    out = direct_retrieval(data, DiffractionLoss(data.probe, data.grid, "mae"), iterations=1)
    per_side = data.grid.groups_per_side
    assert out["groups"] <= max(256, per_side**2 // 4) and out["amp_ssim"] is not None
