"""The study's synthetic task (impl.study: objects, probe, scan, data, losses).

Clauses: RUN-012 (well-posed task: structured probe by default, probe loadable from a file,
overlap constraint for gridsize > 1).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import spec
from impl.study.data import make_study_data
from impl.study.fourier import diffraction_intensity, gaussian_blur
from impl.study.losses import DiffractionLoss, as_complex_patches
from impl.study.objects import OBJECT_RECIPES, grid_lines
from impl.study.probe import ProbeError, load_probe, make_probe, probe_for
from impl.study.scan import ScanGrid, extract, merge_groups, stitch


def tiny(gridsize: int = 1, **data: object) -> spec.StudyConfig:
    fields: dict[str, object] = {"object_size": 32, "scan_stride": 4, **data}
    return spec.StudyConfig(
        model=spec.ModelConfig(N=16, gridsize=gridsize),
        training=spec.TorchTrainingConfig(nphotons=1e6),
        data=spec.DataConfig(**fields),  # type: ignore[arg-type]
    )


def test_every_object_kind_has_one_recipe() -> None:
    """The recipe table is keyed by exactly the contract's object kinds, in their order."""
    assert tuple(OBJECT_RECIPES) == spec.OBJECT_KINDS


def test_unknown_object_kind_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"object kind 'dots': allowed are \['lines'"):
        grid_lines(torch.Generator(), 64, "dots")


@pytest.mark.parametrize("kind", spec.OBJECT_KINDS)
def test_objects_amplitude_phase_and_texture(kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    obj = grid_lines(gen, 64, kind, set_phi=True)
    amp, phase = obj.abs(), obj.angle()
    assert float(amp.min()) == pytest.approx(0.1) and float(amp.max()) == pytest.approx(1.0)
    assert float(phase.abs().max()) <= 0.8 * math.pi + 1e-9 and float(phase.std()) > 0.3
    # phase is a monotone function of amplitude (upstream: tanh of the amplitude)
    order = amp.flatten().argsort()
    assert bool((phase.flatten()[order].diff() >= -1e-12).all())
    flat = grid_lines(torch.Generator().manual_seed(0), 64, kind, set_phi=False)
    assert float(flat.angle().abs().max()) == 0.0
    torch.testing.assert_close(flat.abs(), amp)  # the same draw, only the phase differs


def test_lines_carry_texture_at_the_finest_scale() -> None:
    """'lines' weights the 1-px scale more than upstream's recipe: more high-frequency power."""

    def high_frequency_share(kind: str) -> float:
        a = grid_lines(torch.Generator().manual_seed(3), 128, kind).abs()
        a = a - a.mean()
        spectrum = torch.fft.fftshift(torch.fft.fft2(a)).abs().square()
        k = torch.arange(128) - 64
        r = torch.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
        return float(spectrum[r > 16].sum() / spectrum.sum())

    assert high_frequency_share("lines") > 2 * high_frequency_share("upstream_lines")


def test_objects_deterministic_and_validated() -> None:
    a = grid_lines(torch.Generator().manual_seed(5), 32)
    b = grid_lines(torch.Generator().manual_seed(5), 32)
    c = grid_lines(torch.Generator().manual_seed(6), 32)
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="'dots'"):
        grid_lines(torch.Generator(), 32, "dots")
    with pytest.raises(ValueError, match="size=1"):
        grid_lines(torch.Generator(), 1)


def test_diffuser_probe_has_a_structured_phase_and_the_gaussian_does_not() -> None:
    d, g = make_probe(32, "diffuser"), make_probe(32, "gaussian")
    torch.testing.assert_close(d.abs(), g.abs())  # same Gaussian amplitude
    lit = d.abs() > 0.3
    assert float(d.angle()[lit].std()) > 1.5
    # centro-symmetric: flipping the Gaussian probe leaves it unchanged, not the diffuser
    assert float((torch.flip(g, (0, 1)) - g).abs().max()) < 1e-5
    assert float((torch.flip(d, (0, 1)) - d).abs()[lit].mean()) > 0.3
    assert torch.equal(make_probe(32), make_probe(32))
    assert not torch.equal(make_probe(32, seed=1), make_probe(32))
    with pytest.raises(ValueError, match="'disk'"):
        make_probe(32, "disk")


def test_probe_loads_from_npy_and_npz(tmp_path: Path) -> None:
    probe = (np.arange(16 * 16).reshape(16, 16) * (1 + 2j)).astype(np.complex128)
    np.save(tmp_path / "p.npy", probe)
    np.savez(tmp_path / "one.npz", whatever=probe)
    np.savez(tmp_path / "named.npz", probe=probe, other=np.zeros(3))
    for name in ("p.npy", "one.npz", "named.npz"):
        loaded = load_probe(tmp_path / name, 16)
        assert loaded.dtype == torch.complex64
        np.testing.assert_allclose(loaded.numpy(), probe, rtol=1e-6)
    cfg = tiny(probe_file=str(tmp_path / "p.npy"))
    np.testing.assert_allclose(probe_for(cfg.data, 16).numpy(), probe, rtol=1e-6)
    data = make_study_data(cfg)
    np.testing.assert_allclose(data.probe.numpy(), probe, rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("real.npy", np.ones((16, 16)), "must be a complex array"),
        ("shape.npy", np.ones((8, 16), complex), "shape (16, 16) (N=16), got (8, 16)"),
        ("nan.npy", np.full((16, 16), np.nan, complex), "non-finite"),
        ("zero.npy", np.zeros((16, 16), complex), "zero everywhere"),
        ("two.npz", {"a": np.ones((16, 16), complex), "b": np.ones(2)}, "['a', 'b']"),
        ("probe.txt", None, "must be .npy or .npz"),
        ("missing.npy", None, "cannot read"),
        ("broken.npz", b"not a zip", "cannot read"),
    ],
)
def test_bad_probe_files_are_named(tmp_path: Path, name: str, content: object, needle: str) -> None:
    path = tmp_path / name
    if isinstance(content, dict):
        np.savez(path, **content)
    elif isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ProbeError) as info:
        load_probe(path, 16)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_scan_positions_and_patches() -> None:
    grid = ScanGrid(N=8, gridsize=2, spacing=2, stride=3, object_size=20)
    assert grid.extent == 10 and grid.groups_per_side == 4  # origins 0, 3, 6, 9
    pos = grid.positions()
    assert pos.shape == (16, 4, 2)
    assert pos[5].tolist() == [[3, 3], [3, 5], [5, 3], [5, 5]]  # origin (3, 3), c = i * 2 + j
    obj = torch.randn(20, 20, dtype=torch.complex128)
    patches = extract(obj, pos, 8)
    assert torch.equal(patches[5, 3], obj[5:13, 5:13])
    assert grid.positions(every=2).shape == (4, 4, 2)


def test_stitching_rebuilds_the_object_and_averages_overlaps() -> None:
    grid = ScanGrid(N=8, gridsize=1, spacing=2, stride=2, object_size=24)
    pos = grid.positions().reshape(-1, 2)
    obj = torch.rand(24, 24, dtype=torch.float64)
    image, region = stitch(extract(obj, pos, 8), pos, 24, 4)
    assert region == slice(2, 22)
    torch.testing.assert_close(image, obj[region, region])
    # every patch one constant, its index: each pixel is the mean of the windows covering it
    consts = torch.arange(len(pos), dtype=torch.float64)[:, None, None].expand(-1, 8, 8)
    image, _ = stitch(consts, pos, 24, 4)
    assert float(image[0, 0]) == 0.0 and float(image[-1, -1]) == len(pos) - 1
    # object pixel (5, 5) is in the windows of the patches at (0|2, 0|2): indices 0, 1, 9, 10
    assert float(image[3, 3]) == pytest.approx(float(consts[[0, 1, 9, 10], 0, 0].mean()))


def test_overlap_constraint_merges_the_shared_region() -> None:
    grid = ScanGrid(N=8, gridsize=2, spacing=2, stride=2, object_size=16)
    obj = torch.randn(16, 16, dtype=torch.complex128)
    consistent = extract(obj, grid.positions()[:3], 8)
    torch.testing.assert_close(merge_groups(consistent, grid), consistent)  # already one object
    a, b = torch.zeros(1, 4, 8, 8, dtype=torch.complex64), torch.ones(1, 4, 8, 8)
    mixed = torch.where(torch.arange(4)[None, :, None, None] == 0, b.to(a.dtype), a)
    merged = merge_groups(mixed, grid)
    # pixel (2, 2) of patch 0 is shared by all four patches: mean of 1, 0, 0, 0
    assert complex(merged[0, 0, 2, 2]) == pytest.approx(0.25)
    assert complex(merged[0, 0, 0, 0]) == pytest.approx(1.0)  # patch 0 alone covers (0, 0)
    assert complex(merged[0, 3, 0, 0]) == pytest.approx(0.25)  # the same pixel, seen by patch 3
    one = ScanGrid(N=8, gridsize=1, spacing=2, stride=2, object_size=16)
    assert merge_groups(mixed[:, :1], one) is not None
    assert torch.equal(merge_groups(mixed[:, :1], one), mixed[:, :1])


def test_data_shapes_counts_and_determinism() -> None:
    cfg = tiny()
    a, b = make_study_data(cfg), make_study_data(cfg)
    assert a.train.inputs.shape == (2 * 5 * 5, 1, 16, 16) and a.test.inputs.shape == (25, 1, 16, 16)
    assert torch.equal(a.train.inputs, b.train.inputs) and torch.equal(
        a.test_objects, b.test_objects
    )
    other = make_study_data(
        cfg.model_copy(update={"training": cfg.training.model_copy(update={"seed": 1})})
    )
    assert not torch.equal(a.train.inputs, other.train.inputs)
    counts = a.train.inputs.double().square() * a.scale
    assert torch.allclose(counts, counts.round(), atol=1e-2)  # Poisson counts
    assert float(counts.sum(dim=(-2, -1)).mean()) == pytest.approx(1e6, rel=0.01)
    more = make_study_data(tiny(n_train_objects=3))
    assert torch.equal(more.test_objects, a.test_objects)  # test set independent of n_train


def test_measured_amplitude_is_the_diffraction_of_probe_times_patch() -> None:
    cfg = tiny(gridsize=2)
    cfg = cfg.model_copy(update={"training": cfg.training.model_copy(update={"nphotons": 1e12})})
    data = make_study_data(cfg)
    clean = diffraction_intensity(data.test_patches() * data.probe.to(torch.complex128)).sqrt()
    assert float((clean - data.test.inputs).abs().max() / clean.max()) < 1e-3


@pytest.mark.parametrize("kind", spec.LOSS_FUNCTIONS)
@pytest.mark.parametrize("gridsize", [1, 2])
def test_loss_is_the_noise_floor_at_the_truth_and_grows_away(kind: str, gridsize: int) -> None:
    data = make_study_data(tiny(gridsize=gridsize))
    loss = DiffractionLoss(data.probe, data.grid, kind)  # type: ignore[arg-type]
    truth, inputs = data.test_patches(), data.test.inputs
    values = [float(loss.value_patches(truth * s, inputs)) for s in (1.0, 1.1, 2.0)]
    assert values[0] < 0.02 and values == sorted(values)
    # as a prediction (B, H, W, C, 2) the same value
    prediction = torch.view_as_real(truth.to(torch.complex64).permute(0, 2, 3, 1).contiguous())
    assert float(loss.value(prediction, inputs)) == pytest.approx(values[0], rel=1e-4)


def test_overlap_constraint_enters_the_loss() -> None:
    """With gridsize 2 a group whose patches disagree is merged before the forward model."""
    data = make_study_data(tiny(gridsize=2))
    loss = DiffractionLoss(data.probe, data.grid, "mae")
    truth = data.test_patches()[:4]
    noisy = truth.clone()
    noisy[:, 0] = noisy[:, 0] * 1.5  # one patch of each group wrong
    merged = loss.patches(
        torch.view_as_real(noisy.to(torch.complex64).permute(0, 2, 3, 1).contiguous())
    )
    # the patch that was right is pulled off the truth where it overlaps the wrong one
    assert float((merged[:, 3] - truth[:, 3]).abs().max()) > 0.01
    torch.testing.assert_close(merge_groups(truth, data.grid), truth)


def test_poisson_loss_is_the_nll_difference() -> None:
    data = make_study_data(tiny())
    loss = DiffractionLoss(data.probe, data.grid, "poisson")
    pred = data.test_patches() * 0.9
    rate = diffraction_intensity(pred * data.probe.to(torch.complex128)) * data.scale
    k = data.test.inputs.double().square() * data.scale

    def nll(lam: torch.Tensor) -> torch.Tensor:
        return (lam - torch.xlogy(k, lam)).mean()

    expected = (nll(rate) - nll(k)) / k.mean()
    assert float(loss.value_patches(pred, data.test.inputs)) == pytest.approx(
        float(expected), rel=1e-3
    )


def test_loss_fn_feeds_normalised_inputs_and_validates() -> None:
    data = make_study_data(tiny())
    seen: list[torch.Tensor] = []

    class Echo(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return torch.stack([x, torch.zeros_like(x)], dim=-1).permute(0, 2, 3, 1, 4) * self.w

    model = Echo()
    DiffractionLoss(data.probe, data.grid, input_norm=4.0)(model, data.train.inputs[:2]).backward()
    torch.testing.assert_close(seen[0], data.train.inputs[:2] / 4.0)
    assert model.w.grad is not None and torch.isfinite(model.w.grad).all()
    with pytest.raises(ValueError, match="'l2'"):
        DiffractionLoss(data.probe, data.grid, "l2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="input_norm=0"):
        DiffractionLoss(data.probe, data.grid, input_norm=0)
    with pytest.raises(ValueError, match=r"\(B, H, W, C, 2\)"):
        as_complex_patches(torch.ones(2, 3))


def test_gaussian_blur_weights_and_energy() -> None:
    img = torch.zeros(32, 32, dtype=torch.float64)
    img[16, 16] = 1.0
    out = gaussian_blur(img, (1.0, 3.0), (1.0, 2.0))
    assert float(out.sum()) == pytest.approx(3.0)
    assert float(out[16, 16]) > float(out[16, 19]) > 0
    with pytest.raises(ValueError, match="2 sigmas but 1 weights"):
        gaussian_blur(img, (1.0, 2.0), (1.0,))
    psi = torch.randn(3, 16, 16, dtype=torch.complex64)
    torch.testing.assert_close(
        diffraction_intensity(psi).sum(dim=(-2, -1)), psi.abs().square().sum(dim=(-2, -1))
    )
