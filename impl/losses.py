"""Physics-informed losses of the grid-lines task: the forward model applied to the prediction.

>>> import torch
>>> from impl.losses import DiffractionLoss
>>> from impl.synthetic import make_grid_lines
>>> data = make_grid_lines(2, N=8, gridsize=1, nphotons=1e12, set_phi=False, seed=0)
>>> loss = DiffractionLoss(data.probe, kind="poisson")
>>> truth = loss.value(data.objects, data.inputs)       # the true object explains the data
>>> wrong = loss.value(data.objects * 0.5, data.inputs)  # half the amplitude does not
>>> bool(truth < 1e-4 < wrong)
True

A prediction (B, H, W, C, 2) is turned into a complex patch, multiplied by
the probe and propagated (:func:`impl.synthetic.diffraction_intensity`) to a
predicted intensity ``I``; the measurement enters as ``y = inputs²`` (the
measured counts divided by the data set's scale). ``'poisson'`` is the Poisson
negative log-likelihood of the counts given the rates ``scale * I``, written
as the Poisson deviance (the NLL minus its value at ``I = y``, so 0 for a
perfect fit, same gradient) and divided by ``scale * mean(y)`` so that it is
O(1) whatever the photon count: ``mean(I - y - y * log(I / y)) / mean(y)``.
``'mae'`` is the diffraction-amplitude MAE ``mean(|sqrt(I) - sqrt(y)|) / mean(sqrt(y))``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from impl.synthetic import diffraction_intensity

__all__ = ["DiffractionLoss", "as_complex_patches"]

_KINDS = ("poisson", "mae")
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

    ``inputs`` are the measured amplitudes (B, C, N, N); the model sees
    ``inputs / input_norm``. :meth:`value` scores a prediction directly.
    """

    def __init__(
        self,
        probe: Tensor,
        kind: Literal["poisson", "mae"] = "poisson",
        *,
        input_norm: float = 1.0,
    ) -> None:
        if kind not in _KINDS:
            raise ValueError(f"loss kind {kind!r}: allowed are {list(_KINDS)}")
        if not input_norm > 0:
            raise ValueError(f"input_norm={input_norm!r}: must be > 0")
        self.probe = probe
        self.kind = kind
        self.input_norm = float(input_norm)

    def predicted_intensity(self, prediction: Tensor) -> Tensor:
        """``|FFT(probe * object)|²`` of a (B, H, W, C, 2) prediction, as (B, C, H, W)."""
        probe = self.probe.to(prediction.device)
        return diffraction_intensity(as_complex_patches(prediction) * probe)

    def value(self, prediction: Tensor, inputs: Tensor) -> Tensor:
        """The loss of a prediction (B, H, W, C, 2) against measured amplitudes (B, C, H, W)."""
        intensity = self.predicted_intensity(prediction)
        measured = inputs.float().square()
        if self.kind == "poisson":
            rate = intensity.clamp_min(_TINY)
            # y*log(y) - y*log(I): xlogy gives 0 where y == 0 (no photon, no log term)
            deviance = (
                rate - measured + torch.xlogy(measured, measured) - torch.xlogy(measured, rate)
            )
            return deviance.mean() / measured.mean().clamp_min(_TINY)
        amplitude = torch.sqrt(intensity + _TINY)
        measured_amp = inputs.float()
        return (amplitude - measured_amp).abs().mean() / measured_amp.mean().clamp_min(_TINY)

    def __call__(self, model: nn.Module, inputs: Tensor) -> Tensor:
        return self.value(model(inputs / self.input_norm), inputs)
