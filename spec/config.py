"""The training and model configuration contract, as Pydantic v2 models.

>>> from spec import TorchTrainingConfig
>>> cfg = TorchTrainingConfig(gradient_clip_val=0.01, gradient_clip_algorithm="agc")
>>> cfg.gradient_clip_algorithm, cfg.clipping_enabled
('agc', True)

Two families describe the same training run: the TF side (epoch count
``nepochs``) and the Torch side (epoch count ``epochs``). Both are pinned
here; :mod:`spec.bridge` converts between them. Every model is strict: unknown
keys, wrong types, and out-of-range values are rejected when the object is
built, with an error that names the field, the bad value and what is allowed.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spec.architectures import known_architectures
from spec.vocabulary import (
    ClipAlgorithm,
    LossFunction,
    ObjectKind,
    OptimizerName,
    ProbeKind,
    StableInit,
)

__all__ = [
    "DataConfig",
    "ModelConfig",
    "StudyConfig",
    "TFTrainingConfig",
    "TorchTrainingConfig",
]

ClipValue = Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None
PositiveFinite = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegativeFinite = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(ge=1)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class _Strict(BaseModel):
    """Base of every contract model: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        validate_default=True,
        use_attribute_docstrings=True,
    )


class _TrainingCommon(_Strict):
    gradient_clip_val: ClipValue = None
    """Clip threshold. None or 0 disables clipping; with 'agc' it is the clip factor λ."""
    gradient_clip_algorithm: ClipAlgorithm = "norm"
    """Which clipping method the training step dispatches to."""
    batch_size: PositiveInt = 16
    """Samples per optimiser micro-batch."""
    learning_rate: PositiveFinite = 1e-3
    """Optimiser learning rate."""
    optimizer: OptimizerName = "adam"
    """Optimiser name."""
    seed: Seed = 42
    """Seed for data generation, initialisation and shuffling."""
    nphotons: PositiveFinite = 1e9
    """Expected photon count per diffraction pattern (sets the Poisson noise level)."""

    @property
    def clipping_enabled(self) -> bool:
        """True when the training step clips (value set and > 0)."""
        return self.gradient_clip_val is not None and self.gradient_clip_val > 0.0


class TFTrainingConfig(_TrainingCommon):
    """The TF-side training config (``ptycho/config/config.py`` upstream).

    >>> TFTrainingConfig(nepochs=10).nepochs
    10
    """

    nepochs: PositiveInt = 50
    """Number of training epochs (called ``epochs`` on the Torch side)."""
    nll_weight: NonNegativeFinite = 1.0
    """Weight of the Poisson negative log-likelihood term (TF side only)."""
    mae_weight: NonNegativeFinite = 0.0
    """Weight of the amplitude MAE term (TF side only)."""

    @model_validator(mode="after")
    def _some_loss(self) -> TFTrainingConfig:
        if self.nll_weight == 0.0 and self.mae_weight == 0.0:
            raise ValueError(
                "nll_weight and mae_weight are both 0: at least one loss weight must be > 0"
            )
        return self


class TorchTrainingConfig(_TrainingCommon):
    """The Torch-side training config (``ptycho_torch/config_params.py`` upstream).

    >>> TorchTrainingConfig(epochs=10, gradient_clip_val=1.0).clipping_enabled
    True
    """

    epochs: PositiveInt = 50
    """Number of training epochs (called ``nepochs`` on the TF side)."""
    accumulate_grad_batches: PositiveInt = 1
    """Micro-batches whose gradients are summed before one optimiser step (Torch side only)."""
    loss_function: LossFunction = "poisson"
    """Training loss: Poisson NLL of the predicted diffraction, or amplitude MAE (Torch only)."""


class ModelConfig(_Strict):
    """Generator settings.

    >>> ModelConfig(architecture="stable_hybrid", fno_blocks=3).fno_blocks
    3
    """

    architecture: str = "hybrid"
    """Generator registry name ('hybrid', 'stable_hybrid', or a registered plugin)."""
    N: PositiveInt = 64
    """Patch size in pixels (input and output are N x N)."""
    gridsize: PositiveInt = 2
    """Patches per side of a solution region; the generator sees C = gridsize² channels."""
    fno_width: PositiveInt = 32
    """Hidden width of the first encoder level (channels double at each level below it)."""
    fno_blocks: PositiveInt = 4
    """Number of spectral blocks in the encoder."""
    fno_modes: PositiveInt = 12
    """Fourier modes kept per spatial axis in the first encoder level."""
    max_hidden_channels: PositiveInt | None = None
    """Optional cap on the encoder's channel doubling (None: no cap)."""
    stable_init: StableInit = "zero_gamma"
    """Init of StablePtychoBlock: 'zero_gamma' (plan) or 'layerscale' (upstream's later form)."""
    layerscale_init: PositiveFinite = 1e-3
    """Starting value of the per-channel LayerScale gate (used by stable_init='layerscale')."""

    @field_validator("architecture")
    @classmethod
    def _known(cls, value: str) -> str:
        names = known_architectures()
        if value not in names:
            import difflib

            close = difflib.get_close_matches(value, sorted(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown architecture {value!r}: allowed are {sorted(names)}{hint}")
        return value

    @model_validator(mode="after")
    def _cap_not_below_width(self) -> ModelConfig:
        cap = self.max_hidden_channels
        if cap is not None and cap < self.fno_width:
            raise ValueError(
                f"max_hidden_channels={cap} is below fno_width={self.fno_width}: "
                "the cap must be >= the first level's width (or None for no cap)"
            )
        return self

    @property
    def C(self) -> int:
        """Input channels of the generator: gridsize²."""
        return self.gridsize**2


class DataConfig(_Strict):
    """The synthetic task of a study run: objects, scan, probe (patch size ``N`` is in ModelConfig).

    >>> DataConfig(set_phi=True).n_train_objects
    2
    """

    objects: ObjectKind = "lines"
    """Object family ('lines' or 'upstream_lines'; see ObjectKind)."""
    object_size: PositiveInt = 128
    """Side of each object in pixels; patches are cut from it on a regular scan grid."""
    n_train_objects: PositiveInt = 2
    """Objects the training patterns are cut from."""
    n_test_objects: PositiveInt = 1
    """Held-out objects: validation loss and the stitched reconstruction metrics."""
    scan_stride: PositiveInt = 4
    """Pixels between neighbouring scan positions (at most N // 2, so stitched windows cover)."""
    set_phi: bool = False
    """Give the objects a phase: a tanh function of the amplitude, within +-0.8 pi."""
    probe: ProbeKind = "diffuser"
    """Built-in probe (ignored when probe_file is set)."""
    probe_file: str | None = None
    """A .npy or .npz file holding the complex (N, N) probe (a measured one); overrides probe."""
    probe_phase_std: NonNegativeFinite = 3.141592653589793
    """Standard deviation of the diffuser's phase screen, in radians."""
    probe_correlation: PositiveFinite = 1.5
    """Correlation length (Gaussian sigma) of the diffuser's phase screen, in pixels."""
    probe_seed: Seed = 0
    """Seed of the diffuser's phase screen (fixed: the probe does not change with the run seed)."""


class StudyConfig(_Strict):
    """One training run as the study runner resolves it: model, Torch-side training, data.

    This is what :func:`spec.load_config` reads by default.

    >>> StudyConfig().model.architecture
    'hybrid'
    """

    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TorchTrainingConfig = Field(default_factory=TorchTrainingConfig)
    data: DataConfig = Field(default_factory=DataConfig)

    @property
    def group_spacing(self) -> int:
        """Offset in pixels between neighbouring patches of one gridsize x gridsize group."""
        return max(1, self.model.N // 4)

    @property
    def group_extent(self) -> int:
        """Side in pixels of the region one group of patches covers."""
        return self.model.N + (self.model.gridsize - 1) * self.group_spacing

    @model_validator(mode="after")
    def _scan_fits(self) -> StudyConfig:
        extent, size = self.group_extent, self.data.object_size
        if extent > size:
            raise ValueError(
                f"data.object_size={size} is smaller than one scan group: model.N + "
                f"(model.gridsize - 1) * (N // 4) = {extent}; use object_size >= {extent}"
            )
        stride, window = self.data.scan_stride, max(1, self.model.N // 2)
        if stride > window:
            raise ValueError(
                f"data.scan_stride={stride} is above model.N // 2 = {window}: the central "
                "windows of the test patches would not cover the stitched object; use "
                f"scan_stride <= {window}"
            )
        return self
