"""Run the gradient-clipping conformance properties against the bundled implementation.

Through the harness's runner (:func:`conformance.judge.run_property`, as the CLI and
the pytest plugin do for any target): every property of the AGC and TRN families
(``conformance/properties/agc/`` and ``training/``) becomes one test, with examples from its
strategy under the active Hypothesis profile. Each example's ``repr`` must
rebuild it, since reports print it as the reproduction.
"""

from __future__ import annotations

from typing import Any

import pytest
import routed_agc
import torch
from faulty import agc_faults, training_faults
from hypothesis import Phase, settings

import impl
from conformance.judge import run_property as harness_run_property
from conformance.profiles import Profile
from conformance.properties import PROPERTIES, Property, Targets

MODULES = ("agc.", "training.")
MINE = [p for p in PROPERTIES if p.id.startswith(MODULES)]


def impl_targets() -> Targets:
    return Targets(
        agc=impl.adaptive_gradient_clip_,
        clip=impl.clip_gradients_,
        train_step=impl.training_step,
    )


def run_property(prop: Property, targets: Targets, **overrides: Any) -> None:
    """Check ``prop`` against ``targets`` through the harness's runner; raises the property's
    AssertionError (message and counterexample) on a violation, PropertyError on an error.

    ``max_examples`` lowers the active Hypothesis profile's count; ``phases`` without
    ``Phase.shrink`` skips shrinking. (Other Hypothesis overrides are the runner's own:
    derandomised by seed, no database, one bug reported.)
    """
    limit = min(settings.default.max_examples, overrides.pop("max_examples", 10**9))
    shrink = Phase.shrink in overrides.pop("phases", (Phase.shrink,))
    profile = Profile("tests", limit, time_limit=300.0, shrink=shrink)
    harness_run_property(prop, targets, profile).raise_for_status()


@pytest.mark.parametrize("prop", MINE, ids=lambda p: f"{p.clause}:{p.id}")
def test_property_holds_for_impl(prop: Property) -> None:
    targets = impl_targets()
    missing = [r for r in prop.roles if getattr(targets, r) is None]
    if missing:
        pytest.skip(f"impl has no {missing} yet")
    run_property(prop, targets)


FAULTS = [
    (agc_faults.per_tensor_agc, "agc.unit_locality"),
    (agc_faults.per_tensor_agc, "agc.default_axis_is_dim0"),
    (agc_faults.no_eps_guard_agc, "agc.eps_guard"),
    (agc_faults.rms_bound_agc, "agc.clipped_units_on_bound"),
    (agc_faults.rms_bound_agc, "agc.matches_reference"),
    (agc_faults.replacing_agc, "agc.grad_storage_kept"),
    (agc_faults.nan_spreading_agc, "agc.nonfinite_convention"),
    (agc_faults.factor_default_agc, "agc.plan_defaults"),
    (agc_faults.eps_default_agc, "agc.plan_defaults"),
    (agc_faults.eager_nonfinite_agc, "agc.error_if_nonfinite"),
    (agc_faults.axis_ignoring_agc, "agc.unit_dim_int"),
    (agc_faults.axis_ignoring_agc, "agc.unit_dim_per_parameter"),
    (agc_faults.exclusion_ignoring_agc, "agc.unit_dim_per_parameter"),
    (agc_faults.callable_ignoring_agc, "agc.unit_dim_callable"),
    (agc_faults.miscounting_agc, "agc.count_returned"),
    (agc_faults.declaration_ignoring_agc, "agc.module_unit_axes"),
]


@pytest.mark.parametrize(("fault", "pid"), FAULTS, ids=lambda x: getattr(x, "__name__", x))
def test_property_catches_faulty_agc(fault: Any, pid: str) -> None:
    """Each faulty AGC (faulty/agc_faults.py) fails the property of the clause it breaks."""
    prop = next(p for p in MINE if p.id == pid)
    with pytest.raises(AssertionError) as caught:
        run_property(
            prop,
            Targets(agc=fault),
            phases=(Phase.explicit, Phase.generate),
            database=None,
            report_multiple_bugs=False,
        )
    assert "Case(" in str(caught.value), "the violation must carry a rebuildable example"


def test_bad_module_declarations_are_caught() -> None:
    """An AGC that honours a module's declarations without checking them accepts a name that
    is no parameter (and raises IndexError, not ValueError, for an axis out of range); the
    same AGC clips a well-declared module right."""
    trusting = Targets(agc=agc_faults.declaration_trusting_agc)
    prop = next(p for p in MINE if p.id == "agc.bad_unit_axes_rejected")
    with pytest.raises(AssertionError, match="accepted without error"):
        run_property(prop, trusting)
    run_property(next(p for p in MINE if p.id == "agc.module_unit_axes"), trusting)


@pytest.mark.parametrize(
    "fault",
    [
        agc_faults.per_tensor_agc,
        agc_faults.no_eps_guard_agc,
        agc_faults.rms_bound_agc,
        agc_faults.factor_default_agc,
        agc_faults.eps_default_agc,
    ],
    ids=lambda f: f.__name__,
)
def test_faults_still_pass_unrelated_properties(fault: Any) -> None:
    """The faults are narrow: they keep storage, dtype and weights (so the catches are specific);
    a wrong default breaks only AGC-037 (the rule holds whenever both arguments are given)."""
    pids = ["agc.grad_storage_kept", "agc.dtype_kept", "agc.weights_untouched"]
    if fault in (agc_faults.factor_default_agc, agc_faults.eps_default_agc):
        pids += ["agc.unit_rule", "agc.eps_guard", "agc.matches_reference"]
    else:
        pids += ["agc.plan_defaults"]
    for pid in pids:
        prop = next(p for p in MINE if p.id == pid)
        run_property(prop, Targets(agc=fault), max_examples=15)


STEP_FAULTS = [
    (Targets(clip=training_faults.upstream_dispatch), "agc.unknown_algorithm_rejected"),
    (Targets(clip=training_faults.stale_statistics_dispatch), "agc.dispatch_statistics"),
    (Targets(train_step=training_faults.clip_before_unscale_step), "training.unscale_before_clip"),
    (
        Targets(train_step=training_faults.clip_before_unscale_step),
        "training.overflow_step_skipped",
    ),
    (
        Targets(train_step=training_faults.unaveraged_accumulation_step),
        "training.accumulation_equals_big_batch",
    ),
    (Targets(train_step=training_faults.no_zero_grad_step), "training.grads_cleared"),
    (Targets(train_step=training_faults.no_update_step), "training.overflow_step_skipped"),
]


@pytest.mark.parametrize(("targets", "pid"), STEP_FAULTS, ids=[pid for _, pid in STEP_FAULTS])
def test_property_catches_faulty_dispatch_or_step(targets: Targets, pid: str) -> None:
    """Faulty dispatch / training steps (faulty/training_faults.py) fail their clause."""
    prop = next(p for p in MINE if p.id == pid)
    with pytest.raises(AssertionError):
        run_property(
            prop, targets, phases=(Phase.generate,), database=None, report_multiple_bugs=False
        )


ROUTED = [
    p
    for p in MINE
    if (p.roles == ("agc",) and not p.home.endswith("agc.sharded"))
    or p.id == "agc.agc_matches_reference"
]
"""Every property of the ``agc`` role on local tensors (the AGC modules but the sharded one),
and the dispatch's 'agc'."""


@pytest.mark.parametrize("route", routed_agc.ROUTES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("prop", ROUTED, ids=lambda p: p.id)
def test_property_holds_on_every_grouping_path(prop: Property, route: Any) -> None:
    """Every AGC clause holds whichever way AGC groups the gradients (packs, rows, blocks of
    rows, single tensors): routed_agc.py lowers the limits inside the worker's call."""
    run_property(prop, Targets(agc=route, clip=routed_agc.routed_clip), max_examples=12)


@pytest.mark.parametrize(
    ("route", "kinds"),
    [
        (routed_agc.every_gradient_large, {"Rows"}),
        (routed_agc.row_blocks_of_7, {"Rows"}),
        (routed_agc.packs_of_5, {"Pack"}),
        (routed_agc.no_foreach, {"Single"}),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_the_routes_really_take_their_paths(
    route: Any, kinds: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route functions (run here as in a worker) hand AGC's planner the lowered limits: the
    plan for four small gradients is made of the task kinds the route names, and the limits are
    restored after the call."""
    import impl._agc_tasks as tasks

    planned: list[list[str]] = []
    original = tasks.plan

    def spy(groups: Any, foreach: Any) -> Any:
        made = original(groups, foreach)
        planned.append([type(t).__name__ for t in made])
        return made

    monkeypatch.setattr(tasks, "plan", spy)
    params = [torch.nn.Parameter(torch.ones(3, 3)) for _ in range(4)]
    for p in params:
        p.grad = torch.full((3, 3), 10.0)
    route(params, clip_factor=0.01, eps=1e-3)
    assert planned and set(planned[-1]) == kinds, planned
    if route is routed_agc.packs_of_5:
        assert len(planned[-1]) == 4, "packs of 5 elements hold one 9-element gradient each"
    assert (tasks.PACK_LIMIT, tasks.PACK_MAX, tasks.BLOCK) == (1 << 14, 1 << 20, 1 << 20)
