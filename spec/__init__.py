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

from spec.architectures import (
    ENTRY_POINT_GROUP,
    declare_architecture,
    known_architectures,
    withdraw_architecture,
)
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
    DataConfig,
    ModelConfig,
    StudyConfig,
    TFTrainingConfig,
    TorchTrainingConfig,
)
from spec.io import ConfigFileError, load_config, save_config
from spec.reference import agc_reference
from spec.version import SPEC_VERSION
from spec.vocabulary import (
    BUILTIN_ARCHITECTURES,
    CLIP_ALGORITHMS,
    GRADIENT_DTYPES,
    LOSS_FUNCTIONS,
    OBJECT_KINDS,
    OPTIMIZER_NAMES,
    PROBE_KINDS,
    STABLE_INITS,
    BuiltinArchitecture,
    ClipAlgorithm,
    GradientDtype,
    LossFunction,
    ObjectKind,
    OptimizerName,
    ProbeKind,
    StableInit,
)

__all__ = [
    "BUILTIN_ARCHITECTURES",
    "CLAUSES",
    "CLIP_ALGORITHMS",
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "FIELD_TABLE",
    "GRADIENT_DTYPES",
    "LOSS_FUNCTIONS",
    "OBJECT_KINDS",
    "OPTIMIZER_NAMES",
    "PROBE_KINDS",
    "SPEC_VERSION",
    "STABLE_INITS",
    "BridgeError",
    "BuiltinArchitecture",
    "Clause",
    "ClipAlgorithm",
    "ConfigFileError",
    "DataConfig",
    "FieldMap",
    "GradientDtype",
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
    "declare_architecture",
    "known_architectures",
    "load_config",
    "save_config",
    "to_tf",
    "to_torch",
    "unmapped_fields",
    "withdraw_architecture",
]
