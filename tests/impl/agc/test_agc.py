"""impl.adaptive_gradient_clip_: the plan's examples and the impl-specific API (unit_dim, errors).

The rules every implementation must follow are checked generically by the
conformance properties (tests/test_agc_properties.py); this file pins the
examples of plan task 1.2 and what only the bundled implementation offers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch import nn

import impl
import impl._agc_tasks as tasks_mod
import impl.agc as agc_mod
from impl.agc import SUPPORTED_DTYPES, adaptive_gradient_clip_, agc_unit_dims
from spec.reference import agc_reference


def _param(weight: Any, grad: Any, dtype: torch.dtype = torch.float32) -> nn.Parameter:
    p = nn.Parameter(torch.as_tensor(weight, dtype=dtype))
    p.grad = torch.as_tensor(grad, dtype=dtype)
    return p


def _unit_norms(t: torch.Tensor, dim: int) -> torch.Tensor:
    t64 = t.detach().to(torch.complex128 if t.is_complex() else torch.float64)
    return torch.linalg.vector_norm(t64.movedim(dim, 0).reshape(t.shape[dim], -1), dim=1)


# --- the plan's three tests (task 1.2) ------------------------------------------------------


def test_agc_clips_large_gradients() -> None:
    """AGC-001, AGC-005: a unit whose grad/weight norm ratio exceeds λ lands on λ·||W_i||."""
    p = _param([[3.0, 4.0], [6.0, 8.0]], [[300.0, 400.0], [0.6, 0.8]])
    count = adaptive_gradient_clip_([p], clip_factor=0.1)
    # row 0: ||G|| = 500 > 0.1 * 5 -> scaled to norm 0.5 along (3, 4) / 5
    assert torch.allclose(p.grad[0], torch.tensor([0.3, 0.4]), rtol=1e-6)
    assert math.isclose(float(p.grad[0].norm()), 0.5, rel_tol=1e-6)
    # row 1: ||G|| = 1 == 0.1 * 10 is not above the bound -> untouched
    assert torch.equal(p.grad[1], torch.tensor([0.6, 0.8]))
    assert count.dtype == torch.int64 and count.ndim == 0 and int(count) == 1


def test_agc_preserves_small_gradients() -> None:
    """AGC-004: gradients under the bound are bit-for-bit unchanged, in every dtype."""
    for dtype in SUPPORTED_DTYPES:
        weight = torch.linspace(-2.0, 3.0, 24).reshape(4, 6).to(dtype)
        grad = (weight * 1e-3 + 1e-4).to(dtype)  # ratio ~1e-3, far below λ = 0.01
        p = _param(weight, grad, dtype)
        before = p.grad.clone()
        count = adaptive_gradient_clip_([p], clip_factor=0.01)
        assert int(count) == 0, dtype
        assert torch.equal(p.grad, before), dtype
        assert p.grad.dtype == dtype


def test_agc_handles_zero_params() -> None:
    """AGC-009, AGC-010: zero weights clip against λ·eps; a zero gradient unit stays zero."""
    p = _param(torch.zeros(3, 4), [[1.0] * 4, [0.0] * 4, [1e-7] * 4])
    count = adaptive_gradient_clip_([p], clip_factor=0.5, eps=1e-3)
    norms = _unit_norms(p.grad, 0)
    assert math.isclose(float(norms[0]), 0.5 * 1e-3, rel_tol=1e-6)  # clipped to λ·eps, not 0
    assert torch.equal(p.grad[1], torch.zeros(4))  # no 0/0 NaN
    assert torch.equal(p.grad[2], torch.full((4,), 1e-7))  # 2e-7 < 5e-4: kept
    assert int(count) == 1
    assert torch.isfinite(p.grad).all()


# --- agreement with the float64 reference on mixed inputs -------------------------------------


def test_agrees_with_reference_on_mixed_ranks_and_axes() -> None:
    """AGC-017 with explicit unit axes, checked against spec.reference.agc_reference."""
    gen = torch.Generator().manual_seed(0)
    params, dims = [], []
    for shape, dim in [((), None), ((5,), None), ((4, 3), 1), ((2, 3, 4), 2), ((3, 2, 2), 0)]:
        scale = torch.logspace(-3, 3, shape[0] if shape else 1, dtype=torch.float64)
        w = torch.randn(shape, generator=gen, dtype=torch.float64)
        g = torch.randn(shape, generator=gen, dtype=torch.float64)
        if len(shape) >= 2:
            g = g * scale.reshape(-1, *([1] * (len(shape) - 1)))
        params.append(_param(w, g, torch.float64))
        dims.append(dim)
    expected, masks = agc_reference(
        [p.detach().numpy() for p in params],
        [p.grad.numpy().copy() for p in params],
        0.05,
        1e-3,
        dims,
    )
    mapping = {p: (0 if d is None else d) for p, d in zip(params, dims, strict=True)}
    count = adaptive_gradient_clip_(params, clip_factor=0.05, unit_dim=mapping)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), e, rtol=1e-12, atol=0)
    assert int(count) == sum(int(m.sum()) for m in masks if m is not None) > 0


def test_reference_handles_empty_units_and_extreme_magnitudes() -> None:
    """The float64 oracle itself: empty tensors, empty units, no overflow at 1e300."""
    from spec.reference import unit_norms

    assert unit_norms(np.zeros((0, 3))).shape == (0,)
    assert unit_norms(np.zeros((3, 0))).tolist() == [0.0, 0.0, 0.0]
    huge = np.array([[3e300, 4e300], [3e-300, 4e-300]])
    np.testing.assert_allclose(unit_norms(huge), [5e300, 5e-300], rtol=1e-15)
    assert unit_norms(np.array([[np.inf, 1.0], [np.nan, 1.0]])).tolist()[0] == math.inf
    assert math.isnan(unit_norms(np.array([[np.nan, 1.0]]))[0])
    new, clipped = agc_reference([np.ones((0, 2))], [np.ones((0, 2))], 0.01, 1e-3)
    assert new[0] is not None and new[0].shape == (0, 2)
    assert clipped[0] is not None and clipped[0].shape == (0,)


def test_foreach_false_matches_default() -> None:
    """The one-tensor-at-a-time path gives the results of the stacked multi-tensor path."""
    gen = torch.Generator().manual_seed(1)

    def make() -> list[nn.Parameter]:
        gen.manual_seed(1)
        return [
            _param(torch.randn(8, 4, generator=gen), torch.randn(8, 4, generator=gen) * 0.05)
            for _ in range(20)
        ]

    a, b = make(), make()
    ca = adaptive_gradient_clip_(a, 0.01)
    cb = adaptive_gradient_clip_(b, 0.01, foreach=False)
    assert int(ca) == int(cb) > 0
    for pa, pb in zip(a, b, strict=True):
        torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-6, atol=0)


# --- in place, dtypes, containers -------------------------------------------------------------


@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=str)
def test_grad_object_storage_and_dtype_kept(dtype: torch.dtype) -> None:
    """AGC-012, AGC-015: same .grad object and storage; dtype kept; weights untouched (AGC-011)."""
    w = torch.randn(6, 5, dtype=torch.float64).to(dtype)
    base = torch.randn(5, 12, dtype=torch.float64).to(dtype) * 100
    p = nn.Parameter(w.clone())
    p.grad = base[:, ::2].t()  # non-contiguous view of a bigger buffer (AGC-018)
    grad, ptr, stride = p.grad, p.grad.data_ptr(), p.grad.stride()
    count = adaptive_gradient_clip_(p, clip_factor=0.01)
    assert p.grad is grad and p.grad.data_ptr() == ptr and p.grad.stride() == stride
    assert p.grad.dtype == dtype and torch.equal(p.detach(), w)
    assert int(count) == 6
    assert torch.equal(base[:, 1::2], base[:, 1::2].clone())  # odd columns are not the grad
    norms = _unit_norms(p.grad, 0)
    bounds = 0.01 * _unit_norms(w, 0).clamp(min=1e-3)
    tol = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}.get(dtype, 1e-5)
    torch.testing.assert_close(norms, bounds, rtol=tol, atol=0)


def test_odd_columns_of_strided_grad_buffer_untouched() -> None:
    """AGC-012/AGC-018: clipping a strided view writes only the view's elements."""
    base = torch.full((4, 6), 50.0)
    p = nn.Parameter(torch.ones(4, 3))
    p.grad = base[:, ::2]
    adaptive_gradient_clip_(p, clip_factor=0.01)
    assert torch.equal(base[:, 1::2], torch.full((4, 3), 50.0))
    assert not torch.equal(base[:, ::2], torch.full((4, 3), 50.0))


def test_single_tensor_list_and_generator_agree() -> None:
    """AGC-014, AGC-013: a tensor, a list, a one-shot generator; None grads skipped."""

    def make() -> list[nn.Parameter]:
        gen = torch.Generator().manual_seed(3)
        ps = [
            _param(torch.randn(3, 4, generator=gen), torch.randn(3, 4, generator=gen)) for _ in "ab"
        ]
        ps.append(nn.Parameter(torch.ones(2)))  # grad None
        return ps

    listed, generated = make(), make()
    adaptive_gradient_clip_(listed, 0.01)

    def one_shot(ps: list[nn.Parameter]) -> Iterator[nn.Parameter]:
        yield from ps

    adaptive_gradient_clip_(one_shot(generated), 0.01)
    single = make()
    for p in single:
        adaptive_gradient_clip_(p, 0.01)
    for a, b, c in zip(listed, generated, single, strict=True):
        assert (a.grad is None) == (b.grad is None) == (c.grad is None)
        if a.grad is not None:
            assert torch.equal(a.grad, b.grad) and torch.equal(a.grad, c.grad)
    assert listed[2].grad is None


def test_shared_parameter_clipped_once() -> None:
    """A parameter listed twice is clipped once (not by the square of its factor)."""
    p, q = _param([[1.0, 0.0]], [[10.0, 0.0]]), _param([[1.0, 0.0]], [[10.0, 0.0]])
    adaptive_gradient_clip_([p, p], 0.1)
    adaptive_gradient_clip_([q], 0.1)
    assert torch.equal(p.grad, q.grad) and math.isclose(float(p.grad[0, 0]), 0.1, rel_tol=1e-6)


def test_no_grads_returns_zero_count() -> None:
    count = adaptive_gradient_clip_([nn.Parameter(torch.ones(3))], 0.01)
    assert count.dtype == torch.int64 and int(count) == 0


# --- unit axes: int, mapping, callable, module --------------------------------------------------


def _column_case() -> nn.Parameter:
    # columns have weight norms 1 and 100; gradient columns both have norm 10
    return _param([[1.0, 100.0], [0.0, 0.0]], [[10.0, 10.0], [0.0, 0.0]])


def test_unit_dim_int_mapping_and_callable_pick_the_axis() -> None:
    """AGC-024: the same tensor clipped along dim 1 by each way of saying so."""
    ways: list[Callable[[nn.Parameter], Any]] = [
        lambda p: 1,
        lambda p: -1,
        lambda p: {p: 1},
        lambda p: lambda t: 1,
    ]
    for way in ways:
        p = _column_case()
        count = adaptive_gradient_clip_([p], clip_factor=0.1, unit_dim=way(p))
        # column 0: bound 0.1 -> clipped; column 1: bound 10 == ||G|| -> kept
        torch.testing.assert_close(p.grad[:, 0], torch.tensor([0.1, 0.0]))
        assert float(p.grad[0, 1]) == 10.0
        assert int(count) == 1
    default = _column_case()
    adaptive_gradient_clip_([default], clip_factor=0.1)  # rows: row 0 norm 14.1 > 10.0
    assert float(default.grad[0, 1]) != 10.0


def test_unit_dim_none_excludes_a_parameter() -> None:
    """AGC-024: a mapping or callable answering None leaves that parameter alone."""
    p, q = _column_case(), _column_case()
    before = p.grad.clone()
    adaptive_gradient_clip_([p, q], 0.1, unit_dim={p: None})
    assert torch.equal(p.grad, before) and not torch.equal(q.grad, before)
    r = _column_case()
    adaptive_gradient_clip_([r], 0.1, unit_dim=lambda t: None)
    assert torch.equal(r.grad, before)


def test_int_unit_dim_leaves_rank_one_tensors_whole() -> None:
    """AGC-003: a global int axis applies to rank >= 2; a vector stays one unit."""
    p = _param([3.0, 4.0], [30.0, 40.0])
    adaptive_gradient_clip_([p], 0.1, unit_dim=1)
    torch.testing.assert_close(p.grad, torch.tensor([0.3, 0.4]))


def test_conv_transpose_weights_use_axis_one() -> None:
    """AGC-024: nn.ConvTranspose2d weights (in, out, kh, kw) are clipped per output channel."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ConvTranspose2d(3, 5, 2))
    up = model[1]
    assert agc_unit_dims(model) == {up.weight: 1}
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 10
    expected_w = up.weight.grad.clone()
    ref, _ = agc_reference([up.weight.detach().numpy()], [expected_w.numpy()], 0.01, 1e-3, [1])
    adaptive_gradient_clip_(model, 0.01)
    np.testing.assert_allclose(up.weight.grad.numpy(), ref[0], rtol=1e-5)


class _Declares(nn.Module):
    AGC_UNIT_DIMS: ClassVar[dict[str, int | None]] = {"kernel": 1, "head": None}

    def __init__(self) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.tensor([[1.0, 100.0], [0.0, 0.0]]))
        self.head = nn.Parameter(torch.ones(2, 2))
        self.plain = nn.Parameter(torch.ones(2, 2))


def test_module_declares_unit_axes() -> None:
    """AGC-024: AGC_UNIT_DIMS sets axis 1 for one parameter and excludes another."""
    m = nn.Sequential(_Declares())
    inner = m[0]
    assert agc_unit_dims(m) == {inner.kernel: 1, inner.head: None}
    for p in m.parameters():
        p.grad = torch.full_like(p, 10.0)
    inner.kernel.grad = torch.tensor([[10.0, 10.0], [0.0, 0.0]])
    adaptive_gradient_clip_(m, 0.1)
    torch.testing.assert_close(inner.kernel.grad[:, 0], torch.tensor([0.1, 0.0]))
    assert float(inner.kernel.grad[0, 1]) == 10.0  # column 1 kept (axis 1)
    assert torch.equal(inner.head.grad, torch.full((2, 2), 10.0))  # excluded
    assert float(inner.plain.grad.norm()) < 1.0  # default axis 0, clipped
    # an explicit mapping entry beats the declaration
    inner.head.grad = torch.full((2, 2), 10.0)
    adaptive_gradient_clip_(m, 0.1, unit_dim={inner.head: 0})
    assert float(inner.head.grad.norm()) < 1.0


def test_bundled_spectral_conv_declares_axis_one() -> None:
    """AGC-024: the bundled spectral convolution's complex (in, out, m, m) weights use axis 1."""
    spectral = pytest.importorskip("impl.spectral")
    conv_cls = getattr(spectral, "SpectralConv2d", None)
    if conv_cls is None:
        pytest.skip("impl.spectral.SpectralConv2d not available yet")
    declared = getattr(conv_cls, "AGC_UNIT_DIMS", {})
    assert declared and set(declared.values()) == {1}
    conv = conv_cls(3, 5, 4)
    dims = agc_unit_dims(conv)
    for name in declared:
        weight = getattr(conv, name)
        assert weight.is_complex() and weight.shape[1] == 5 and dims[weight] == 1


def test_bad_declarations_raise() -> None:
    class Typo(nn.Module):
        AGC_UNIT_DIMS: ClassVar[dict[str, int]] = {"wieght": 1}

        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(2, 2))

    class OutOfRange(nn.Module):
        AGC_UNIT_DIMS: ClassVar[dict[str, int]] = {"weight": 2}

        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(2, 2))

    with pytest.raises(ValueError, match=r"'wieght'.*parameters are \['weight'\]"):
        agc_unit_dims(Typo())
    with pytest.raises(ValueError, match="out of range"):
        agc_unit_dims(OutOfRange())
    with pytest.raises(TypeError, match=r"nn\.Module"):
        agc_unit_dims([torch.ones(2)])  # type: ignore[arg-type]


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["clip_factor", "eps"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_bad_clip_factor_or_eps_raises_before_modifying(name: str, value: float) -> None:
    """AGC-019: ValueError naming the argument; no gradient modified."""
    p = _param([[1.0]], [[100.0]])
    kwargs: dict[str, Any] = {"clip_factor": 0.01, "eps": 1e-3, name: value}
    with pytest.raises(ValueError, match=f"^{name} must be a finite number > 0"):
        adaptive_gradient_clip_([p], **kwargs)
    assert float(p.grad) == 100.0


def test_wrong_types_raise_type_error() -> None:
    p = _param([[1.0]], [[1.0]])
    with pytest.raises(TypeError, match="clip_factor"):
        adaptive_gradient_clip_([p], clip_factor="0.01")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clip_factor"):
        adaptive_gradient_clip_([p], clip_factor=torch.tensor(0.01))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="eps"):
        adaptive_gradient_clip_([p], eps=True)
    with pytest.raises(TypeError, match=r"parameters\[1\] is a str"):
        adaptive_gradient_clip_([p, "w"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="parameters must be"):
        adaptive_gradient_clip_("weights")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unit_dim"):
        adaptive_gradient_clip_([p], unit_dim=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="foreach"):
        adaptive_gradient_clip_([p], foreach=1)  # type: ignore[arg-type]


def test_out_of_range_unit_dim_raises() -> None:
    p = _param(torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"unit axis 2 is out of range.*shape \(2, 3\).*-2 to 1"):
        adaptive_gradient_clip_([p], unit_dim={p: 2})


def test_sparse_gradient_raises_before_modifying() -> None:
    """AGC-020: a sparse gradient is rejected with a clear error; nothing is modified."""
    dense = _param([[1.0, 0.0]], [[100.0, 0.0]])
    sparse = nn.Parameter(torch.ones(3, 2))
    sparse.grad = torch.ones(3, 2).to_sparse()
    with pytest.raises(ValueError, match="parameter 1 has a sparse gradient"):
        adaptive_gradient_clip_([dense, sparse], 0.01)
    assert float(dense.grad[0, 0]) == 100.0


# --- non-finite gradients (AGC-021/022/023) ----------------------------------------------------


def _nonfinite_case() -> nn.Parameter:
    return _param(
        torch.ones(4, 2),
        [[math.nan, 1.0], [math.inf, 100.0], [100.0, 100.0], [0.001, 0.0]],
    )


def test_nonfinite_default_convention() -> None:
    """AGC-021, AGC-022: NaN-norm unit unchanged, inf-norm unit times 0, others as usual."""
    p = _nonfinite_case()
    count = adaptive_gradient_clip_([p], clip_factor=0.1)
    g = p.grad
    assert math.isnan(float(g[0, 0])) and float(g[0, 1]) == 1.0
    assert math.isnan(float(g[1, 0])) and float(g[1, 1]) == 0.0
    torch.testing.assert_close(g[2], torch.full((2,), 0.1))  # norm 0.1 * ‖(1, 1)‖
    assert torch.equal(g[3], torch.tensor([0.001, 0.0]))
    assert int(count) == 2  # the inf row and row 2; the NaN row is not rescaled


def test_error_if_nonfinite_raises_before_modifying() -> None:
    """AGC-023: the switch raises RuntimeError and leaves every gradient as it was."""
    p, finite = _nonfinite_case(), _param(torch.ones(1, 2), [[100.0, 100.0]])
    before = p.grad.clone()
    with pytest.raises(RuntimeError, match="non-finite norm"):
        adaptive_gradient_clip_([finite, p], 0.1, error_if_nonfinite=True)
    assert torch.equal(p.grad.view(torch.int32), before.view(torch.int32))
    assert torch.equal(finite.grad, torch.full((1, 2), 100.0))
    ok = _param(torch.ones(1, 2), [[100.0, 100.0]])
    assert int(adaptive_gradient_clip_([ok], 0.1, error_if_nonfinite=True)) == 1


# --- no host synchronisation (AGC-025) ---------------------------------------------------------


def test_no_host_sync(host_reads: list[str]) -> None:
    """AGC-025: no tensor-to-host conversion at all on the default path (one with the switch)."""
    gen = torch.Generator().manual_seed(0)
    params = [
        _param(torch.randn(8, 4, generator=gen), torch.randn(8, 4, generator=gen)) for _ in range(5)
    ]
    params += [
        _param(
            torch.randn(3, 2, 2, dtype=torch.float64, generator=gen),
            torch.ones(3, 2, 2),
            torch.complex64,
        )
    ]
    params += [_param(torch.randn(40000, generator=gen), torch.randn(40000, generator=gen))]
    params += [  # half rows (through a float32 buffer) and a 4-D pack entry
        _param(
            torch.randn(200, 100, generator=gen),
            torch.randn(200, 100, generator=gen),
            torch.bfloat16,
        ),
        _param(torch.randn(4, 3, 2, 2, generator=gen), torch.randn(4, 3, 2, 2, generator=gen)),
    ]
    host_reads.clear()  # only the calls below count
    adaptive_gradient_clip_(params, 0.01)
    adaptive_gradient_clip_(params, 0.01, unit_dim=1, foreach=False)
    assert host_reads == []
    adaptive_gradient_clip_(params, 0.01, error_if_nonfinite=True)
    assert host_reads == ["__bool__"]  # the spy sees syncs: the documented one of the switch


def test_exported_from_impl() -> None:
    assert impl.adaptive_gradient_clip_ is adaptive_gradient_clip_
    assert impl.agc_unit_dims is agc_unit_dims


def test_falls_back_when_the_private_multi_tensor_kernel_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """torch._foreach_mul_ is private: if a torch version rejects the lists, results stay equal."""

    def make() -> list[nn.Parameter]:
        gen = torch.Generator().manual_seed(5)
        return [
            _param(torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen))
            for _ in range(6)
        ]

    expected = make()
    adaptive_gradient_clip_(expected, 0.01)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("refused")

    monkeypatch.setattr(torch, "_foreach_mul_", refuse)
    got = make()
    adaptive_gradient_clip_(got, 0.01)
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a.grad, b.grad)


# --- the stages: unit axes, collection, grouping, scales -----------------------------------------


def test_unit_axes_precedence_and_exclusion() -> None:
    """AGC-024: mapping entry > module declaration > callable/int/default; None excludes."""
    a, b, c, v = torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, 3), torch.ones(4)
    axes = agc_mod._UnitAxes({a: 1, b: None}, {a: 0, c: 1})
    assert [axes(0, a), axes(1, b), axes(2, c), axes(3, v)] == [1, agc_mod.EXCLUDED, 1, None]
    assert not axes.is_default
    rule = agc_mod._UnitAxes(lambda t: -1, {c: 0})
    assert [rule(0, a), rule(1, c)] == [1, 0]  # a negative axis is normalised
    assert agc_mod._UnitAxes(None, {}).is_default
    assert agc_mod._UnitAxes({}, {}).is_default  # an empty mapping changes nothing
    assert not agc_mod._UnitAxes(0, {}).is_default
    with pytest.raises(ValueError, match=r"unit axis -3 is out of range for parameter 4"):
        agc_mod._UnitAxes(-3, {})(4, a)


def test_collect_groups_by_device_and_dtype_in_order() -> None:
    """Groups in first-appearance order; duplicates once; excluded aside; None grads skipped."""
    f32 = _param(torch.ones(2, 2), torch.ones(2, 2))
    f64 = _param(torch.ones(3), torch.ones(3), torch.float64)
    other = _param(torch.ones(2, 2), torch.ones(2, 2))
    bare = nn.Parameter(torch.ones(2))
    groups, excluded = agc_mod._collect(
        [f64, f32, bare, f32, other], agc_mod._UnitAxes({other: None}, {})
    )
    assert [dtype for _, dtype in groups] == [torch.float64, torch.float32]
    assert [[w for w, _, _ in items] for items in groups.values()] == [[f64], [f32]]
    assert [axis for items in groups.values() for _, _, axis in items] == [None, 0]
    assert len(excluded) == 1 and excluded[0] is other.grad


def test_collect_checks_every_gradient_first() -> None:
    """AGC-015/AGC-020: the bad gradient is named by its index, nothing is clipped before."""
    good = _param([[1.0, 0.0]], [[100.0, 0.0]])
    ints = nn.Parameter(torch.ones(2, dtype=torch.float32))
    ints.grad = torch.ones(2)
    ints.grad.data = torch.ones(2, dtype=torch.int32)  # an unsupported dtype behind the check
    with pytest.raises(ValueError, match=r"parameter 1 has a gradient of dtype torch.int32"):
        adaptive_gradient_clip_([good, ints], 0.01)
    assert float(good.grad[0, 0]) == 100.0


def _kinds(params: list[nn.Parameter], foreach: bool | None = None, **dims: Any) -> list[str]:
    groups, _ = agc_mod._collect(params, agc_mod._UnitAxes(dims.get("unit_dim"), {}))
    with torch.no_grad():
        return [type(t).__name__ for t in tasks_mod.plan(groups, foreach)]


def test_plan_routes_each_gradient_to_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small -> one pack; large with contiguous units -> one Rows; the rest -> single tensors."""
    monkeypatch.setattr(tasks_mod, "PACK_LIMIT", 8)
    monkeypatch.setattr(tasks_mod, "BLOCK", 40)
    small = [_param(torch.ones(2, 3), torch.ones(2, 3)) for _ in range(3)]
    large = _param(torch.ones(10, 6), torch.ones(10, 6))  # 60 elements: 2 blocks of rows
    long_vector = _param(torch.ones(50), torch.ones(50))  # one unit: a block of its own
    strided = _param(torch.ones(6, 10), torch.ones(10, 6).t())  # large, not contiguous
    conj = nn.Parameter(torch.ones(3, dtype=torch.complex64))
    conj.grad = torch.ones(3, dtype=torch.complex64).conj()
    empty = _param(torch.ones(0, 4), torch.ones(0, 4))
    params = [*small, large, long_vector, strided, conj, empty]
    # float32: the strided one alone, the smalls in one pack, the large ones in one Rows;
    # complex64: the conjugated one alone.
    assert _kinds(params) == ["Single", "Pack", "Rows", "Single"]
    assert _kinds([large], unit_dim=1) == ["Single"]  # units not contiguous
    assert set(_kinds(params, foreach=False)) == {"Single"}
    assert len(_kinds(params, foreach=False)) == 8  # everything but the empty gradient


def test_row_blocks_cut_large_gradients_along_units(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks_mod, "BLOCK", 12)
    g, w = torch.arange(40.0).view(10, 4), torch.ones(10, 4)
    blocks = tasks_mod._row_blocks([((w, g, 0), 40)], complex_=False)
    assert [(b[0].shape[0], b[2], n) for b, n in blocks] == [(3, 3, 12)] * 3 + [(1, 1, 4)]
    assert torch.equal(torch.cat([b[0] for b, _ in blocks]), g)  # views, in order


def test_runs_split_at_the_limit() -> None:
    runs = tasks_mod._runs([("a", 4), ("b", 4), ("c", 9), ("d", 1)], 8)
    assert [[x for x, _ in run] for run in runs] == [["a", "b"], ["c"], ["d"]]


def test_scales_follow_the_rule_under_ieee_comparison() -> None:
    """AGC-001/004/009/010/022: the scale per unit, including the non-finite cases."""
    nan, inf = math.nan, math.inf
    w = torch.tensor([5.0, 0.0, 5.0, 5.0, 5.0, nan, 5.0, inf])
    g = torch.tensor([50.0, 1.0, 0.1, 0.0, nan, 1.0, inf, 1.0])
    bound, scale = tasks_mod.scales(w, g, 0.1, 1e-3, torch.ones(()))
    want_bound = [0.5, 1e-4, 0.5, 0.5, 0.5, nan, 0.5, inf]
    want_scale = [0.01, 1e-4, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
    torch.testing.assert_close(bound, torch.tensor(want_bound), equal_nan=True)
    torch.testing.assert_close(scale, torch.tensor(want_scale), rtol=1e-6, atol=0)
    assert scale[2:6].eq(1.0).all()  # exactly 1: the unit is left bit-for-bit


def test_factors_broadcast_against_each_gradient() -> None:
    scale = torch.arange(1.0, 8.0)
    factors = tasks_mod._factors(scale, [0, 0, 2, 4, 4], [1, 1, 2, 1, 2])
    assert [tuple(f.shape) for f in factors] == [(), (), (2, 1), (1, 1, 1, 1), (2, 1, 1, 1)]
    assert [f.flatten().tolist() for f in factors] == [[1.0], [2.0], [3.0, 4.0], [5.0], [6.0, 7.0]]


# --- every path: one rounding, unclipped units untouched -----------------------------------------

PATHS = ("pack", "rows", "single")


def _np64(t: torch.Tensor) -> np.ndarray:
    wide = torch.complex128 if t.is_complex() else torch.float64
    return t.detach().to(wide).numpy()


def _route(path: str, monkeypatch: pytest.MonkeyPatch) -> bool | None:
    """Limits sending the tests' small gradients down ``path``; returns the foreach argument."""
    if path == "rows":
        monkeypatch.setattr(tasks_mod, "PACK_LIMIT", 0)
    return False if path == "single" else None


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("dtype", "weight", "grad", "lam", "want"),
    [
        # bound 0.1 (float32), scale 0.1/3 in float32; 3 * scale rounded once to bfloat16 is
        # 0.10009765625 -- rounding the scale to bfloat16 first would give 0.1005859375.
        (torch.bfloat16, 1.0, 3.0, 0.1, 0.10009765625),
        # timm's fp16 failure: the scale 1.6e-7 is subnormal in float16 (1.79e-7 there, so
        # 62.5 * 1.79e-7 = 1.12e-5); in float32 the product is 1e-5, rounded once.
        (torch.float16, 0.0, 62.5, 0.01, float(torch.tensor(1e-5).half())),
    ],
)
def test_half_products_are_formed_in_float32_and_rounded_once(
    path: str,
    dtype: torch.dtype,
    weight: float,
    grad: float,
    lam: float,
    want: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue-13 behaviour pin: the bound rounded once from a float32 computation."""
    foreach = _route(path, monkeypatch)
    p = _param([[weight, 0.0], [1.0, 0.0]], [[grad, 0.0], [1e-4, 0.0]], dtype)
    n = adaptive_gradient_clip_([p], clip_factor=lam, eps=1e-3, foreach=foreach)
    assert float(p.grad[0, 0]) == want and float(p.grad[0, 1]) == 0.0
    assert float(p.grad[1, 0]) == float(torch.tensor(1e-4, dtype=dtype))  # unclipped, as it was
    assert int(n) == 1


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=str)
def test_every_path_agrees_with_the_reference(
    path: str, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AGC-004/017 on each path: mixed ranks and axes; unclipped units bit-for-bit."""
    foreach = _route(path, monkeypatch)
    gen = torch.Generator().manual_seed(7)
    shapes = [((), None), ((5,), None), ((4, 3), 0), ((3, 4, 2), 1), ((2, 3, 2, 2), 0)]
    params, dims = [], {}
    for shape, axis in shapes:
        real = torch.float64
        w = torch.randn(shape, generator=gen, dtype=real)
        g = torch.randn(shape, generator=gen, dtype=real) * 0.02
        if len(shape) >= 2:  # about half the units far above their bound, half far below
            spread = torch.tensor([30.0, 0.01] * shape[axis], dtype=real)[: shape[axis]]
            g = g * spread.view([-1 if d == axis else 1 for d in range(len(shape))])
        if dtype.is_complex:
            w, g = torch.complex(w, w.flip(-1) if w.ndim else w), torch.complex(g, -g)
        p = _param(w, g, dtype)
        params.append(p)
        dims[p] = 0 if axis is None else axis
    before = [p.grad.clone() for p in params]
    want, masks = agc_reference(
        [_np64(p) for p in params], [_np64(b) for b in before], 0.05, 1e-3, [a for _, a in shapes]
    )
    count = adaptive_gradient_clip_(params, 0.05, unit_dim=dims, foreach=foreach)
    tol = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float64: 1e-12}.get(dtype, 2e-6)
    for p, b, expected, mask, (_, axis) in zip(params, before, want, masks, shapes, strict=True):
        np.testing.assert_allclose(_np64(p.grad), expected, rtol=tol, atol=0)
        for i, clipped in enumerate(np.atleast_1d(mask)):
            if not clipped:  # AGC-004: bit-for-bit
                unit = ... if axis is None else (slice(None),) * axis + (i,)
                assert torch.equal(p.grad[unit], b[unit])
    assert int(count) == sum(int(np.sum(m)) for m in masks)


def test_error_switch_on_half_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """AGC-023 on the rows path: all norms first, then the same result as in one go."""
    monkeypatch.setattr(tasks_mod, "PACK_LIMIT", 0)
    a = _param(torch.ones(3, 4), torch.full((3, 4), 5.0), torch.bfloat16)
    b = _param(torch.ones(3, 4), torch.full((3, 4), 5.0), torch.bfloat16)
    adaptive_gradient_clip_([a], 0.1)
    adaptive_gradient_clip_([b], 0.1, error_if_nonfinite=True)
    assert torch.equal(a.grad, b.grad) and float(a.grad.float().norm(dim=1)[0]) == pytest.approx(
        0.2, rel=1e-2
    )


@pytest.mark.parametrize("path", PATHS)
def test_norms_before_and_after_are_the_global_norms(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AGCResult: derived norms equal the recomputed global norms, excluded gradients included."""
    from impl.agc import adaptive_gradient_clip_with_norms_

    foreach = _route(path, monkeypatch)
    gen = torch.Generator().manual_seed(11)
    params = [
        _param(torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen) * 5)
        for _ in range(3)
    ]
    params.append(_param(torch.randn(2, 2, generator=gen), torch.randn(2, 2, generator=gen) * 5))
    params.append(params[0])  # listed twice: counted once

    def norm64() -> float:
        unique = {id(p): p for p in params}.values()
        return math.sqrt(sum(float(p.grad.double().square().sum()) for p in unique))

    before = norm64()
    out = adaptive_gradient_clip_with_norms_(
        params, 0.01, unit_dim={params[3]: None}, foreach=foreach
    )
    assert out.grad_norm_before.dtype == torch.float32
    assert float(out.grad_norm_before) == pytest.approx(before, rel=1e-6)
    assert float(out.grad_norm_after) == pytest.approx(norm64(), rel=1e-5)
    assert float(out.grad_norm_after) > float(params[3].grad.norm())  # excluded one counted
    assert int(out.units_clipped) == 12
    none = adaptive_gradient_clip_with_norms_([nn.Parameter(torch.ones(2))], 0.01)
    assert [float(t) for t in none] == [0.0, 0.0, 0.0]


def test_large_half_gradients_and_long_units(monkeypatch: pytest.MonkeyPatch) -> None:
    """Half norms above the chunk size of impl._multi_tensor are reduced in chunks, exactly so."""
    import impl._multi_tensor as mt

    monkeypatch.setattr(mt, "DIRECT", 8)
    monkeypatch.setattr(mt, "CHUNK", 16)
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(3, 40, generator=gen)
    g = torch.randn(3, 40, generator=gen)
    a, b = _param(w, g, torch.bfloat16), _param(w.reshape(-1), g.reshape(-1), torch.bfloat16)
    ref_a, _ = agc_reference([_np64(w.bfloat16())], [_np64(g.bfloat16())], 0.01, 1e-3, [0])
    adaptive_gradient_clip_([a], 0.01, foreach=False)  # the single path: chunked row norms
    adaptive_gradient_clip_([b], 0.01, foreach=False)  # one long unit: chunked total norm
    np.testing.assert_allclose(a.grad.double().numpy(), ref_a[0], rtol=1e-2)
    bound = 0.01 * float(w.bfloat16().float().norm())
    assert float(b.grad.float().norm()) == pytest.approx(bound, rel=1e-2)
