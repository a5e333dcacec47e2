r"""The properties' assertion helpers: closeness, bitwise equality and bounds, one message format.

>>> import numpy as np
>>> from conformance.properties._assertions import assert_close
>>> assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), 1e-6, "grad")
>>> try:
...     assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.5]), 1e-6, "grad")
... except AssertionError as error:
...     print(*str(error).split("; "), sep="\n")
grad: worst entry [1]: got 2.0, expected 2.5, difference 0.5, tolerance 1e-06
got [1, 2], expected [1, 2.5]

Every violation is reported the same way: what was compared, the worst entry (its index,
the value got, the value expected, their difference and the tolerance there), a short view
of both arrays (:func:`brief`: the first few values and the count) and the example, so a
report shows the numbers without printing whole tensors. Entries equal to what was expected
(infinities included) always pass; NaN passes only where :func:`assert_bitwise` compares bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

__all__ = [
    "Mismatch",
    "assert_at_most",
    "assert_bitwise",
    "assert_close",
    "assert_rows_close",
    "bits",
    "brief",
    "worst",
]

Array = npt.NDArray[Any]

_SHOWN = 8
"""How many values :func:`brief` shows."""


def brief(values: Any, limit: int = _SHOWN) -> str:
    """A short view of an array: its first ``limit`` values, then how many there are.

    >>> brief(np.arange(10.0), limit=3)
    '[0, 1, 2, ... (10 values)]'
    """
    flat = np.asarray(values).reshape(-1)
    if np.iscomplexobj(flat):
        shown = ", ".join(f"{v:.4g}" for v in flat[:limit])
    else:
        shown = ", ".join(f"{v:.6g}" for v in flat[:limit])
    more = f", ... ({flat.size} values)" if flat.size > limit else ""
    return f"[{shown}{more}]"


@dataclass(frozen=True)
class Mismatch:
    """The worst entry of a comparison: where, what was got and expected, by how much.

    >>> str(Mismatch((0, 2), 1.5, 1.0, 0.5, 0.1))
    'worst entry [0, 2]: got 1.5, expected 1.0, difference 0.5, tolerance 0.1'
    """

    index: tuple[int, ...]
    got: Any
    expected: Any
    difference: float
    tolerance: float
    relation: str = "expected"
    """How ``expected`` is read: ``'expected'`` (a value) or ``'at most'`` (a limit)."""

    def __str__(self) -> str:
        where = ", ".join(map(str, self.index))
        return (
            f"worst entry [{where}]: got {self.got!r}, {self.relation} {self.expected!r}, "
            f"difference {self.difference:.3g}, tolerance {self.tolerance:.3g}"
        )


def _message(what: str, mismatch: Mismatch, got: Array, want: Array, example: object) -> str:
    text = f"{what}: {mismatch}; got {brief(got)}, {mismatch.relation} {brief(want)}"
    return text if example is None else f"{text}; case {example!r}"


def _item(values: Array, index: tuple[int, ...]) -> Any:
    return values[index].item() if values.ndim else values.item()


def worst(got: Any, want: Any, allowed: Any) -> Mismatch | None:
    """The entry that most exceeds ``|got - want| <= allowed`` (None when every entry holds;
    an entry equal to the expected one always holds). The shapes must agree; ``allowed``
    broadcasts.

    >>> print(worst(np.array([1.0, 5.0, 3.0]), np.array([1.0, 2.0, 2.0]), 0.5))
    worst entry [1]: got 5.0, expected 2.0, difference 3, tolerance 0.5
    >>> worst(np.array([np.inf]), np.array([np.inf]), 0.0) is None
    True
    """
    a, b = np.asarray(got), np.asarray(want)
    limit = np.broadcast_to(np.asarray(allowed, dtype=float), b.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a - b)
        holds = (a == b) | (err <= limit)
    if np.all(holds):
        return None
    with np.errstate(invalid="ignore"):
        excess = np.where(holds, -np.inf, err - limit)
    excess = np.where(np.isnan(excess), np.inf, excess)  # a NaN difference is the worst
    flat = int(np.argmax(excess))
    index = tuple(int(i) for i in np.unravel_index(flat, b.shape)) if b.ndim else ()
    return Mismatch(
        index, _item(a, index), _item(b, index), float(_item(err, index)), float(limit[index])
    )


def assert_close(got: Any, want: Any, allowed: Any, what: str, example: object = None) -> None:
    """AssertionError naming the worst entry unless ``|got - want| <= allowed`` everywhere.

    ``allowed`` is an array of per-entry tolerances or one number; build one from a
    relative and an absolute tolerance as ``rtol * np.abs(want) + atol``.

    >>> assert_close(np.ones(3), np.ones(3) + 1e-7, 1e-6, "x")
    """
    a, b = np.asarray(got), np.asarray(want)
    if a.shape != b.shape:
        where = "" if example is None else f"; case {example!r}"
        raise AssertionError(f"{what}: got shape {a.shape}, expected {b.shape}{where}")
    found = worst(a, b, allowed)
    if found is not None:
        raise AssertionError(_message(what, found, a, b, example))


def assert_rows_close(
    what: str,
    got: Array,
    want: Array,
    allowed: Array,
    skip: Array,
    example: object,
    ratios: Array | None = None,
) -> None:
    """:func:`assert_close` row by row (one row per unit of a parameter): the first row outside
    ``skip`` that does not hold is reported as ``<what> unit <i>`` (with its ratio
    ``||G_i|| / bound_i``, where given).

    >>> rows = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> skip = np.array([False, True])
    >>> assert_rows_close("param 0", rows, rows + [[0, 0], [9, 9]], np.zeros((2, 2)), skip, None)
    """
    with np.errstate(invalid="ignore"):
        bad = ~np.all((got == want) | (np.abs(got - want) <= allowed), axis=1) & ~skip
    if bad.any():
        i = int(np.argmax(bad))
        unit = f"{what} unit {i}" + ("" if ratios is None else f" (ratio {ratios[i]:.6g})")
        assert_close(got[i], want[i], allowed[i], unit, example)


def assert_at_most(got: Any, limit: Any, what: str, example: object = None) -> None:
    """AssertionError naming the entry that most exceeds its bound where ``got > limit``
    (a NaN entry exceeds nothing: the clauses on non-finite values judge it).

    >>> assert_at_most(np.array([0.5, 1.0]), np.array([1.0, 1.0]), "|G|")
    """
    a = np.asarray(got)
    b = np.broadcast_to(np.asarray(limit), a.shape)
    with np.errstate(invalid="ignore"):
        over = a > b
        if not over.any():
            return
        excess = np.where(over, a - b, -np.inf)
    excess = np.where(np.isnan(excess), np.inf, excess)  # inf above inf
    flat = int(np.argmax(excess))
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape)) if a.ndim else ()
    found = Mismatch(index, _item(a, index), _item(b, index), float(excess[index]), 0.0, "at most")
    raise AssertionError(_message(what, found, a, b, example))


def bits(t: torch.Tensor) -> bytes:
    """The raw bytes of ``t``'s values in logical order (bitwise comparison, NaN included).

    >>> bits(torch.tensor([1.0])) == bits(torch.tensor([1.0])), bits(torch.tensor([0.0])) == bits(
    ...     torch.tensor([-0.0]))
    (True, False)
    """
    flat = t.detach().cpu().resolve_conj().reshape(-1)
    if flat.is_complex():
        flat = torch.view_as_real(flat).reshape(-1)
    same_size = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[flat.element_size()]
    return bytes(flat.view(same_size).numpy().tobytes())


def _words(t: torch.Tensor) -> Array:
    """``t``'s values as integers of the same size, in logical order (complex: real, imag)."""
    flat = t.detach().cpu().resolve_conj().reshape(-1)
    if flat.is_complex():
        flat = torch.view_as_real(flat).reshape(-1)
    same_size = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[flat.element_size()]
    return np.asarray(flat.view(same_size).numpy())


def assert_bitwise(got: Any, want: torch.Tensor, what: str, example: object = None) -> None:
    """AssertionError naming the first entry that differs unless ``got`` has every bit of
    ``want`` (same shape, same dtype, NaN payloads and signed zeros included).

    >>> assert_bitwise(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, float("nan")]), "g")
    >>> try:
    ...     assert_bitwise(torch.tensor([0.0, 2.0]), torch.tensor([-0.0, 2.0]), "g")
    ... except AssertionError as error:
    ...     print(str(error).split(";")[0])
    g: worst entry [0]: got 0.0, expected -0.0, difference 0, tolerance 0 (bitwise)
    """
    where = "" if example is None else f"; case {example!r}"
    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{what}: got {got!r}, not a tensor{where}")
    if got.shape != want.shape or got.dtype != want.dtype:
        raise AssertionError(
            f"{what}: got {got.dtype} of shape {tuple(got.shape)}, expected {want.dtype} of "
            f"shape {tuple(want.shape)}{where}"
        )
    a, b = _words(got), _words(want)
    differ = np.flatnonzero(a != b)
    if differ.size == 0:
        return
    real = torch.view_as_real(want).shape if want.is_complex() else want.shape
    step = 2 if want.is_complex() else 1
    index = tuple(
        int(i) for i in np.unravel_index(int(differ[0]) // step, tuple(real[: want.ndim]))
    )
    g, w = got.detach().cpu()[index].item(), want.detach().cpu()[index].item()
    found = Mismatch(index, g, w, abs(g - w) if g == g and w == w else float("nan"), 0.0)
    wide = torch.complex128 if want.is_complex() else torch.float64
    shown = (
        f"{what}: {found} (bitwise); got {brief(got.detach().cpu().to(wide).numpy())}, "
        f"expected {brief(want.detach().cpu().to(wide).numpy())}{where}"
    )
    raise AssertionError(shown)
