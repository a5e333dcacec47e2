"""The clipping dispatch inside PyTorch Lightning: 'norm', 'value' and 'agc', after the AMP unscale.

>>> from impl.lightning import GradientClipping
>>> GradientClipping("agc", 0.01)
GradientClipping(algorithm='agc', value=0.01)
>>> GradientClipping("bogus", 1.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: algorithm 'bogus' is not a gradient clipping algorithm: allowed are 'norm', ...

Four ways to clip with :func:`impl.clipping.clip_gradients_` in a Lightning run, each
clipping the gradients the optimizer steps, *after* the AMP GradScaler unscaled them
(TRN-001), once per optimizer step (TRN-002), with the unit axes the model declares
(:func:`impl.agc.agc_unit_dims`) when the algorithm is 'agc':

- :class:`GradientClipping`, a ``Callback``: clips in ``on_before_optimizer_step``, which
  Lightning calls after its unscale under automatic *and* manual optimization. Add it to
  any Trainer: ``Trainer(callbacks=[GradientClipping("agc", 0.01)])``.
- :class:`DispatchClippingMixin` (or the function :func:`configure_gradient_clipping`): a
  ``LightningModule.configure_gradient_clipping`` that accepts 'agc', held on the module
  (``clip_algorithm``, ``clip_value``), since ``Trainer(gradient_clip_algorithm="agc")``
  is refused when the Trainer is built. Automatic optimization only: Lightning never calls
  this hook under manual optimization (the mixin then refuses to start).
- :func:`clip_and_step`: for ``training_step`` under manual optimization, in place of
  ``opt.step()``. Lightning unscales inside ``opt.step()`` (unscaling in ``training_step``
  first makes that step raise ``unscale_() has already been called``), so the clip is a
  one-shot step pre-hook on the optimizer: it runs after the unscale, right before the
  update, and not at all when the GradScaler skips an overflowed step.
- :class:`TrainingModule`: plan task 1.3's module done right: manual optimization,
  ``config.accumulate_grad_batches`` micro-batches per step, the dispatch through
  :func:`clip_and_step`. Built as ``TrainingModule(model, loss_fn, config)``.

The plan's task 1.3 as written (clip in ``training_step`` right after ``manual_backward``)
clips the gradients while they are still multiplied by the GradScaler's scale under
``16-mixed`` (Lightning issue 18089): see ``docs/how-to/lightning.md`` for the figures.

This module imports ``lightning`` when it is installed (the optional extra
``fno-stability[lightning]``) and ``import impl`` never imports it. Without lightning the
module still imports (its examples and types stay readable), :class:`GradientClipping`
can be built and called, but nothing can be trained: :class:`TrainingModule` raises
``ImportError`` naming the extra.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from impl.agc import UnitDim, agc_unit_dims
from impl.clipping import ClipResult, clip_gradients_
from spec.config import TorchTrainingConfig

if TYPE_CHECKING:
    from lightning.pytorch import Callback, LightningModule, Trainer
else:
    try:
        from lightning.pytorch import Callback, LightningModule, Trainer
    except ModuleNotFoundError:  # the optional extra is not installed: see the module docstring
        Callback = LightningModule = Trainer = object

__all__ = [
    "DispatchClippingMixin",
    "GradientClipping",
    "TrainingModule",
    "clip_and_step",
    "clip_for_step",
    "configure_gradient_clipping",
]

_EXTRA = "pip install 'fno-stability[lightning]' (or pip install lightning)"


def _require_lightning(what: str) -> None:
    if importlib.util.find_spec("lightning") is None:
        raise ImportError(f"{what} needs PyTorch Lightning, which is not installed: {_EXTRA}")


def _checked(algorithm: str | None, value: float | None) -> tuple[str, float | None]:
    """``algorithm`` and ``value`` validated as the dispatch validates them (no gradients:
    nothing is clipped)."""
    clip_gradients_([], algorithm, value)  # raises on bad input, names what is allowed
    return ("norm" if algorithm is None else algorithm), (None if value is None else float(value))


def _trainer_of(module: object) -> Any:
    """The Trainer ``module`` is attached to, or None."""
    try:
        return getattr(module, "trainer", None)
    except RuntimeError:  # a LightningModule not attached to a Trainer
        return None


def _raw(optimizer: Any) -> torch.optim.Optimizer:
    """The torch optimizer behind a ``LightningOptimizer`` (or the optimizer itself)."""
    raw = getattr(optimizer, "optimizer", optimizer)
    if not isinstance(raw, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch optimizer, got {type(optimizer).__name__}")
    return raw


def _scaler(trainer: Any) -> Any:
    """The AMP GradScaler of the trainer's precision plugin, or None (32-true, bf16-mixed)."""
    plugin = getattr(trainer, "precision_plugin", None)
    return getattr(plugin, "scaler", None)


def _check_unscaled(trainer: Any, optimizer: torch.optim.Optimizer) -> None:
    """A 'fused' optimizer unscales inside its own step: before it, gradients are scaled."""
    if _scaler(trainer) is not None and getattr(optimizer, "_step_supports_amp_scaling", False):
        raise RuntimeError(
            f"{type(optimizer).__qualname__} unscales the gradients inside its step (a fused "
            "optimizer): they are still scaled when they would be clipped; use a non-fused "
            "optimizer (fused=False) or a precision without a GradScaler"
        )


def clip_for_step(
    module: nn.Module,
    optimizer: Any,
    algorithm: str | None,
    value: float | None,
    *,
    unit_dim: UnitDim = None,
    eps: float = 1e-3,
) -> ClipResult:
    """Clip the gradients ``optimizer`` steps, now, with the dispatch (no unscale here).

    >>> import torch
    >>> model = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> model(torch.ones(1, 2)).sum().mul(100).backward()
    >>> out = clip_for_step(model, opt, "norm", 1.0)
    >>> round(float(out.grad_norm_after), 4)
    1.0

    The building block of the hooks below: call it where the gradients are already
    unscaled. With 'agc' and ``unit_dim=None`` the unit axes are those ``module``
    declares (:func:`impl.agc.agc_unit_dims`), as :func:`impl.training_step` takes
    them; a ``unit_dim`` given replaces them.
    """
    params = [p for group in _raw(optimizer).param_groups for p in group["params"]]
    dims = unit_dim
    if dims is None and algorithm == "agc":
        dims = agc_unit_dims(module)
    return clip_gradients_(params, algorithm, value, unit_dim=dims, eps=eps)


class GradientClipping(Callback):
    """A Callback clipping with the dispatch in ``on_before_optimizer_step``.

    >>> cb = GradientClipping("value", 0.5)
    >>> cb.algorithm, cb.value, cb.last is None
    ('value', 0.5, True)

    Lightning calls ``on_before_optimizer_step`` once per optimizer step (after the last
    micro-batch under ``Trainer(accumulate_grad_batches=k)``), after its precision plugin
    unscaled the gradients, in automatic and in manual optimization; so the clip sees the
    accumulated, true gradients. ``last`` holds the :class:`impl.clipping.ClipResult` of the
    latest step (0-dim tensors, no host sync). Do not also set ``Trainer(gradient_clip_val)``:
    the gradients would be clipped twice (refused in ``setup``).

    Args:
        algorithm: 'norm', 'value' or 'agc' (None: 'norm').
        value: max norm, max magnitude or AGC clip factor; None or <= 0: no clipping.
        unit_dim: AGC unit axes replacing the module's declared ones (None: declared).
        eps: AGC's floor on the weight-unit norms.
    """

    def __init__(
        self,
        algorithm: str | None = "norm",
        value: float | None = None,
        *,
        unit_dim: UnitDim = None,
        eps: float = 1e-3,
    ) -> None:
        super().__init__()
        self.algorithm, self.value = _checked(algorithm, value)
        self.unit_dim = unit_dim
        self.eps = eps
        self.last: ClipResult | None = None

    @classmethod
    def from_config(cls, config: TorchTrainingConfig, **kwargs: Any) -> GradientClipping:
        """The callback a ``spec.TorchTrainingConfig`` asks for (algorithm and value).

        >>> import spec
        >>> GradientClipping.from_config(spec.TorchTrainingConfig(gradient_clip_val=1.0))
        GradientClipping(algorithm='norm', value=1.0)
        """
        if not isinstance(config, TorchTrainingConfig):
            raise TypeError(
                f"config must be a spec.TorchTrainingConfig, got {type(config).__name__}"
            )
        return cls(config.gradient_clip_algorithm, config.gradient_clip_val, **kwargs)

    def __repr__(self) -> str:
        return f"GradientClipping(algorithm={self.algorithm!r}, value={self.value!r})"

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Refuse a Trainer that clips too (``gradient_clip_val`` > 0)."""
        own = getattr(trainer, "gradient_clip_val", None)
        if own is not None and own > 0:
            raise ValueError(
                f"Trainer(gradient_clip_val={own!r}) clips too: the gradients would be clipped "
                f"twice; drop it, or drop {self!r}"
            )

    def on_before_optimizer_step(
        self, trainer: Trainer, pl_module: LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        """Clip the optimizer's (already unscaled) gradients."""
        raw = _raw(optimizer)
        _check_unscaled(trainer, raw)
        self.last = clip_for_step(
            pl_module, raw, self.algorithm, self.value, unit_dim=self.unit_dim, eps=self.eps
        )


def _agreed(name: str, held: Any, trainer_given: Any) -> Any:
    if held is None:
        return trainer_given
    if trainer_given is not None and trainer_given != held:
        raise ValueError(
            f"the module holds {name}={held!r} but the Trainer passes {trainer_given!r}: set it "
            "in one place, or the same in both"
        )
    return held


def configure_gradient_clipping(
    module: nn.Module,
    optimizer: Any,
    gradient_clip_val: float | None = None,
    gradient_clip_algorithm: Any = None,
    *,
    algorithm: str | None = None,
    value: float | None = None,
    unit_dim: UnitDim = None,
    eps: float = 1e-3,
) -> ClipResult:
    """The body of a ``LightningModule.configure_gradient_clipping`` that accepts 'agc'.

    >>> import torch
    >>> model = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> model(torch.ones(1, 2)).sum().backward()
    >>> out = configure_gradient_clipping(model, opt, None, None, algorithm="agc", value=1e-3)
    >>> out.units_clipped
    tensor(2)

    ``gradient_clip_val`` and ``gradient_clip_algorithm`` are what Lightning passes (the
    Trainer's settings; the algorithm may be Lightning's enum); ``algorithm`` and
    ``value`` are what the module holds ('agc' can only be held: the Trainer refuses
    it). Each setting is taken from the module when it holds one, else from the Trainer;
    both set and different raises ``ValueError``. No algorithm anywhere means 'norm'.
    Lightning calls the hook after unscaling, under automatic optimization only.
    """
    given_algorithm = getattr(gradient_clip_algorithm, "value", gradient_clip_algorithm)
    algo = _agreed("gradient_clip_algorithm", algorithm, given_algorithm)
    val = _agreed("gradient_clip_val", value, gradient_clip_val)
    raw = _raw(optimizer)
    _check_unscaled(_trainer_of(module), raw)
    return clip_for_step(module, raw, algo, val, unit_dim=unit_dim, eps=eps)


class DispatchClippingMixin:
    """``configure_gradient_clipping`` with the dispatch, for automatic optimization.

    >>> DispatchClippingMixin.clip_algorithm, DispatchClippingMixin.clip_value
    (None, None)

    Put it before ``LightningModule`` in the bases and set ``clip_algorithm`` /
    ``clip_value`` on the module (class or instance), or set the value on the Trainer::

        class Model(DispatchClippingMixin, lightning.LightningModule):
            clip_algorithm = "agc"
            clip_value = 0.01

    ``last_clip`` holds the latest :class:`impl.clipping.ClipResult`. Under manual
    optimization Lightning never calls ``configure_gradient_clipping``: the mixin refuses
    to start then (``on_fit_start``) instead of silently not clipping; use
    :func:`clip_and_step` or :class:`GradientClipping` there.
    """

    clip_algorithm: str | None = None
    clip_value: float | None = None
    clip_unit_dim: UnitDim = None
    last_clip: ClipResult | None = None

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clip with the dispatch; see :func:`configure_gradient_clipping`."""
        assert isinstance(self, nn.Module)  # a LightningModule
        self.last_clip = configure_gradient_clipping(
            self,
            optimizer,
            gradient_clip_val,
            gradient_clip_algorithm,
            algorithm=self.clip_algorithm,
            value=self.clip_value,
            unit_dim=self.clip_unit_dim,
        )

    def on_fit_start(self) -> None:
        """Refuse manual optimization, where ``configure_gradient_clipping`` is never called."""
        if not getattr(self, "automatic_optimization", True) and self.clip_value:
            raise ValueError(
                f"{type(self).__name__} uses manual optimization, where Lightning never calls "
                f"configure_gradient_clipping: clip_algorithm={self.clip_algorithm!r}, "
                f"clip_value={self.clip_value!r} would not clip; call clip_and_step(...) in "
                "training_step or add the GradientClipping callback"
            )
        parent = getattr(super(), "on_fit_start", None)
        if parent is not None:
            parent()


def clip_and_step(
    module: nn.Module,
    optimizer: Any,
    algorithm: str | None,
    value: float | None,
    *,
    unit_dim: UnitDim = None,
    eps: float = 1e-3,
) -> ClipResult | None:
    """``opt.step()`` for manual optimization, clipping the *unscaled* gradients first.

    >>> import torch
    >>> model = torch.nn.Linear(2, 1)                      # outside a Trainer: no scaler
    >>> opt = torch.optim.SGD(model.parameters(), lr=1.0)
    >>> model(torch.ones(1, 2)).sum().mul(100).backward()
    >>> before = model.weight.detach().clone()
    >>> out = clip_and_step(model, opt, "norm", 1.0)
    >>> moved = (model.weight.detach() - before).norm()
    >>> round(float(out.grad_norm_after), 4), round(float(moved), 4)
    (1.0, 0.8165)

    Call it in ``training_step`` where ``opt.step()`` would be (``opt = self.optimizers()``,
    the ``LightningOptimizer``; the bare torch optimizer is refused under a GradScaler).
    Under ``manual_backward`` with a GradScaler (16-mixed) the gradients are still scaled
    until Lightning unscales them inside ``opt.step()``, and unscaling them before that
    call makes it raise (``unscale_() has already been called on this optimizer``). So the
    clip is a one-shot step pre-hook on the optimizer: ``opt.step()`` runs, Lightning
    unscales, the GradScaler checks for inf/NaN, and the hook clips right before the
    update. Returns the :class:`impl.clipping.ClipResult`, or None when the GradScaler
    skipped an overflowed step (nothing stepped, nothing clipped). Without a GradScaler
    (32-true, bf16-mixed) the hook runs at the start of the optimizer's step, before
    Lightning's ``on_before_optimizer_step`` hooks. Pass no closure-needing optimizer
    (LBFGS): the clip would come before the closure's backward.
    """
    raw = _raw(optimizer)
    trainer = _trainer_of(module)
    _check_unscaled(trainer, raw)
    if raw is optimizer and _scaler(trainer) is not None:
        raise TypeError(
            f"optimizer is the bare {type(raw).__name__}: its step neither unscales the "
            "gradients nor skips an overflowed step; pass the LightningOptimizer that "
            "self.optimizers() returns"
        )
    _checked(algorithm, value)
    results: list[ClipResult] = []

    def hook(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        results.append(clip_for_step(module, opt, algorithm, value, unit_dim=unit_dim, eps=eps))

    handle = raw.register_step_pre_hook(hook)
    try:
        optimizer.step()
    finally:
        handle.remove()
    return results[-1] if results else None


_OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}

LossFn = Callable[[nn.Module, Any], Tensor]
"""``loss_fn(model, batch) -> scalar loss`` (the mean over the batch)."""


class TrainingModule(LightningModule):
    """Plan task 1.3's module, right: manual optimization, accumulation, the dispatch.

    >>> import spec, torch
    >>> TrainingModule(torch.nn.Linear(2, 1), "mse", spec.TorchTrainingConfig())
    Traceback (most recent call last):
    ...
    TypeError: loss_fn must be callable as loss_fn(model, batch), got 'mse'

    ``TrainingModule(model, loss_fn, config)``: each ``training_step`` backpropagates
    ``loss_fn(model, batch) / k`` with ``manual_backward`` (``k =
    config.accumulate_grad_batches``); after the k-th micro-batch (or the epoch's last)
    :func:`clip_and_step` clips the unscaled, accumulated gradients as the config says
    (with ``model``'s declared AGC unit axes) and steps, then the gradients are cleared.
    So each step is :func:`impl.training_step`'s on the same micro-batches.
    ``configure_optimizers`` builds the optimizer ``config.optimizer`` names ('adam',
    'adamw', 'sgd') at ``config.learning_rate``. ``last_clip`` holds the latest
    :class:`impl.clipping.ClipResult`; ``training_step`` returns the detached loss.
    Lightning refuses ``Trainer(accumulate_grad_batches>1)`` and
    ``Trainer(gradient_clip_val)`` under manual optimization: the config carries both.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        config: TorchTrainingConfig,
        *,
        unit_dim: UnitDim = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable as loss_fn(model, batch), got {loss_fn!r}")
        if not isinstance(config, TorchTrainingConfig):
            raise TypeError(
                f"config must be a spec.TorchTrainingConfig, got {type(config).__name__}"
            )
        _require_lightning("TrainingModule")
        super().__init__()
        self.automatic_optimization = False
        self.model = model
        self.loss_fn = loss_fn
        self.training_config = config
        self.unit_dim = unit_dim
        self.last_clip: ClipResult | None = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped model's forward."""
        return self.model(*args, **kwargs)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """One micro-batch; the optimizer steps after every ``k``-th (and the epoch's last)."""
        k = self.training_config.accumulate_grad_batches
        loss = self.loss_fn(self.model, batch)
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            raise ValueError(f"loss_fn must return a scalar tensor, got {loss!r}")
        self.manual_backward(loss / k)
        if (batch_idx + 1) % k == 0 or self.trainer.is_last_batch:
            opt = self.optimizers()
            assert not isinstance(opt, list), "configure_optimizers returns one optimizer"
            self.last_clip = clip_and_step(
                self,
                opt,
                self.training_config.gradient_clip_algorithm,
                self.training_config.gradient_clip_val,
                unit_dim=self.unit_dim,
            )
            opt.zero_grad(set_to_none=True)
        return loss.detach()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """The optimizer the config names, at its learning rate."""
        make = _OPTIMIZERS[self.training_config.optimizer]
        return make(self.model.parameters(), lr=self.training_config.learning_rate)
