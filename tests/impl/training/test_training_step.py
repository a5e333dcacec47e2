"""impl.training_step: the API, its errors, and examples of the TRN clauses.

The TRN rules are checked generically by the ``train.*`` conformance properties in
tests/test_agc_properties.py; this file pins the impl-specific behaviour.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

import spec
from conformance.strategies.training import TrainCase
from impl.training import StepResult, training_step


def _mse(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def _setup(k: int = 2, **cfg: Any) -> tuple[nn.Module, torch.optim.Optimizer, list[Any], Any]:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [(torch.randn(4, 3), torch.randn(4, 2) * 10) for _ in range(k)]
    return model, opt, batches, spec.TorchTrainingConfig(accumulate_grad_batches=k, **cfg)


def test_result_fields_are_tensors_and_grads_cleared() -> None:
    """TRN-003, TRN-005, TRN-008: 0-dim tensor statistics; no gradient left behind."""
    model, opt, batches, cfg = _setup(gradient_clip_algorithm="agc", gradient_clip_val=0.01)
    out = training_step(model, opt, batches, _mse, cfg)
    assert isinstance(out, StepResult)
    for name in ("loss", "grad_norm_before", "grad_norm_after", "units_clipped", "finite"):
        value = getattr(out, name)
        assert isinstance(value, torch.Tensor) and value.ndim == 0, name
        assert not value.requires_grad, name
    assert bool(out.finite) and int(out.units_clipped) > 0
    assert float(out.grad_norm_after) < float(out.grad_norm_before)
    assert all(p.grad is None for p in model.parameters())


def test_loss_is_mean_of_micro_batch_losses() -> None:
    model, opt, batches, cfg = _setup(k=3)
    with torch.no_grad():
        want = sum(float(_mse(model, b)) for b in batches) / 3
    out = training_step(model, opt, batches, _mse, cfg)
    assert math.isclose(float(out.loss), want, rel_tol=1e-6)


def test_one_shot_iterator_of_micro_batches() -> None:
    model, opt, batches, cfg = _setup(k=2)
    out = training_step(model, opt, iter(batches), _mse, cfg)
    assert bool(out.finite)


def test_leftover_gradients_are_discarded() -> None:
    """Gradients present before the call do not leak into the step."""
    a, opt_a, batches, cfg = _setup()
    b, opt_b, _, _ = _setup()
    for p in b.parameters():
        p.grad = torch.full_like(p, 1e6)
    training_step(a, opt_a, batches, _mse, cfg)
    training_step(b, opt_b, batches, _mse, cfg)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_wrong_micro_batch_count_names_both() -> None:
    """TRN-006: the error names the count and accumulate_grad_batches; nothing changes."""
    model, opt, batches, cfg = _setup(k=2)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"got 3 micro-batches but .*accumulate_grad_batches=2"):
        training_step(model, opt, [*batches, batches[0]], _mse, cfg)
    with pytest.raises(ValueError, match=r"got 0 micro-batches"):
        training_step(model, opt, [], _mse, cfg)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))


def test_argument_type_errors() -> None:
    model, opt, batches, cfg = _setup(k=1)
    tf = spec.to_tf(cfg)
    with pytest.raises(TypeError, match=r"TF-side .*spec\.to_torch"):
        training_step(model, opt, batches[:1], _mse, tf)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"config must be a spec\.TorchTrainingConfig"):
        training_step(model, opt, batches[:1], _mse, {"epochs": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        training_step(lambda x: x, opt, batches[:1], _mse, cfg)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="optimizer must be"):
        training_step(model, None, batches[:1], _mse, cfg)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        training_step(model, opt, batches[:1], "mse", cfg)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"scaler must be a torch\.amp\.GradScaler"):
        training_step(model, opt, batches[:1], _mse, cfg, scaler=object())


def test_non_scalar_loss_rejected() -> None:
    model, opt, batches, cfg = _setup(k=1)

    def per_sample(m: nn.Module, b: Any) -> torch.Tensor:
        return (m(b[0]) - b[1]).pow(2).mean(dim=1)

    with pytest.raises(ValueError, match=r"scalar tensor; micro-batch 0 gave \(4,\)"):
        training_step(model, opt, batches[:1], per_sample, cfg)


def test_grad_scaler_matches_plain_step() -> None:
    """TRN-001 example: with a GradScaler the update equals the plain one (AGC clipping on)."""
    case = TrainCase(seed=3, accumulate=2, algorithm="agc", value=0.01, dtype="float32")
    results = []
    for scaler in (None, torch.amp.GradScaler("cpu", init_scale=2.0**14)):
        model = case.model()
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        out = training_step(
            model, opt, case.micro_batches(), case.loss_fn, case.config(), scaler=scaler
        )
        assert int(out.units_clipped) > 0
        results.append(([p.detach().clone() for p in model.parameters()], out))
    (plain, a), (scaled, b) = results
    for p, q in zip(plain, scaled, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(a.grad_norm_before, b.grad_norm_before)  # unscaled statistics


def test_grad_scaler_skips_overflowed_step() -> None:
    """TRN-007 example: inf gradients -> parameters unchanged, finite False, scale backed off."""
    case = TrainCase(seed=1, algorithm="value", value=1.0, dtype="float32", poison=True)
    model = case.model()
    before = [p.detach().clone() for p in model.parameters()]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    out = training_step(
        model, opt, case.micro_batches(), case.loss_fn, case.config(), scaler=scaler
    )
    assert not bool(out.finite)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    assert scaler.get_scale() < 2.0**10


def test_agc_uses_the_models_declared_unit_axes() -> None:
    """AGC-024 through the step: a ConvTranspose weight is clipped per output channel (dim 1)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.ConvTranspose2d(2, 3, 2, bias=False))
    weight = model[0].weight
    x, y = torch.randn(2, 2, 3, 3), torch.randn(2, 3, 4, 4) * 100
    w0 = weight.detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    cfg = spec.TorchTrainingConfig(gradient_clip_algorithm="agc", gradient_clip_val=0.01)
    out = training_step(model, opt, [(x, y)], _mse, cfg)
    assert int(out.units_clipped) == 3  # three units along dim 1, not two along dim 0
    step = (w0 - weight.detach()).transpose(0, 1).reshape(3, -1)
    bounds = 0.01 * w0.transpose(0, 1).reshape(3, -1).norm(dim=1).clamp(min=1e-3)
    torch.testing.assert_close(step.norm(dim=1), bounds, rtol=1e-5, atol=0)


def test_parameters_outside_the_optimizer_are_cleared_not_stepped() -> None:
    model, _, batches, cfg = _setup(k=2)
    opt = torch.optim.SGD([model.weight], lr=0.1)
    bias = model.bias.detach().clone()
    training_step(model, opt, batches, _mse, cfg)
    assert model.bias.grad is None and torch.equal(model.bias.detach(), bias)


def test_no_host_sync_without_scaler(host_reads: list[str]) -> None:
    """TRN-008: no tensor read on the host inside the step (no scaler)."""
    model, opt, batches, cfg = _setup(gradient_clip_algorithm="agc", gradient_clip_val=0.01)
    training_step(model, opt, batches, _mse, cfg)
    assert host_reads == []


@pytest.mark.parametrize(("algorithm", "value"), [("agc", 0.01), ("norm", 0.5), ("value", 0.2)])
def test_reported_norms_are_the_global_gradient_norms(algorithm: str, value: float) -> None:
    """TRN-005: before/after (derived from the clipping for 'agc' and 'norm') equal the global
    norms of the accumulated gradients taken anew, before and after the same clipping."""
    from impl.clipping import clip_gradients_, global_grad_norm

    model, opt, batches, cfg = _setup(
        k=2, gradient_clip_algorithm=algorithm, gradient_clip_val=value
    )
    twin = nn.Linear(3, 2)
    twin.load_state_dict(model.state_dict())
    for batch in batches:
        (_mse(twin, batch) / 2).backward()
    grads = [p.grad for p in twin.parameters()]
    before = float(global_grad_norm(grads))
    clip_gradients_(list(twin.parameters()), algorithm, value)
    after = float(global_grad_norm(grads))
    out = training_step(model, opt, batches, _mse, cfg)
    assert float(out.grad_norm_before) == pytest.approx(before, rel=1e-5)
    assert float(out.grad_norm_after) == pytest.approx(after, rel=1e-5)
    assert after < before
