"""impl.lightning under a real ``lightning.Trainer`` on the CPU (issue 19, item 1).

Every way to clip (the Callback, ``configure_gradient_clipping``, the manual helper, the
task-1.3 module) trains a tiny model for a few steps, in 32-true and in float16 with a
CPU GradScaler, with 1 and 3 micro-batches per step, and must end on the parameters
:func:`impl.training_step` reaches on the same micro-batches. The faulty modules of
lightning_faults.py (the plan's task 1.3 as written; clipping every micro-batch) must not.
"""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import Tensor, nn

L = pytest.importorskip(
    "lightning",
    reason="impl.lightning needs the optional extra: pip install 'fno-stability[lightning]'",
)

import spec  # noqa: E402
from impl.lightning import (  # noqa: E402
    DispatchClippingMixin,
    GradientClipping,
    TrainingModule,
    clip_and_step,
)
from impl.training import StepResult, training_step  # noqa: E402
from tests.impl.training.lightning_faults import (  # noqa: E402
    ClipsEveryMicroBatch,
    PlanTask13AsWritten,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

SCALE = 1024.0
"""The GradScaler's initial scale (a power of two: unscaling is exact)."""
STEPS = 3
VALUES = {"norm": 0.5, "value": 0.05, "agc": 0.02}
"""Thresholds at which every algorithm clips on these batches (checked below)."""
PRECISIONS = ("32-true", "16-mixed")
GRID = [(p, k, a) for p in PRECISIONS for k in (1, 3) for a in spec.CLIP_ALGORITHMS]


class Tiny(nn.Module):
    """A tiny model with a parameter whose AGC units are its columns (declared, axis 1)."""

    AGC_UNIT_DIMS = {"mix": 1}  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(4, 6)
        self.mix = nn.Parameter(torch.randn(6, 5) / 3)
        self.out = nn.Linear(5, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(torch.tanh(self.inp(x)) @ self.mix)


def _model() -> Tiny:
    torch.manual_seed(0)
    return Tiny()


def _batches(n: int) -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 4, generator=g), 3 * torch.randn(8, 2, generator=g)) for _ in range(n)]


def _mse(model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def _config(k: int, algorithm: str, value: float | None) -> spec.TorchTrainingConfig:
    return spec.TorchTrainingConfig(
        accumulate_grad_batches=k,
        gradient_clip_algorithm=algorithm,
        gradient_clip_val=value,
        optimizer="sgd",
        learning_rate=0.1,
    )


def _reference(
    precision: str, k: int, algorithm: str, value: float | None, scale: float = SCALE
) -> tuple[Tiny, list[StepResult]]:
    """impl.training_step over the same micro-batches: the parameters Lightning must reach."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    cfg = _config(k, algorithm, value)
    scaler = None
    loss_fn: Callable[[nn.Module, Any], Tensor] = _mse
    if precision == "16-mixed":
        scaler = torch.amp.GradScaler("cpu", init_scale=scale)

        def loss_fn(model: nn.Module, batch: Any) -> Tensor:
            with torch.autocast("cpu", dtype=torch.float16):  # what MixedPrecision runs
                return _mse(model, batch)

    batches = _batches(STEPS * k)
    out = [
        training_step(model, opt, batches[i : i + k], loss_fn, cfg, scaler=scaler)
        for i in range(0, len(batches), k)
    ]
    return model, out


def _fit(
    module: L.LightningModule,
    precision: str,
    k: int,
    *,
    accumulate: int = 1,
    callbacks: tuple[Any, ...] = (),
    scale: float = SCALE,
    **trainer_kwargs: Any,
) -> None:
    """Train ``module`` for STEPS optimizer steps on the STEPS * k micro-batches."""
    extra: dict[str, Any] = {"precision": "32-true"}
    if precision == "16-mixed":
        # plain precision="16-mixed" on the CPU would be bfloat16: float16 + GradScaler
        scaler = torch.amp.GradScaler("cpu", init_scale=scale)
        extra = {"plugins": [L.pytorch.plugins.MixedPrecision("16-mixed", "cpu", scaler=scaler)]}
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=STEPS,
        max_epochs=1,
        accumulate_grad_batches=accumulate,
        callbacks=list(callbacks),
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
        **extra,
        **trainer_kwargs,
    )
    data = torch.utils.data.DataLoader(_batches(STEPS * k), batch_size=None, shuffle=False)
    trainer.fit(module, data)
    assert trainer.global_step == STEPS


def _max_diff(a: nn.Module, b: nn.Module) -> float:
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return max(float((x - y).abs().max()) for x, y in pairs)


def _assert_same(got: nn.Module, want: nn.Module) -> None:
    for (name, x), y in zip(got.state_dict().items(), want.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6, msg=lambda m, n=name: f"{n}: {m}")


class Auto(L.LightningModule):
    """Automatic optimization, no clipping of its own."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        return _mse(self.model, batch)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.model.parameters(), lr=0.1)


class AutoMixin(DispatchClippingMixin, Auto):
    """Automatic optimization, clipping in configure_gradient_clipping (the mixin)."""

    def __init__(self, model: nn.Module, algorithm: str | None, value: float | None) -> None:
        super().__init__(model)
        self.clip_algorithm = algorithm
        self.clip_value = value


class Manual(L.LightningModule):
    """Manual optimization with k micro-batches per step; ``clip`` chooses the step."""

    def __init__(
        self, model: nn.Module, k: int, algorithm: str | None = None, value: float | None = None
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.model = model
        self.k = k
        self.algorithm, self.value = algorithm, value
        self.results: list[Any] = []

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        loss = _mse(self.model, batch)
        self.manual_backward(loss / self.k)
        if (batch_idx + 1) % self.k == 0:
            opt = self.optimizers()
            if self.algorithm is None:
                opt.step()
            else:
                self.results.append(clip_and_step(self, opt, self.algorithm, self.value))
            opt.zero_grad()
        return loss.detach()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.model.parameters(), lr=0.1)


@pytest.fixture(scope="module")
def references() -> Iterator[dict[tuple[str, int, str], tuple[Tiny, list[StepResult]]]]:
    cache: dict[tuple[str, int, str], tuple[Tiny, list[StepResult]]] = {}

    def get(key: tuple[str, int, str]) -> tuple[Tiny, list[StepResult]]:
        if key not in cache:
            cache[key] = _reference(*key, VALUES[key[2]])
        return cache[key]

    yield types.SimpleNamespace(get=get)


@pytest.mark.parametrize(("precision", "k", "algorithm"), GRID)
def test_reference_clips_and_clipping_matters(precision: str, k: int, algorithm: str) -> None:
    """The thresholds make every algorithm clip, and clipping changes the result: equality
    with the reference below is not equality of two unclipped runs."""
    model, out = _reference(precision, k, algorithm, VALUES[algorithm])
    assert all(bool(r.finite) for r in out)
    assert sum(int(r.units_clipped) for r in out) > 0
    unclipped, _ = _reference(precision, k, algorithm, None)
    assert _max_diff(model, unclipped) > 1e-3


@pytest.mark.parametrize("mode", ["automatic", "manual"])
@pytest.mark.parametrize(("precision", "k", "algorithm"), GRID)
def test_callback_equals_training_step(
    references: Any, mode: str, precision: str, k: int, algorithm: str
) -> None:
    model = _model()
    callback = GradientClipping(algorithm, VALUES[algorithm])
    if mode == "automatic":
        _fit(Auto(model), precision, k, accumulate=k, callbacks=(callback,))
    else:
        _fit(Manual(model, k), precision, k, callbacks=(callback,))
    want, out = references.get((precision, k, algorithm))
    _assert_same(model, want)
    assert callback.last is not None
    torch.testing.assert_close(callback.last.grad_norm_before, out[-1].grad_norm_before)


@pytest.mark.parametrize(("precision", "k", "algorithm"), GRID)
def test_configure_gradient_clipping_equals_training_step(
    references: Any, precision: str, k: int, algorithm: str
) -> None:
    model = _model()
    module = AutoMixin(model, algorithm, VALUES[algorithm])
    _fit(module, precision, k, accumulate=k)
    _assert_same(model, references.get((precision, k, algorithm))[0])
    assert module.last_clip is not None


@pytest.mark.parametrize(("precision", "k", "algorithm"), GRID)
def test_clip_and_step_equals_training_step(
    references: Any, precision: str, k: int, algorithm: str
) -> None:
    model = _model()
    module = Manual(model, k, algorithm, VALUES[algorithm])
    _fit(module, precision, k)
    want, out = references.get((precision, k, algorithm))
    _assert_same(model, want)
    assert len(module.results) == STEPS
    for got, ref in zip(module.results, out, strict=True):
        torch.testing.assert_close(got.grad_norm_before, ref.grad_norm_before)
        torch.testing.assert_close(got.units_clipped, ref.units_clipped)


@pytest.mark.parametrize(("precision", "k", "algorithm"), GRID)
def test_training_module_equals_training_step(
    references: Any, precision: str, k: int, algorithm: str
) -> None:
    model = _model()
    module = TrainingModule(model, _mse, _config(k, algorithm, VALUES[algorithm]))
    _fit(module, precision, k)
    want, out = references.get((precision, k, algorithm))
    _assert_same(model, want)
    assert module.last_clip is not None
    torch.testing.assert_close(module.last_clip.grad_norm_before, out[-1].grad_norm_before)


def test_training_module_builds_the_configs_optimizer() -> None:
    cfg = spec.TorchTrainingConfig(optimizer="adamw", learning_rate=3e-4)
    opt = TrainingModule(_model(), _mse, cfg).configure_optimizers()
    assert type(opt) is torch.optim.AdamW and opt.param_groups[0]["lr"] == 3e-4
    with pytest.raises(TypeError, match=r"spec\.TorchTrainingConfig"):
        TrainingModule(_model(), _mse, spec.to_tf(cfg))


def test_overflowed_steps_are_skipped_as_training_step_skips_them() -> None:
    """TRN-007: at GradScaler's default scale (2**16) the first step overflows float16 and is
    skipped (no clip: clip_and_step returns None), then the scaler backs off; the
    parameters still match."""
    scale = 2.0**16
    want, out = _reference("16-mixed", 1, "norm", VALUES["norm"], scale=scale)
    finite = [bool(r.finite) for r in out]
    assert not finite[0] and finite[-1], finite  # the case is the one meant
    model = _model()
    module = Manual(model, 1, "norm", VALUES["norm"])
    _fit(module, "16-mixed", 1, scale=scale)
    _assert_same(model, want)
    assert [r is not None for r in module.results] == finite


def test_agc_takes_the_declared_unit_axes() -> None:
    """Tiny declares the columns of ``mix`` as its units: overriding them (rows) changes
    the run, so the equality above rests on the declared axes."""
    want, _ = _reference("32-true", 1, "agc", VALUES["agc"])
    model = _model()
    _fit(Auto(model), "32-true", 1, callbacks=(GradientClipping("agc", VALUES["agc"], unit_dim=0),))
    assert _max_diff(model, want) > 1e-4


# ----------------------------------------------------------------------- the faulty modules


def test_plan_task_13_as_written_clips_scaled_gradients() -> None:
    """The dispatch right after manual_backward sees SCALE x the true gradients under
    float16 + GradScaler, so it clips them too hard; under 32-true it is right."""
    precision, k, algorithm = "16-mixed", 1, "norm"
    want, out = _reference(precision, k, algorithm, VALUES[algorithm])
    model = _model()
    module = PlanTask13AsWritten(model, _mse, _config(k, algorithm, VALUES[algorithm]))
    _fit(module, precision, k)
    true_norm = float(out[0].grad_norm_before)
    ratio = module.seen[0] / true_norm
    diff = _max_diff(model, want)
    print(
        f"task 1.3 as written, 16-mixed, init_scale={SCALE:g}, clip 'norm' "
        f"{VALUES[algorithm]}: gradient norm seen {module.seen[0]:.4g}, true {true_norm:.4g} "
        f"(x{ratio:.6g}); max |parameter - training_step's| after {STEPS} steps {diff:.3g}"
    )
    assert ratio == pytest.approx(SCALE, rel=1e-6)  # the same micro-batch, before any step
    assert diff > 1e-2
    # the control: without a scaler the same module is right
    want32, _ = _reference("32-true", k, algorithm, VALUES[algorithm])
    model32 = _model()
    _fit(PlanTask13AsWritten(model32, _mse, _config(k, algorithm, VALUES[algorithm])), "32-true", k)
    _assert_same(model32, want32)


@pytest.mark.parametrize("algorithm", spec.CLIP_ALGORITHMS)
def test_plan_task_13_as_written_differs_for_each_algorithm(algorithm: str) -> None:
    want, _ = _reference("16-mixed", 3, algorithm, VALUES[algorithm])
    model = _model()
    _fit(PlanTask13AsWritten(model, _mse, _config(3, algorithm, VALUES[algorithm])), "16-mixed", 3)
    assert _max_diff(model, want) > 1e-3


def test_clipping_every_micro_batch_differs_under_accumulation() -> None:
    algorithm = "norm"
    want, out = _reference("32-true", 3, algorithm, VALUES[algorithm])
    model = _model()
    module = ClipsEveryMicroBatch(model, _mse, _config(3, algorithm, VALUES[algorithm]))
    _fit(module, "32-true", 3)
    diff = _max_diff(model, want)
    print(
        f"clipping every micro-batch, 32-true, k=3, clip 'norm' {VALUES[algorithm]}: "
        f"{len(module.seen)} clips for {STEPS} steps; first step's norms seen "
        f"{[round(s, 4) for s in module.seen[:3]]}, "
        f"accumulated {float(out[0].grad_norm_before):.4g}; "
        f"max |parameter - training_step's| {diff:.3g}"
    )
    assert len(module.seen) == 3 * STEPS
    assert diff > 1e-3
    # the control: one micro-batch per step, the same module is right
    want1, _ = _reference("32-true", 1, algorithm, VALUES[algorithm])
    model1 = _model()
    _fit(ClipsEveryMicroBatch(model1, _mse, _config(1, algorithm, VALUES[algorithm])), "32-true", 1)
    _assert_same(model1, want1)


# ------------------------------------------------------------------ refusals and the Trainer


def test_trainer_refuses_agc() -> None:
    """Why the mixin holds the algorithm: the Trainer itself refuses 'agc' when built."""
    with pytest.raises(Exception, match="gradient_clip_algorithm"):
        L.Trainer(gradient_clip_algorithm="agc", gradient_clip_val=0.01, logger=False)


def test_mixin_takes_the_trainers_value_with_its_own_algorithm(references: Any) -> None:
    model = _model()
    _fit(AutoMixin(model, "agc", None), "32-true", 1, gradient_clip_val=VALUES["agc"])
    _assert_same(model, references.get(("32-true", 1, "agc"))[0])


def test_mixin_refuses_a_value_contradicting_the_trainers() -> None:
    with pytest.raises(ValueError, match=r"the Trainer passes 1\.0"):
        _fit(AutoMixin(_model(), "norm", 0.5), "32-true", 1, gradient_clip_val=1.0)


def test_mixin_refuses_manual_optimization() -> None:
    class ManualMixin(DispatchClippingMixin, Manual):
        clip_algorithm = "agc"
        clip_value = 0.01

    with pytest.raises(ValueError, match="never calls configure_gradient_clipping"):
        _fit(ManualMixin(_model(), 1), "32-true", 1)


def test_callback_refuses_a_trainer_that_clips_too() -> None:
    with pytest.raises(ValueError, match="clipped twice"):
        callbacks = (GradientClipping("agc", 0.01),)
        _fit(Auto(_model()), "32-true", 1, callbacks=callbacks, gradient_clip_val=1.0)


def test_fused_optimizer_under_a_grad_scaler_is_refused() -> None:
    model = _model()
    model(torch.randn(2, 4)).sum().mul(100).backward()
    opt = torch.optim.Adam(model.parameters(), fused=True)
    trainer = types.SimpleNamespace(
        precision_plugin=types.SimpleNamespace(scaler=torch.amp.GradScaler("cpu"))
    )
    with pytest.raises(RuntimeError, match="Adam unscales the gradients inside its step"):
        GradientClipping("norm", 1.0).on_before_optimizer_step(trainer, model, opt)
    callback = GradientClipping("norm", 1.0)  # no scaler: the gradients are true ones
    callback.on_before_optimizer_step(types.SimpleNamespace(precision_plugin=None), model, opt)
    assert callback.last is not None
    assert (
        float(callback.last.grad_norm_after) <= 1.0 + 1e-6 < float(callback.last.grad_norm_before)
    )


def test_clip_and_step_refuses_the_bare_optimizer_under_a_grad_scaler() -> None:
    """The bare torch optimizer's step would neither unscale nor skip an overflowed step."""
    model = _model()
    model.trainer = types.SimpleNamespace(  # what clip_and_step reads of a LightningModule
        precision_plugin=types.SimpleNamespace(scaler=torch.amp.GradScaler("cpu"))
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="pass the LightningOptimizer"):
        clip_and_step(model, opt, "norm", 1.0)


def test_import_impl_does_not_import_lightning() -> None:
    code = (
        "import sys, impl; print(sorted(m for m in sys.modules if m == 'impl.lightning' "
        "or m.split('.')[0] in ('lightning', 'pytorch_lightning', 'lightning_fabric')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
