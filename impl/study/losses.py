"""Physics-informed losses: the forward model (overlap constraint included) applied to a prediction.

>>> import spec
>>> from impl.study.data import make_study_data
>>> from impl.study.losses import DiffractionLoss
>>> cfg = spec.StudyConfig(model=spec.ModelConfig(N=16, gridsize=2),
...                        data=spec.DataConfig(object_size=32, scan_stride=8))
>>> data = make_study_data(cfg)
>>> loss = DiffractionLoss(data.probe, data.grid, kind="poisson")
>>> truth = data.test_patches()
>>> inputs = data.test.inputs
>>> bool(loss.value_patches(truth, inputs) < 0.01 < loss.value_patches(truth * 0.5, inputs))
True

A prediction (B, H, W, C, 2) becomes complex patches (B, C, N, N); with C > 1
they are merged over the region they share (:func:`impl.study.scan.merge_groups`,
the overlap constraint); each is multiplied by the probe and propagated to a
predicted intensity ``I``; the measurement enters as ``y = inputs²``.
``'poisson'`` is the Poisson negative log-likelihood of the counts written as the
deviance (0 at a perfect fit, same gradient) over ``mean(y)``:
``mean(I - y - y log(I / y)) / mean(y)``; ``'mae'`` is the diffraction-amplitude
MAE ``mean(|sqrt(I) - sqrt(y)|) / mean(sqrt(y))`` (upstream's Stage A loss).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from impl.study.fourier import diffraction_intensity
from impl.study.scan import ScanGrid, merge_groups
from spec.vocabulary import LOSS_FUNCTIONS, LossFunction

__all__ = ["DiffractionLoss", "Share", "as_complex_patches"]

_TINY = 1e-12


def as_complex_patches(prediction: Tensor) -> Tensor:
    """(B, H, W, C, 2) real/imag -> (B, C, H, W) complex.

    >>> import torch
    >>> as_complex_patches(torch.ones(1, 2, 2, 3, 2)).shape
    torch.Size([1, 3, 2, 2])
    """
    if prediction.ndim != 5 or prediction.shape[-1] != 2:
        raise ValueError(
            f"prediction must be (B, H, W, C, 2) real/imag; got shape {tuple(prediction.shape)}"
        )
    return torch.view_as_complex(prediction.float().contiguous()).permute(0, 3, 1, 2)


class DiffractionLoss:
    """``loss_fn(model, inputs)`` for :func:`impl.training.training_step`.

    ``inputs`` are measured amplitudes (B, C, N, N); the model sees ``inputs / input_norm``.
    """

    def __init__(
        self,
        probe: Tensor,
        grid: ScanGrid,
        kind: LossFunction = "poisson",
        *,
        input_norm: float = 1.0,
    ) -> None:
        if kind not in LOSS_FUNCTIONS:
            raise ValueError(f"loss kind {kind!r}: allowed are {list(LOSS_FUNCTIONS)}")
        if not input_norm > 0:
            raise ValueError(f"input_norm={input_norm!r}: must be > 0")
        self.probe, self.grid, self.kind = probe, grid, kind
        self.input_norm = float(input_norm)

    def patches(self, prediction: Tensor) -> Tensor:
        """The object patches (B, C, N, N) a prediction stands for, overlap constraint applied."""
        return merge_groups(as_complex_patches(prediction), self.grid)

    def scale(self, inputs: Tensor) -> Tensor:
        """The normaliser for measured amplitudes ``inputs``: ``mean(y)`` or ``mean(sqrt y)``."""
        measured_amp = inputs.to(torch.float32)
        measured = measured_amp.square() if self.kind == "poisson" else measured_amp
        return measured.mean().clamp_min(_TINY)

    def value_patches(self, patches: Tensor, inputs: Tensor, scale: Tensor | None = None) -> Tensor:
        """The loss of complex patches (B, C, N, N), overlap constraint applied, on ``inputs``
        (normalised by ``scale``, default :meth:`scale` of ``inputs``)."""
        merged = merge_groups(patches, self.grid)
        probe = self.probe.to(device=merged.device, dtype=merged.dtype)
        intensity = diffraction_intensity(merged * probe).to(torch.float32)
        measured_amp = inputs.to(torch.float32)
        scale = self.scale(inputs) if scale is None else scale
        if self.kind == "poisson":
            measured = measured_amp.square()
            rate = intensity.clamp_min(_TINY)
            # y log y - y log I: xlogy gives 0 where y == 0 (no photon, no log term)
            deviance = (
                rate - measured + torch.xlogy(measured, measured) - torch.xlogy(measured, rate)
            )
            return deviance.mean() / scale
        amplitude = torch.sqrt(intensity + _TINY)
        return (amplitude - measured_amp).abs().mean() / scale

    def value(self, prediction: Tensor, inputs: Tensor, scale: Tensor | None = None) -> Tensor:
        """The loss of a prediction (B, H, W, C, 2) against measured amplitudes (B, C, N, N)."""
        return self.value_patches(as_complex_patches(prediction), inputs, scale)

    def __call__(self, model: nn.Module, inputs: Tensor | Share) -> Tensor:
        if isinstance(inputs, Share):  # a rank's share, normalised as the whole batch
            return self.value(model(inputs.inputs / self.input_norm), inputs.inputs, inputs.scale)
        return self.value(model(inputs / self.input_norm), inputs)


class Share(NamedTuple):
    """One rank's share of a micro-batch under torchrun, with the whole micro-batch's
    normaliser (:meth:`DiffractionLoss.scale`): the mean of the ranks' losses is then the
    loss of the whole micro-batch, and their mean gradient its gradient."""

    inputs: Tensor
    scale: Tensor
