"""spec — the contract of the FNO stability toolkit.

>>> import spec
>>> spec.TorchTrainingConfig(gradient_clip_algorithm="agc").gradient_clip_algorithm
'agc'
>>> spec.clause("CFG-003").level
'MUST'

Pydantic v2 models pin the TF-side and Torch-side training configs, the model
config and the bridge between them; :data:`CLAUSES` holds every normative rule
as data, and :mod:`spec.reference` holds float64 references of numeric rules.
"""

from spec.bridge import (
    FIELD_TABLE,
    BridgeError,
    FieldMap,
    UnmappedFieldWarning,
    to_tf,
    to_torch,
    unmapped_fields,
)
from spec.clauses import CLAUSES, FAMILIES, Clause, clause, clauses_of
from spec.config import (
    BUILTIN_ARCHITECTURES,
    ENTRY_POINT_GROUP,
    ClipAlgorithm,
    DataConfig,
    LossFunction,
    ModelConfig,
    ObjectKind,
    OptimizerName,
    ProbeKind,
    StableInit,
    StudyConfig,
    TFTrainingConfig,
    TorchTrainingConfig,
    known_architectures,
    set_architecture_provider,
)
from spec.io import ConfigFileError, load_config, save_config
from spec.reference import agc_reference
from spec.version import SPEC_VERSION

__all__ = [
    "BUILTIN_ARCHITECTURES",
    "CLAUSES",
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "FIELD_TABLE",
    "SPEC_VERSION",
    "BridgeError",
    "Clause",
    "ClipAlgorithm",
    "ConfigFileError",
    "DataConfig",
    "FieldMap",
    "LossFunction",
    "ModelConfig",
    "ObjectKind",
    "OptimizerName",
    "ProbeKind",
    "StableInit",
    "StudyConfig",
    "TFTrainingConfig",
    "TorchTrainingConfig",
    "UnmappedFieldWarning",
    "agc_reference",
    "clause",
    "clauses_of",
    "known_architectures",
    "load_config",
    "save_config",
    "set_architecture_provider",
    "to_tf",
    "to_torch",
    "unmapped_fields",
]
