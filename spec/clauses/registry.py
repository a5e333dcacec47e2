"""REG clauses: the generator registry and its plugins (plan task 2.3)."""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_23 = "implementation-plan.md, Task 2.3"
_ISSUE = "issue 4"

CLAUSES: tuple[Clause, ...] = (
    Clause(
        id="REG-001",
        level="MUST",
        tier="plan",
        why=("Task 2.3."),
        title="built-in names resolve",
        text=(
            "The registry resolves 'hybrid' and 'stable_hybrid' to two distinct generator "
            "classes, each built as "
            "Generator(in_channels, out_channels, hidden_channels, n_blocks, modes, C)."
        ),
        source=_PLAN_23,
    ),
    Clause(
        id="REG-002",
        level="MUST",
        tier="plan",
        why=("Task 2.3."),
        title="stable_hybrid resolves to stable blocks",
        text=(
            "The class resolved for 'stable_hybrid' relates to the one resolved for 'hybrid' as "
            "BLK-013 requires: the same generator with a normalised stable block at every "
            "spectral position."
        ),
        source=_PLAN_23 + " (test_stable_hybrid_resolves)",
    ),
    Clause(
        id="REG-003",
        level="MUST",
        tier="plan",
        why=("A misspelt architecture must not silently build another one."),
        title="unknown name refused",
        text=(
            "Resolving a name the registry does not know raises an error; it returns nothing, "
            "and no default class."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="REG-004",
        level="MUST",
        tier="strict",
        why=("The plan's registry is a dict; registration with this check is this project's API."),
        title="taken name rejected",
        text=(
            "Registering a name that is already taken (built in, registered, or declared by a "
            "plugin) raises ValueError naming it and leaves the existing entry in place."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="REG-005",
        level="MUST",
        tier="strict",
        why=("The plan's model config takes the architecture as a plain string."),
        title="config names are registry names",
        text=(
            "ModelConfig.architecture accepts exactly the names the registry resolves, names "
            "registered at run time and declared by plugins included."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="REG-006",
        level="MUST",
        tier="strict",
        why=("Plugins are this project's extension."),
        title="broken plugin isolated",
        text=(
            "A plugin whose entry point fails to import or is not a generator class raises, when "
            "resolved, an error naming the plugin and its entry point, and every other name "
            "still resolves."
        ),
        source=_ISSUE + " (entry-point group fno_stability.generators)",
    ),
    Clause(
        id="REG-007",
        level="SHOULD",
        tier="strict",
        why=("Plugins are this project's extension."),
        title="plugins loaded lazily",
        text=(
            "Listing the available names or validating a config imports no plugin; a plugin is "
            "imported when its name is first resolved."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="REG-008",
        level="MUST",
        tier="plan",
        why=("Building from the config is how the study gets its model."),
        title="build_generator maps the config",
        text=(
            "build_generator(model_config) builds the resolved class with hidden_channels = "
            "fno_width, n_blocks = fno_blocks, modes = fno_modes, C = gridsize² and, where the "
            "class takes it, input size N x N."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="REG-009",
        level="MUST",
        tier="strict",
        why="The exception class and its message are this project's API.",
        title="unknown name: LookupError listing the names",
        text=(
            "The error for an unknown name is a LookupError (KeyError included) whose message lists"
            " every available name and the closest match."
        ),
        source="issue 11 (exception class and message of REG-003)",
    ),
    Clause(
        id="REG-010",
        level="MUST",
        tier="strict",
        why="The plan's model config has neither field: both are this project's extensions.",
        title="build_generator maps the channel cap and the stable init",
        text=(
            "build_generator(model_config) also passes the config's max_hidden_channels and "
            "stable-block init (stable_init, layerscale_init) to a class that takes them."
        ),
        source="issue 11 (extended fields of REG-008)",
    ),
)
