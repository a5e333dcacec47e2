"""Mutation operators: plain :mod:`ast` visitors that propose small changes to a target's source.

>>> import ast
>>> from conformance.mutate.operators import find_mutations
>>> tree = ast.parse("def f(x):\\n    return x > 0\\n")
>>> [(m.operator, m.description) for m in find_mutations(tree, [tree.body[0]])][1:4]
[('comparison', "'>' -> '>='"), ('comparison', "'>' -> '<='"), ('constant', '0 -> 1')]

Each operator looks at one kind of node and proposes replacements for it; a
:class:`Mutation` says which node (``parent.field[index]``), what replaces it (the new
AST node or list, from which the expected mutated tree is built), and a minimal text
edit (:class:`Edit`) that turns the original source into the mutant's, so that a
mutant's diff shows only the change. :mod:`conformance.mutate.mutants` applies the edit and
checks that the text parses to the expected tree (falling back to the node's
``ast.unparse`` in parentheses when it does not).

Operators (:data:`OPERATORS`): ``comparison``, ``arithmetic``, ``constant``, ``axis``,
``reduction``, ``inplace``, ``statement``, ``branch``, ``negate``, ``literal``, ``default``,
``validator``. Never mutated: docstrings, string constants, f-strings, the arguments of a
``raise`` (its message), decorators (except that ``validator`` removes a whole validator)
and annotations (except ``Literal[...]`` members).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["OPERATORS", "Edit", "Mutation", "find_mutations", "numeric_candidates"]

OPERATORS: dict[str, str] = {
    "comparison": "a comparison operator replaced (< <= > >= == != is in; chained: each)",
    "arithmetic": "an arithmetic operator replaced (+ - * / // % ** @ & |), unary minus removed",
    "constant": "a number replaced (0, 1, off by one, x10 and /10 for floats); a bool negated",
    "axis": "a dim/axis/dims argument moved, dropped or set to None; keepdim negated",
    "reduction": "sum/mean, max/min, amax/amin swapped; norm order ord/p changed; clamp min/max",
    "inplace": "an in-place method made out-of-place (mul_ -> mul) or the other way",
    "statement": "a statement removed (replaced by pass)",
    "branch": "an if condition replaced by True or by False (a branch removed)",
    "negate": "a condition negated; 'and' and 'or' swapped",
    "literal": "a Literal[...] or Enum member removed, or one added",
    "default": "a default value changed (number, bool, another Literal member)",
    "validator": "a validator removed (pydantic field/model validator, __post_init__)",
}
"""Every operator's name and what it does, in the order mutants are listed."""

_COMPARE_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Lt: (ast.LtE, ast.GtE),
    ast.LtE: (ast.Lt, ast.Gt),
    ast.Gt: (ast.GtE, ast.LtE),
    ast.GtE: (ast.Gt, ast.Lt),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}
_COMPARE_TEXT: dict[type, str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_BIN_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult,),
    ast.FloorDiv: (ast.Div,),
    ast.Mod: (ast.FloorDiv,),
    ast.Pow: (ast.Mult,),
    ast.MatMult: (ast.Mult,),
    ast.BitAnd: (ast.BitOr,),
    ast.BitOr: (ast.BitAnd,),
}
_BIN_TEXT: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
}
_AXIS_KEYWORDS = frozenset({"dim", "axis", "dims"})
_ORDER_KEYWORDS = frozenset({"ord", "p"})
_REDUCTION_SWAPS = {
    "sum": "mean",
    "mean": "sum",
    "amax": "amin",
    "amin": "amax",
    "max": "min",
    "min": "max",
    "maximum": "minimum",
    "minimum": "maximum",
    "argmax": "argmin",
    "argmin": "argmax",
    "clamp_min": "clamp_max",
    "clamp_max": "clamp_min",
}
_CLAMPS = frozenset({"clamp", "clip", "clamp_", "clip_"})
_INPLACE_BASES = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "clamp",
        "clamp_min",
        "clamp_max",
        "abs",
        "neg",
        "sqrt",
        "pow",
        "exp",
        "log",
        "addcmul",
        "addcdiv",
        "lerp",
        "masked_fill",
    }
)
_VALIDATOR_DECORATORS = frozenset(
    {"field_validator", "model_validator", "validator", "root_validator"}
)
_VALIDATOR_METHODS = frozenset({"__post_init__", "model_post_init"})
_SKIPPED_METHODS = frozenset({"__repr__", "__str__"})
_ENUM_BASES = ("Enum", "StrEnum", "IntEnum", "Flag", "IntFlag")
_STATEMENTS = (
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Return,
    ast.Raise,
    ast.Assert,
    ast.For,
    ast.While,
    ast.Continue,
    ast.Break,
    ast.Delete,
)
_ADDED_STR = "mutant"
"""The member a ``literal`` mutant adds to a set of strings."""


@dataclass(frozen=True)
class Edit:
    """Replace the source from ``start`` to ``end`` (``(line, col)``: 1-based line, 0-based
    UTF-8 byte column, as :mod:`ast` counts) by ``text``."""

    start: tuple[int, int]
    end: tuple[int, int]
    text: str
    old: str | None = None
    """When set: only the token ``old`` inside the span is replaced by ``text``."""


@dataclass
class Mutation:
    """One proposed change: the node at ``parent.field`` (``[index]`` in a list) becomes ``new``."""

    operator: str
    line: int
    col: int
    description: str
    parent: ast.AST
    field: str
    index: int | None
    new: Any
    """An AST node, or a whole new list for ``parent.field``."""
    edits: tuple[Edit, ...]
    fallback: str | None = None
    """Text replacing the whole node when the edits do not give the expected tree."""
    node: ast.AST | None = dataclasses.field(default=None, repr=False)
    end_line: int = 0
    """The last line of the changed node (``line`` .. ``end_line``: where it is executed)."""

    def swap(self) -> Any:
        """Put ``new`` in place in the tree; returns what was there (give it to :meth:`restore`)."""
        old = getattr(self.parent, self.field)
        if self.index is None:
            setattr(self.parent, self.field, self.new)
        else:
            copy = list(old)
            copy[self.index] = self.new
            setattr(self.parent, self.field, copy)
        return old

    def restore(self, old: Any) -> None:
        setattr(self.parent, self.field, old)


def numeric_candidates(value: int | float) -> list[int | float]:
    """The numbers a ``constant`` (or ``default``) mutant puts in place of ``value``.

    >>> numeric_candidates(2), numeric_candidates(0), numeric_candidates(1e-3)
    ([3, 1, 0], [1, -1], [0.0, 1.0, 0.01, 0.0001])

    Ints: off by one (``v + 1``, ``v - 1``), then 0 and 1. Floats: 0.0 and 1.0, then ten
    times larger and smaller (an eps of another order). The value itself is never proposed.
    """
    if isinstance(value, int):
        out: list[int | float] = [value + 1, value - 1, 0, 1]
    else:
        tenfold = float(Decimal(repr(value)) * 10)
        tenth = float(Decimal(repr(value)) / 10)
        out = [0.0, 1.0, tenfold, tenth]
    seen: list[int | float] = []
    for v in out:
        if v != value and v not in seen:
            seen.append(v)
    return seen


def _number_node(value: int | float) -> ast.expr:
    if value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


def _text(node: ast.AST) -> str:
    return ast.unparse(node)


def _start(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


def _end(node: ast.AST) -> tuple[int, int]:
    return (node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def _is_number(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    )


def _is_bool(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, bool)


def _name_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name_of(node.func)
    return None


def _is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Subscript) and _name_of(node.value) == "Literal"


def _literal_members(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


@dataclass
class _Context:
    """Where the walk is: what is skipped or handled by another operator there."""

    annotation: bool = False
    quiet: bool = False
    """Inside an f-string, a raise or an assert message: nothing is mutated."""
    in_function: bool = False


class _Finder:
    """Walks the scope nodes and collects every operator's mutations."""

    def __init__(self, aliases: dict[str, ast.Subscript]) -> None:
        self.out: list[Mutation] = []
        self.handled: set[int] = set()
        """Nodes another operator mutates (defaults, dim keywords, norm orders, keepdim):
        ``constant`` leaves them alone."""
        self.aliases = aliases
        """Module-level ``Name = Literal[...]``: the Literal a default's annotation names."""

    # -- helpers ----------------------------------------------------------------------------

    def add(
        self,
        operator: str,
        anchor: ast.AST,
        description: str,
        parent: ast.AST,
        field_name: str,
        index: int | None,
        new: Any,
        edits: Sequence[Edit],
        fallback: str | None = None,
        node: ast.AST | None = None,
    ) -> None:
        line, col = _start(anchor)
        self.out.append(
            Mutation(
                operator,
                line,
                col,
                description,
                parent,
                field_name,
                index,
                new,
                tuple(edits),
                fallback,
                node,
                getattr(anchor, "end_lineno", None) or line,
            )
        )

    def replace(
        self,
        operator: str,
        node: ast.expr,
        parent: ast.AST,
        field_name: str,
        index: int | None,
        new: ast.expr,
        description: str,
        edits: Sequence[Edit] | None = None,
    ) -> None:
        """Replace the expression ``node`` by ``new`` (text: the given edits, or its unparse)."""
        text = _text(new)
        if edits is None:
            edits = [Edit(_start(node), _end(node), text)]
        self.add(
            operator,
            node,
            description,
            parent,
            field_name,
            index,
            new,
            edits,
            f"({text})",
            node,
        )

    # -- the walk ---------------------------------------------------------------------------

    def walk(self, node: ast.AST, ctx: _Context) -> None:
        for field_name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for index, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        self.child(node, field_name, index, child, ctx)
            elif isinstance(value, ast.AST):
                self.child(node, field_name, None, value, ctx)

    def child(
        self, parent: ast.AST, field_name: str, index: int | None, node: ast.AST, ctx: _Context
    ) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(parent, field_name, index, node, ctx)
            return
        if isinstance(node, ast.ClassDef):
            self.klass(node, ctx)
            return
        if isinstance(node, ast.JoinedStr):
            return
        if isinstance(node, (ast.Raise, ast.Assert)):
            if ctx.in_function and not ctx.quiet:
                self.statement(parent, field_name, index, node)
            if isinstance(node, ast.Assert):
                self.child(node, "test", None, node.test, ctx)
            return
        if isinstance(node, ast.expr) and not ctx.quiet:
            self.expression(parent, field_name, index, node, ctx)
        if isinstance(node, ast.stmt) and not ctx.quiet:
            self.stmt(parent, field_name, index, node, ctx)
        if isinstance(node, ast.AnnAssign):
            self.child(node, "target", None, node.target, ctx)
            self.child(node, "annotation", None, node.annotation, _annotation(ctx))
            if node.value is not None:
                self.child(node, "value", None, node.value, ctx)
            return
        if isinstance(node, ast.arg):
            if node.annotation is not None:
                self.child(node, "annotation", None, node.annotation, _annotation(ctx))
            return
        self.walk(node, ctx)

    def function(
        self,
        parent: ast.AST,
        field_name: str,
        index: int | None,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        ctx: _Context,
    ) -> None:
        if node.name in _SKIPPED_METHODS or any(
            _name_of(d) == "overload" for d in node.decorator_list
        ):
            return
        if ctx.in_function is False and not ctx.quiet and index is not None:
            self.validator(parent, field_name, index, node)
        self.defaults(node, ctx)
        inner = _Context(in_function=True)
        self.child(node, "args", None, node.args, _Context())
        if node.returns is not None:
            self.child(node, "returns", None, node.returns, _annotation(inner))
        for i, stmt in enumerate(node.body):
            if i == 0 and _is_docstring(stmt):
                continue
            self.child(node, "body", i, stmt, inner)

    def klass(self, node: ast.ClassDef, ctx: _Context) -> None:
        self.enum(node)
        for i, stmt in enumerate(node.body):
            if i == 0 and _is_docstring(stmt):
                continue
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self.field_default(stmt)
                self.child(stmt, "annotation", None, stmt.annotation, _annotation(ctx))
                self.child(stmt, "value", None, stmt.value, _Context())
                continue
            self.child(node, "body", i, stmt, _Context())

    # -- expressions ------------------------------------------------------------------------

    def expression(
        self, parent: ast.AST, field_name: str, index: int | None, node: ast.expr, ctx: _Context
    ) -> None:
        if _is_literal(node):
            self.literal(node)  # type: ignore[arg-type]
        if ctx.annotation:
            return
        if isinstance(node, ast.Compare):
            self.comparison(parent, field_name, index, node)
        elif isinstance(node, ast.BinOp):
            self.binop(parent, field_name, index, node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if not _is_number(node.operand):
                self.replace(
                    "arithmetic", node, parent, field_name, index, node.operand, "unary '-' removed"
                )
        elif isinstance(node, ast.Constant) and id(node) not in self.handled:
            if _is_number(node):
                for value in numeric_candidates(node.value):  # type: ignore[arg-type]
                    self.replace(
                        "constant",
                        node,
                        parent,
                        field_name,
                        index,
                        _number_node(value),
                        f"{node.value!r} -> {value!r}",
                    )
            elif _is_bool(node):
                self.replace(
                    "constant",
                    node,
                    parent,
                    field_name,
                    index,
                    ast.Constant(not node.value),
                    f"{node.value!r} -> {not node.value!r}",
                )
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.IfExp):
            self.condition(node, "test", None, node.test)
        elif isinstance(node, ast.BoolOp):
            self.boolop(parent, field_name, index, node)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for gen in node.generators:
                for i, test in enumerate(gen.ifs):
                    self.negate(gen, "ifs", i, test)

    def comparison(
        self, parent: ast.AST, field_name: str, index: int | None, node: ast.Compare
    ) -> None:
        for position, op in enumerate(node.ops):
            before = node.left if position == 0 else node.comparators[position - 1]
            after = node.comparators[position]
            for swap in _COMPARE_SWAPS.get(type(op), ()):
                ops = list(node.ops)
                ops[position] = swap()
                new = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
                old_text, new_text = _COMPARE_TEXT[type(op)], _COMPARE_TEXT[swap]
                edits = [_token_edit(before, after, old_text, new_text)]
                self.replace(
                    "comparison",
                    node,
                    parent,
                    field_name,
                    index,
                    new,
                    f"{old_text!r} -> {new_text!r}",
                    edits,
                )

    def binop(self, parent: ast.AST, field_name: str, index: int | None, node: ast.BinOp) -> None:
        for swap in _BIN_SWAPS.get(type(node.op), ()):
            new = ast.BinOp(left=node.left, op=swap(), right=node.right)
            old_text, new_text = _BIN_TEXT[type(node.op)], _BIN_TEXT[swap]
            edits = [_token_edit(node.left, node.right, old_text, new_text)]
            self.replace(
                "arithmetic",
                node,
                parent,
                field_name,
                index,
                new,
                f"{old_text!r} -> {new_text!r}",
                edits,
            )

    def boolop(self, parent: ast.AST, field_name: str, index: int | None, node: ast.BoolOp) -> None:
        is_and = isinstance(node.op, ast.And)
        old_text, new_text = ("and", "or") if is_and else ("or", "and")
        new = ast.BoolOp(op=ast.Or() if is_and else ast.And(), values=node.values)
        edits = [
            _token_edit(a, b, old_text, new_text)
            for a, b in zip(node.values, node.values[1:], strict=False)
        ]
        self.replace(
            "negate", node, parent, field_name, index, new, f"{old_text!r} -> {new_text!r}", edits
        )

    def call(self, node: ast.Call) -> None:
        func = node.func
        name = _name_of(func)
        if isinstance(func, (ast.Attribute, ast.Name)) and name in _REDUCTION_SWAPS:
            self.rename("reduction", node, func, _REDUCTION_SWAPS[name])
        if isinstance(func, ast.Attribute):
            attr = func.attr
            base = attr[:-1] if attr.endswith("_") and not attr.endswith("__") else None
            stem = base[len("_foreach_") :] if base and base.startswith("_foreach_") else base
            if stem in _INPLACE_BASES:
                self.rename("inplace", node, func, base)  # type: ignore[arg-type]
            elif attr.removeprefix("_foreach_") in _INPLACE_BASES and not attr.endswith("_"):
                self.rename("inplace", node, func, attr + "_")
        for i, keyword in enumerate(node.keywords):
            if keyword.arg in _AXIS_KEYWORDS | {"keepdim"} or (
                keyword.arg in _ORDER_KEYWORDS and "norm" in (name or "")
            ):
                self.handled.update(id(n) for n in ast.walk(keyword.value))
            if keyword.arg in _AXIS_KEYWORDS:
                self.axis(node, keyword)
            elif keyword.arg == "keepdim" and _is_bool(keyword.value):
                value = keyword.value.value  # type: ignore[attr-defined]
                self.replace(
                    "axis",
                    keyword.value,
                    keyword,
                    "value",
                    None,
                    ast.Constant(not value),
                    f"keepdim={value!r} -> keepdim={not value!r}",
                )
            elif keyword.arg in _ORDER_KEYWORDS and "norm" in (name or ""):
                self.order(keyword)
            elif keyword.arg in ("min", "max") and name in _CLAMPS:
                other = "max" if keyword.arg == "min" else "min"
                new_kw = ast.keyword(arg=other, value=keyword.value)
                start = (keyword.lineno, keyword.col_offset)
                edit = Edit(start, (start[0], start[1] + len(keyword.arg)), other)
                self.add(
                    "reduction",
                    keyword,
                    f"clamp {keyword.arg}= -> {other}=",
                    node,
                    "keywords",
                    i,
                    new_kw,
                    [edit],
                )

    def rename(self, operator: str, call: ast.Call, func: ast.expr, new_name: str) -> None:
        old_name = _name_of(func) or ""
        if isinstance(func, ast.Attribute):
            new_func: ast.expr = ast.Attribute(value=func.value, attr=new_name, ctx=ast.Load())
            end = _end(func)
            edit = Edit((end[0], end[1] - len(old_name)), end, new_name)
        else:
            new_func = ast.Name(id=new_name, ctx=ast.Load())
            edit = Edit(_start(func), _end(func), new_name)
        self.add(
            operator,
            call,
            f"{old_name} -> {new_name}",
            call,
            "func",
            None,
            new_func,
            [edit],
            node=func,
        )

    def axis(self, call: ast.Call, keyword: ast.keyword) -> None:
        value = keyword.value
        options: list[ast.expr] = []
        number = _int_value(value)
        if number is not None:
            options = [_number_node(number + 1), _number_node(number - 1), ast.Constant(None)]
        elif isinstance(value, ast.Tuple) and len(value.elts) > 1:
            for i in range(len(value.elts)):
                rest = value.elts[:i] + value.elts[i + 1 :]
                options.append(ast.Tuple(elts=rest, ctx=ast.Load()))
            options.append(ast.Constant(None))
        elif isinstance(value, ast.Constant) and value.value is None:
            options = [ast.Constant(0)]
        else:
            options = [ast.Constant(None)]
        for new in options:
            shown = _text(new)
            self.replace(
                "axis",
                value,
                keyword,
                "value",
                None,
                new,
                f"{keyword.arg}={_text(value)} -> {keyword.arg}={shown}",
            )

    def order(self, keyword: ast.keyword) -> None:
        if not _is_number(keyword.value):
            return
        value = keyword.value.value  # type: ignore[attr-defined]
        for new_value in (1, 2, "inf"):
            if new_value == value:
                continue
            if new_value == "inf":
                new: ast.expr = ast.Call(
                    func=ast.Name(id="float", ctx=ast.Load()),
                    args=[ast.Constant("inf")],
                    keywords=[],
                )
            else:
                new = ast.Constant(new_value)
            self.replace(
                "reduction",
                keyword.value,
                keyword,
                "value",
                None,
                new,
                f"{keyword.arg}={value!r} -> {keyword.arg}={_text(new)}",
            )

    def literal(self, node: ast.Subscript) -> None:
        members = _literal_members(node)
        for i, member in enumerate(members):
            if len(members) < 2:
                break
            rest = members[:i] + members[i + 1 :]
            self.members(node, rest, f"Literal member {_text(member)} removed")
        values = [m.value for m in members if isinstance(m, ast.Constant)]
        added: ast.expr | None = None
        if values and all(isinstance(v, str) for v in values):
            added = ast.Constant(_ADDED_STR)
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            added = ast.Constant(max(int(v) for v in values) + 1)  # type: ignore[arg-type]
        if added is not None:
            self.members(node, [*members, added], f"Literal member {_text(added)} added")

    def members(self, node: ast.Subscript, members: list[ast.expr], description: str) -> None:
        new: ast.expr = members[0] if len(members) == 1 else ast.Tuple(elts=members, ctx=ast.Load())
        text = ", ".join(_text(m) for m in members)
        edit = Edit(_start(node.slice), _end(node.slice), text)
        self.add("literal", node, description, node, "slice", None, new, [edit], node=node.slice)

    # -- statements -------------------------------------------------------------------------

    def stmt(
        self, parent: ast.AST, field_name: str, index: int | None, node: ast.stmt, ctx: _Context
    ) -> None:
        if isinstance(node, ast.If):
            self.branch(node)
            self.condition(node, "test", None, node.test)
        elif isinstance(node, ast.While):
            self.condition(node, "test", None, node.test)
        elif isinstance(node, ast.AugAssign):
            for swap in _BIN_SWAPS.get(type(node.op), ()):
                new = ast.AugAssign(target=node.target, op=swap(), value=node.value)
                old_text, new_text = _BIN_TEXT[type(node.op)] + "=", _BIN_TEXT[swap] + "="
                edit = _token_edit(node.target, node.value, old_text, new_text)
                self.add(
                    "arithmetic",
                    node,
                    f"{old_text!r} -> {new_text!r}",
                    parent,
                    field_name,
                    index,
                    new,
                    [edit],
                )
        if ctx.in_function and isinstance(node, _STATEMENTS) and not _is_docstring(node):
            if isinstance(node, ast.AnnAssign) and node.value is None:
                return
            self.statement(parent, field_name, index, node)

    def statement(
        self, parent: ast.AST, field_name: str, index: int | None, node: ast.stmt
    ) -> None:
        if index is None:
            return
        kind = type(node).__name__.lower()
        first = _text(node).splitlines()[0] if _text(node) else kind
        shown = first if len(first) <= 60 else first[:57] + "..."
        self.add(
            "statement",
            node,
            f"removed: {shown}",
            parent,
            field_name,
            index,
            ast.Pass(),
            [Edit(_start(node), _end(node), "pass")],
        )

    def branch(self, node: ast.If) -> None:
        for value in (True, False):
            self.replace(
                "branch",
                node.test,
                node,
                "test",
                None,
                ast.Constant(value),
                f"if condition -> {value}",
            )

    def condition(
        self, parent: ast.AST, field_name: str, index: int | None, test: ast.expr
    ) -> None:
        self.negate(parent, field_name, index, test)

    def negate(self, parent: ast.AST, field_name: str, index: int | None, test: ast.expr) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            new: ast.expr = test.operand
            description = "'not' removed"
            edits = [Edit(_start(test), _start(new), "")]
        else:
            new = ast.UnaryOp(op=ast.Not(), operand=test)
            description = "condition negated"
            if _is_atom(test):
                edits = [Edit(_start(test), _start(test), "not ")]
            else:
                edits = [
                    Edit(_start(test), _start(test), "not ("),
                    Edit(_end(test), _end(test), ")"),
                ]
        self.replace("negate", test, parent, field_name, index, new, description, edits)

    def enum(self, node: ast.ClassDef) -> None:
        if not any(_name_of(b) in _ENUM_BASES for b in node.bases):
            return
        members = [
            (i, s)
            for i, s in enumerate(node.body)
            if isinstance(s, ast.Assign)
            and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name)
            and not s.targets[0].id.startswith("_")
        ]
        if len(members) >= 2:
            for i, stmt in members:
                name = stmt.targets[0].id  # type: ignore[attr-defined]
                self.add(
                    "literal",
                    stmt,
                    f"Enum member {name} removed",
                    node,
                    "body",
                    i,
                    ast.Pass(),
                    [Edit(_start(stmt), _end(stmt), "pass")],
                )
        if not members:
            return
        values = [s.value for _, s in members]
        new_value: ast.expr | None = None
        if all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values):
            new_value = ast.Constant(_ADDED_STR)
        elif all(_int_value(v) is not None for v in values):
            new_value = _number_node(max(_int_value(v) or 0 for v in values) + 1)
        elif all(isinstance(v, ast.Call) and _name_of(v) == "auto" for v in values):
            new_value = ast.Call(func=values[0].func, args=[], keywords=[])  # type: ignore[attr-defined]
        if new_value is None:
            return
        last_index, last = members[-1]
        added = ast.Assign(targets=[ast.Name(id="MUTANT", ctx=ast.Store())], value=new_value)
        body = list(node.body)
        body.insert(last_index + 1, added)
        indent = " " * last.col_offset
        text = f"\n{indent}MUTANT = {_text(new_value)}"
        self.add(
            "literal",
            node,
            "Enum member MUTANT added",
            node,
            "body",
            None,
            body,
            [Edit(_end(last), _end(last), text)],
        )

    def validator(
        self,
        parent: ast.AST,
        field_name: str,
        index: int,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
    ) -> None:
        names = {_name_of(d) for d in node.decorator_list}
        if not (names & _VALIDATOR_DECORATORS or node.name in _VALIDATOR_METHODS):
            return
        first = node.decorator_list[0] if node.decorator_list else node
        start = (first.lineno, node.col_offset)
        self.add(
            "validator",
            node,
            f"validator {node.name} removed",
            parent,
            field_name,
            index,
            ast.Pass(),
            [Edit(start, _end(node), "pass")],
        )

    # -- defaults ---------------------------------------------------------------------------

    def defaults(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: _Context) -> None:
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs: list[tuple[ast.arg, ast.expr, str, int]] = []
        offset = len(positional) - len(args.defaults)
        for i, value in enumerate(args.defaults):
            pairs.append((positional[offset + i], value, "defaults", i))
        for i, kw_value in enumerate(args.kw_defaults):
            if kw_value is not None:
                pairs.append((args.kwonlyargs[i], kw_value, "kw_defaults", i))
        for arg, value, field_name, i in pairs:
            self.default(args, field_name, i, value, arg.annotation, arg.arg)

    def field_default(self, stmt: ast.AnnAssign) -> None:
        value = stmt.value
        name = _text(stmt.target)
        if isinstance(value, ast.Call) and _name_of(value.func) in ("Field", "field"):
            for keyword in value.keywords:
                if keyword.arg == "default":
                    self.default(keyword, "value", None, keyword.value, stmt.annotation, name)
            if value.args and _name_of(value.func) == "Field":
                self.default(value, "args", 0, value.args[0], stmt.annotation, name)
            return
        self.default(stmt, "value", None, value, stmt.annotation, name)  # type: ignore[arg-type]

    def default(
        self,
        parent: ast.AST,
        field_name: str,
        index: int | None,
        value: ast.expr,
        annotation: ast.expr | None,
        name: str,
    ) -> None:
        self.handled.add(id(value))
        if isinstance(value, ast.UnaryOp):
            self.handled.add(id(value.operand))
        options: list[ast.expr] = []
        number = _signed_number(value)
        if number is not None:
            options = [_number_node(v) for v in numeric_candidates(number)]
        elif _is_bool(value):
            options = [ast.Constant(not value.value)]  # type: ignore[attr-defined]
        elif isinstance(value, ast.Constant) and isinstance(value.value, str):
            literal = self.literal_of(annotation)
            if literal is not None:
                options = [
                    m
                    for m in _literal_members(literal)
                    if isinstance(m, ast.Constant) and m.value != value.value
                ]
        for new in options:
            self.replace(
                "default",
                value,
                parent,
                field_name,
                index,
                new,
                f"default {name}={_text(value)} -> {_text(new)}",
            )

    def literal_of(self, annotation: ast.expr | None) -> ast.Subscript | None:
        if annotation is None:
            return None
        if _is_literal(annotation):
            return annotation  # type: ignore[return-value]
        if isinstance(annotation, ast.Name):
            return self.aliases.get(annotation.id)
        return None


def _annotation(ctx: _Context) -> _Context:
    return _Context(annotation=True, in_function=ctx.in_function)


def _is_docstring(stmt: ast.AST) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_atom(node: ast.AST) -> bool:
    return isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant))


def _int_value(node: ast.AST) -> int | None:
    number = _signed_number(node)
    return number if isinstance(number, int) else None


def _signed_number(node: ast.AST) -> int | float | None:
    if _is_number(node):
        return node.value  # type: ignore[attr-defined]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _is_number(node.operand):
        return -node.operand.value  # type: ignore[attr-defined]
    return None


def _token_edit(before: ast.AST, after: ast.AST, old: str, new: str) -> Edit:
    """The edit replacing the operator token ``old`` between two operands by ``new``.

    The token is looked for between the end of ``before`` and the start of ``after``, where
    only brackets, whitespace, comments and the operator can be.
    """
    return Edit(_end(before), _start(after), new, old)


def find_mutations(tree: ast.Module, scope: Sequence[ast.AST]) -> list[Mutation]:
    """Every mutation of the ``scope`` nodes (module-level statements of ``tree``), in source order.

    A function or class in ``scope`` is mutated whole; a module-level assignment only in its
    value (its statement is never removed).
    """
    aliases = {
        s.targets[0].id: s.value
        for s in tree.body
        if isinstance(s, ast.Assign)
        and len(s.targets) == 1
        and isinstance(s.targets[0], ast.Name)
        and _is_literal(s.value)
    }
    finder = _Finder(aliases)  # type: ignore[arg-type]
    for node in scope:
        index = tree.body.index(node)  # type: ignore[arg-type]
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            if node.value is not None:
                finder.child(node, "value", None, node.value, _Context())
            continue
        finder.child(tree, "body", index, node, _Context())
    return sorted(finder.out, key=lambda m: (m.line, m.col))


def iter_names(node: ast.AST) -> Iterator[str]:
    """Every name ``node`` reads (its helpers and constants, annotations included)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id
        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            yield sub.value.id
