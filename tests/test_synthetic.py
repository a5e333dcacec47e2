"""impl.synthetic (the grid-lines task) and impl.losses (the physics-informed losses)."""

from __future__ import annotations

import math

import pytest
import torch

from impl.losses import DiffractionLoss, as_complex_patches
from impl.synthetic import diffraction_intensity, make_grid_lines, make_probe


def test_shapes_dtypes_and_determinism() -> None:
    a = make_grid_lines(5, N=16, gridsize=2, nphotons=1e5, set_phi=True, seed=7)
    b = make_grid_lines(5, N=16, gridsize=2, nphotons=1e5, set_phi=True, seed=7)
    c = make_grid_lines(5, N=16, gridsize=2, nphotons=1e5, set_phi=True, seed=8)
    assert a.inputs.shape == a.counts.shape == (5, 4, 16, 16)
    assert a.objects.shape == (5, 16, 16, 4, 2) and a.inputs.dtype == torch.float32
    for name in ("inputs", "counts", "objects"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert not torch.equal(a.counts, c.counts) and not torch.equal(a.objects, c.objects)


def test_counts_are_poisson_integers_scaled_to_nphotons() -> None:
    data = make_grid_lines(64, N=16, gridsize=1, nphotons=1e4, set_phi=False, seed=0)
    counts = data.counts
    assert bool((counts >= 0).all()) and torch.equal(counts, counts.round())
    per_pattern = counts.sum(dim=(-2, -1)).double()
    # total counts of a pattern: mean nphotons, Poisson spread around its rate sum
    assert float(per_pattern.mean()) == pytest.approx(1e4, rel=0.01)
    torch.testing.assert_close(data.inputs.square() * data.scale, counts, rtol=1e-5, atol=1e-3)


def test_inputs_are_the_diffraction_amplitude_of_the_object_at_high_dose() -> None:
    data = make_grid_lines(3, N=16, gridsize=2, nphotons=1e12, set_phi=True, seed=1)
    patches = as_complex_patches(data.objects)
    clean = diffraction_intensity(patches * data.probe).sqrt()
    err = (clean - data.inputs).abs().max() / clean.max()
    assert float(err) < 1e-3


def test_object_amplitude_and_phase_ranges() -> None:
    data = make_grid_lines(4, N=16, gridsize=2, nphotons=1e6, set_phi=True, seed=2)
    obj = torch.view_as_complex(data.objects.contiguous())
    amp, phase = obj.abs(), obj.angle()
    assert float(amp.min()) >= 0.5 - 1e-6 and float(amp.max()) <= 1.0 + 1e-6
    assert float(phase.min()) >= -1e-6 and float(phase.max()) <= math.pi / 3 + 1e-6
    assert float(phase.std()) > 0.05  # set_phi gives a phase pattern
    flat = make_grid_lines(4, N=16, gridsize=2, nphotons=1e6, set_phi=False, seed=2)
    assert float(torch.view_as_complex(flat.objects.contiguous()).angle().abs().max()) < 1e-6


def test_neighbouring_patches_overlap() -> None:
    """Patch (0, 1) starts N/4 to the right of patch (0, 0): they share 3/4 of their width."""
    data = make_grid_lines(2, N=16, gridsize=2, nphotons=1e6, set_phi=True, seed=3)
    obj = data.objects  # (S, H, W, C, 2), channel c = i * gridsize + j
    torch.testing.assert_close(obj[:, :, 4:, 0], obj[:, :, :12, 1])
    torch.testing.assert_close(obj[:, 4:, :, 0], obj[:, :12, :, 2])


def test_probe_is_fixed_and_energy_is_conserved() -> None:
    assert torch.equal(make_probe(16), make_probe(16))
    psi = torch.randn(2, 3, 16, 16, dtype=torch.complex64)
    torch.testing.assert_close(
        diffraction_intensity(psi).sum(dim=(-2, -1)), psi.abs().square().sum(dim=(-2, -1))
    )


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n_samples": 0}, "n_samples=0"),
        ({"N": 2}, "N=2"),
        ({"gridsize": 0}, "gridsize=0"),
        ({"nphotons": -1.0}, "nphotons=-1.0"),
        ({"nphotons": math.inf}, "nphotons=inf"),
    ],
)
def test_bad_arguments_named(kwargs: dict[str, object], pattern: str) -> None:
    args: dict[str, object] = {
        "n_samples": 2,
        "N": 8,
        "gridsize": 1,
        "nphotons": 1e3,
        "set_phi": False,
        "seed": 0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern.replace("+", r"\+")):
        make_grid_lines(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["poisson", "mae"])
def test_loss_is_zero_at_truth_and_grows_away_from_it(kind: str) -> None:
    data = make_grid_lines(4, N=16, gridsize=2, nphotons=1e12, set_phi=True, seed=4)
    loss = DiffractionLoss(data.probe, kind)  # type: ignore[arg-type]
    truth = float(loss.value(data.objects, data.inputs))
    near = float(loss.value(data.objects * 1.05, data.inputs))
    far = float(loss.value(data.objects * 2.0, data.inputs))
    assert truth < 1e-3 and truth < near < far


def test_poisson_loss_matches_nll_difference() -> None:
    """The Poisson loss is the NLL of the counts minus its minimum, over scale * mean(y)."""
    data = make_grid_lines(2, N=8, gridsize=1, nphotons=1e4, set_phi=False, seed=5)
    loss = DiffractionLoss(data.probe, "poisson")
    pred = data.objects * 0.9
    rate = loss.predicted_intensity(pred).double() * data.scale
    k = data.counts.double()

    def nll(lam: torch.Tensor) -> torch.Tensor:
        return (lam - torch.xlogy(k, lam) + torch.lgamma(k + 1)).mean()

    expected = (nll(rate) - nll(k)) / k.mean()
    assert float(loss.value(pred, data.inputs)) == pytest.approx(float(expected), rel=1e-3)


def test_loss_fn_feeds_normalised_inputs_and_gives_gradients() -> None:
    data = make_grid_lines(2, N=8, gridsize=1, nphotons=1e6, set_phi=False, seed=6)
    seen: list[torch.Tensor] = []

    class Echo(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return torch.stack([x, torch.zeros_like(x)], dim=-1).permute(0, 2, 3, 1, 4) * self.w

    model = Echo()
    value = DiffractionLoss(data.probe, input_norm=4.0)(model, data.inputs)
    value.backward()
    torch.testing.assert_close(seen[0], data.inputs / 4.0)
    assert model.w.grad is not None and torch.isfinite(model.w.grad).all()
    with pytest.raises(ValueError, match="'l2'"):
        DiffractionLoss(data.probe, "l2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(B, H, W, C, 2\)"):
        as_complex_patches(torch.ones(2, 3))
