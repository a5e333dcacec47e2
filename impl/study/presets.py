"""Named starting configs of the study: ``default`` (CPU, minutes) and ``upstream`` (GPU, hours).

>>> from impl.study.presets import PRESETS
>>> sorted(PRESETS)
['default', 'upstream']
>>> up = PRESETS["upstream"]
>>> up.model.N, up.model.fno_blocks, up.model.gridsize, up.training.epochs
(64, 4, 1, 50)

``default`` is sized so that the three Stage A arms, one seed each, finish in under
ten minutes on a 2-core CPU with the control arm's stitched amplitude SSIM >= 0.9
(README, "Stage A study"): N = 32, gridsize 1, width 8, 3 blocks, 8 modes (~151 k
parameters); two 128-px training objects scanned at stride 4 (1,250 patterns), one
test object; batch 16, 25 epochs (1,950 steps), Adam at 3e-3, amplitude MAE loss,
1e9 photons, the diffuser probe. ``upstream`` is upstream's Stage A: N = 64, 4
blocks, width 32, 12 modes, gridsize 1, 50 epochs, amplitude MAE, two 392-px
training objects (13,778 patterns at stride 4, ~43,000 steps) and two test
objects of upstream's grid-lines recipe, batch 16, Adam 1e-3, 1e9 photons; the
diffuser stands in for upstream's measured probe (give yours with ``--probe-file``).
Flags and ``--config`` files override a preset field by field.
"""

from __future__ import annotations

import spec

__all__ = ["DEFAULT", "PRESETS", "UPSTREAM"]

DEFAULT = spec.StudyConfig(
    model=spec.ModelConfig(N=32, gridsize=1, fno_width=8, fno_blocks=3, fno_modes=8),
    training=spec.TorchTrainingConfig(
        epochs=25,
        batch_size=16,
        learning_rate=3e-3,
        gradient_clip_val=1.0,
        loss_function="mae",
        nphotons=1e9,
    ),
    data=spec.DataConfig(object_size=128, n_train_objects=2, n_test_objects=1, scan_stride=4),
)

UPSTREAM = spec.StudyConfig(
    model=spec.ModelConfig(N=64, gridsize=1, fno_width=32, fno_blocks=4, fno_modes=12),
    training=spec.TorchTrainingConfig(
        epochs=50,
        batch_size=16,
        learning_rate=1e-3,
        gradient_clip_val=1.0,
        loss_function="mae",
        nphotons=1e9,
    ),
    data=spec.DataConfig(
        objects="upstream_lines",
        object_size=392,
        n_train_objects=2,
        n_test_objects=2,
        scan_stride=4,
    ),
)

PRESETS: dict[str, spec.StudyConfig] = {"default": DEFAULT, "upstream": UPSTREAM}
"""Preset name -> the StudyConfig a run starts from (``--preset``)."""
