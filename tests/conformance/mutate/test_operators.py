"""Each operator on small known functions gives exactly the mutants written out here by hand."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conformance.mutate.mutants import (
    MutateError,
    absolute_imports,
    generate,
    locate,
    sample,
    scope,
)
from conformance.mutate.operators import OPERATORS, numeric_candidates


def _mutants(source: str, name: str, operator: str) -> dict[str, str]:
    return {m.id: m.source for m in generate(source, name, operators=[operator])}


def test_comparison() -> None:
    src = "def f(a, b):\n    return a < b\n"
    assert _mutants(src, "f", "comparison") == {
        "comparison:2:11:0": "def f(a, b):\n    return a <= b\n",
        "comparison:2:11:1": "def f(a, b):\n    return a >= b\n",
    }


def test_comparison_chained_and_identity() -> None:
    src = "def f(a, b, c):\n    return a == b is not c\n"
    assert _mutants(src, "f", "comparison") == {
        "comparison:2:11:0": "def f(a, b, c):\n    return a != b is not c\n",
        "comparison:2:11:1": "def f(a, b, c):\n    return a == b is c\n",
    }


def test_arithmetic_keeps_precedence() -> None:
    src = "def f(a, b, c):\n    return c - a * b\n"
    found = _mutants(src, "f", "arithmetic")
    assert found == {
        "arithmetic:2:11:0": "def f(a, b, c):\n    return c + a * b\n",
        "arithmetic:2:15:0": "def f(a, b, c):\n    return c - a / b\n",
    }


def test_arithmetic_augmented_and_unary_minus() -> None:
    src = "def f(a, b):\n    a += b\n    return -a\n"
    assert _mutants(src, "f", "arithmetic") == {
        "arithmetic:2:4:0": "def f(a, b):\n    a -= b\n    return -a\n",
        "arithmetic:3:11:0": "def f(a, b):\n    a += b\n    return a\n",
    }


def test_arithmetic_swap_that_changes_grouping_is_parenthesised() -> None:
    src = "def f(a, b, c):\n    return a - b * c\n"
    # '-' -> '+' needs nothing; '*' -> '/' neither; but a swap inside a tighter operator does:
    src2 = "def f(a, b, c):\n    return a ** b + c\n"
    assert _mutants(src2, "f", "arithmetic") == {
        "arithmetic:2:11:0": "def f(a, b, c):\n    return a ** b - c\n",
        "arithmetic:2:11:1": "def f(a, b, c):\n    return a * b + c\n",
    }
    assert len(_mutants(src, "f", "arithmetic")) == 2


def test_constant_numbers_and_bools() -> None:
    src = "def f(x):\n    return x * 2.5 + 3, True\n"
    assert _mutants(src, "f", "constant") == {
        "constant:2:15:0": "def f(x):\n    return x * 0.0 + 3, True\n",
        "constant:2:15:1": "def f(x):\n    return x * 1.0 + 3, True\n",
        "constant:2:15:2": "def f(x):\n    return x * 25.0 + 3, True\n",
        "constant:2:15:3": "def f(x):\n    return x * 0.25 + 3, True\n",
        "constant:2:21:0": "def f(x):\n    return x * 2.5 + 4, True\n",
        "constant:2:21:1": "def f(x):\n    return x * 2.5 + 2, True\n",
        "constant:2:21:2": "def f(x):\n    return x * 2.5 + 0, True\n",
        "constant:2:21:3": "def f(x):\n    return x * 2.5 + 1, True\n",
        "constant:2:24:0": "def f(x):\n    return x * 2.5 + 3, False\n",
    }


def test_numeric_candidates() -> None:
    assert numeric_candidates(1) == [2, 0]
    assert numeric_candidates(-1) == [0, -2, 1]
    assert numeric_candidates(1e-6) == [0.0, 1.0, 1e-5, 1e-7]


def test_axis_keywords_and_keepdim() -> None:
    src = "def f(x):\n    return x.norm(dim=(1, 2), keepdim=True)\n"
    assert _mutants(src, "f", "axis") == {
        "axis:2:22:0": "def f(x):\n    return x.norm(dim=(2,), keepdim=True)\n",
        "axis:2:22:1": "def f(x):\n    return x.norm(dim=(1,), keepdim=True)\n",
        "axis:2:22:2": "def f(x):\n    return x.norm(dim=None, keepdim=True)\n",
        "axis:2:38:0": "def f(x):\n    return x.norm(dim=(1, 2), keepdim=False)\n",
    }
    # the numbers in a dim keyword are the axis operator's, not the constant operator's
    assert _mutants(src, "f", "constant") == {}


def test_axis_int_and_name() -> None:
    src = "def f(x, d):\n    return x.sum(dim=0) + x.mean(dim=d)\n"
    assert _mutants(src, "f", "axis") == {
        "axis:2:21:0": "def f(x, d):\n    return x.sum(dim=1) + x.mean(dim=d)\n",
        "axis:2:21:1": "def f(x, d):\n    return x.sum(dim=-1) + x.mean(dim=d)\n",
        "axis:2:21:2": "def f(x, d):\n    return x.sum(dim=None) + x.mean(dim=d)\n",
        "axis:2:37:0": "def f(x, d):\n    return x.sum(dim=0) + x.mean(dim=None)\n",
    }


def test_reduction_swaps_orders_and_clamp_bounds() -> None:
    src = "def f(x, e):\n    return x.sum() + torch.linalg.vector_norm(x, ord=2) + x.clamp(min=e)\n"
    assert _mutants(src, "f", "reduction") == {
        "reduction:2:11:0": "def f(x, e):\n"
        "    return x.mean() + torch.linalg.vector_norm(x, ord=2) + x.clamp(min=e)\n",
        "reduction:2:53:0": "def f(x, e):\n"
        "    return x.sum() + torch.linalg.vector_norm(x, ord=1) + x.clamp(min=e)\n",
        "reduction:2:53:1": "def f(x, e):\n"
        "    return x.sum() + torch.linalg.vector_norm(x, ord=float('inf')) + x.clamp(min=e)\n",
        "reduction:2:66:0": "def f(x, e):\n"
        "    return x.sum() + torch.linalg.vector_norm(x, ord=2) + x.clamp(max=e)\n",
    }


def test_inplace_both_ways() -> None:
    src = "def f(g, s):\n    g.mul_(s)\n    return g.add(s)\n"
    assert _mutants(src, "f", "inplace") == {
        "inplace:2:4:0": "def f(g, s):\n    g.mul(s)\n    return g.add(s)\n",
        "inplace:3:11:0": "def f(g, s):\n    g.mul_(s)\n    return g.add_(s)\n",
    }


def test_statement_removed_docstring_kept() -> None:
    src = 'def f(g):\n    """Doc."""\n    g.zero_()\n    return g\n'
    assert _mutants(src, "f", "statement") == {
        "statement:3:4:0": 'def f(g):\n    """Doc."""\n    pass\n    return g\n',
        "statement:4:4:0": 'def f(g):\n    """Doc."""\n    g.zero_()\n    pass\n',
    }


def test_branch_and_negate() -> None:
    src = "def f(x):\n    if x and not x.y:\n        return 1\n"
    assert _mutants(src, "f", "branch") == {
        "branch:2:7:0": "def f(x):\n    if True:\n        return 1\n",
        "branch:2:7:1": "def f(x):\n    if False:\n        return 1\n",
    }
    assert _mutants(src, "f", "negate") == {
        "negate:2:7:0": "def f(x):\n    if not (x and not x.y):\n        return 1\n",
        "negate:2:7:1": "def f(x):\n    if x or not x.y:\n        return 1\n",
    }


def test_raise_messages_and_fstrings_are_left_alone() -> None:
    src = 'def f(x):\n    raise ValueError(f"{x + 1} > 2")\n'
    found = {m.operator for m in generate(src, "f")}
    assert found == {"statement"}


def test_literal_members_removed_and_added() -> None:
    src = "from typing import Literal\n\nMode = Literal['a', 'b']\n\nclass C:\n    m: Mode = 'a'\n"
    assert _mutants(src, "C", "literal") == {
        "literal:3:7:0": src.replace("Literal['a', 'b']", "Literal['b']"),
        "literal:3:7:1": src.replace("Literal['a', 'b']", "Literal['a']"),
        "literal:3:7:2": src.replace("Literal['a', 'b']", "Literal['a', 'b', 'mutant']"),
    }
    # the default takes the alias's other member
    assert _mutants(src, "C", "default") == {
        "default:6:14:0": src.replace("m: Mode = 'a'", "m: Mode = 'b'"),
    }


def test_enum_members_removed_and_added() -> None:
    src = "import enum\n\nclass E(enum.Enum):\n    A = 1\n    B = 2\n"
    assert _mutants(src, "E", "literal") == {
        "literal:3:0:0": src + "    MUTANT = 3\n",
        "literal:4:4:0": "import enum\n\nclass E(enum.Enum):\n    pass\n    B = 2\n",
        "literal:5:4:0": "import enum\n\nclass E(enum.Enum):\n    A = 1\n    pass\n",
    }


def test_defaults() -> None:
    src = "def f(x, n=1, *, flag=False, name='x'):\n    return x\n"
    assert _mutants(src, "f", "default") == {
        "default:1:11:0": "def f(x, n=2, *, flag=False, name='x'):\n    return x\n",
        "default:1:11:1": "def f(x, n=0, *, flag=False, name='x'):\n    return x\n",
        "default:1:22:0": "def f(x, n=1, *, flag=True, name='x'):\n    return x\n",
    }
    assert _mutants(src, "f", "constant") == {}, "defaults belong to the default operator"


def test_validator_removed() -> None:
    src = (
        "class C(BaseModel):\n"
        "    x: int = 0\n"
        "\n"
        "    @field_validator('x')\n"
        "    @classmethod\n"
        "    def check(cls, v):\n"
        "        return v\n"
    )
    assert _mutants(src, "C", "validator") == {
        "validator:6:4:0": "class C(BaseModel):\n    x: int = 0\n\n    pass\n",
    }


def test_scope_follows_helpers_only() -> None:
    src = "K = 2\nU = 3\n\ndef h(x):\n    return x * K\n\ndef f(x):\n    return h(x)\n"
    assert [getattr(s, "name", "K") for s in scope(ast.parse(src), "f")] == ["K", "h", "f"]
    ids = {m.id for m in generate(src, "f", operators=["constant"])}
    assert ids == {"constant:1:4:0", "constant:1:4:1", "constant:1:4:2"}  # K: 3, 1, 0


def test_ids_are_stable_and_diffs_minimal() -> None:
    src = "def f(a, b):\n    return a < b\n"
    first, second = generate(src, "f"), generate(src, "f")
    assert [m.id for m in first] == [m.id for m in second]
    (comparison,) = [m for m in first if m.id == "comparison:2:11:0"]
    diff = comparison.diff.splitlines()
    assert "-    return a < b" in diff and "+    return a <= b" in diff


def test_every_mutant_parses_on_a_real_module() -> None:
    import impl.agc

    source = Path(impl.agc.__file__).read_text(encoding="utf-8")
    mutants = generate(source, "adaptive_gradient_clip_")
    assert len(mutants) > 100
    assert {m.operator for m in mutants} >= {"comparison", "statement", "constant", "branch"}
    for m in mutants:
        ast.parse(m.source)


def test_errors_name_the_bad_value() -> None:
    with pytest.raises(MutateError, match=r"unknown operator.*'swap'.*allowed are comparison"):
        generate("def f(): pass\n", "f", operators=["swap"])
    with pytest.raises(MutateError, match="defines no 'g'"):
        generate("def f(): pass\n", "g")
    assert set(OPERATORS) >= {"validator", "literal"}


def test_sample_is_reproducible_and_ordered() -> None:
    mutants = generate("def f(a, b):\n    return a * 2 < b + 3\n", "f")
    a, b = sample(mutants, 4, 7), sample(mutants, 4, 7)
    assert [m.id for m in a] == [m.id for m in b] and len(a) == 4
    order = [m.id for m in mutants]
    assert [order.index(m.id) for m in a] == sorted(order.index(m.id) for m in a)


def test_relative_imports_and_reexports() -> None:
    assert absolute_imports("from ..a import b\n", "p.q.r") == "from p.a import b\n"
    import sys

    file, _, module = locate("impl", "adaptive_gradient_clip_", sys.path)
    assert (file.name, module) == ("agc.py", "impl.agc")
