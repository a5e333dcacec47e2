"""The Stage A study: an application on top of the library (``import impl`` does not import it).

>>> from impl.study import PRESETS, make_study_data, score
>>> cfg = PRESETS["default"]
>>> cfg.model.N, cfg.data.probe, cfg.training.epochs
(32, 'diffuser', 25)

Modules, one job each: :mod:`~impl.study.objects` (grid-lines objects),
:mod:`~impl.study.probe` (diffuser probe, or one from a file), :mod:`~impl.study.scan`
(positions, overlap constraint, stitching), :mod:`~impl.study.data` (the
diffraction data), :mod:`~impl.study.losses` (the physics-informed loss),
:mod:`~impl.study.metrics` and :mod:`~impl.study.evaluate` (upstream-style scores of
stitched test objects), :mod:`~impl.study.wellposed` (twin-image misfit, direct
retrieval), :mod:`~impl.study.presets`, :mod:`~impl.study.options` (flags),
:mod:`~impl.study.setup` / :mod:`~impl.study.loop` / :mod:`~impl.study.failures` /
:mod:`~impl.study.outputs` / :mod:`~impl.study.run` (one run),
:mod:`~impl.study.rundir` and :mod:`~impl.study.interrupts` (files and signals),
:mod:`~impl.study.shootout`, :mod:`~impl.study.tables`, :mod:`~impl.study.plots`
(matplotlib, imported lazily). ``python -m impl.runner`` and ``python -m impl.compare``
are the commands.
"""

from impl.study.data import PatternSet, StudyData, make_study_data
from impl.study.evaluate import SCORES, score
from impl.study.failures import IdentityPinnedWarning, residual_gain
from impl.study.losses import DiffractionLoss
from impl.study.metrics import frc50, psnr, ssim
from impl.study.objects import grid_lines
from impl.study.options import RunOptions
from impl.study.presets import PRESETS
from impl.study.probe import ProbeError, load_probe, make_probe
from impl.study.run import IllPosedWarning, RunOutcome, run_study
from impl.study.scan import ScanGrid
from impl.study.shootout import DEFAULT_ARMS, Arm, ComparisonResult, arm_config, run_comparison
from impl.study.wellposed import check_wellposedness

__all__ = [
    "DEFAULT_ARMS",
    "PRESETS",
    "SCORES",
    "Arm",
    "ComparisonResult",
    "DiffractionLoss",
    "IdentityPinnedWarning",
    "IllPosedWarning",
    "PatternSet",
    "ProbeError",
    "RunOptions",
    "RunOutcome",
    "ScanGrid",
    "StudyData",
    "arm_config",
    "check_wellposedness",
    "frc50",
    "grid_lines",
    "load_probe",
    "make_probe",
    "make_study_data",
    "psnr",
    "residual_gain",
    "run_comparison",
    "run_study",
    "score",
    "ssim",
]
