"""Mutants of a target's source: the function or class and the module-level helpers it uses.

>>> from conformance.mutate.mutants import generate
>>> source = "def f(x):\\n    return x + 1\\n"
>>> [(m.id, m.description) for m in generate(source, "f")]  # doctest: +NORMALIZE_WHITESPACE
[('statement:2:4:0', 'removed: return x + 1'), ('arithmetic:2:11:0', "'+' -> '-'"),
 ('constant:2:15:0', '1 -> 2'), ('constant:2:15:1', '1 -> 0')]
>>> print(generate(source, "f")[1].source, end="")
def f(x):
    return x - 1

A mutant's id is ``operator:line:column:index`` (the line and 0-based column of the node it
changes in the original file, and which of that operator's changes at that place it is):
stable as long as the file does not change above it. The scope is found without running
anything: the module-level function or class named by the target's qualified name, then
every module-level function, class or assignment whose name it reads, and theirs in turn.
Each mutant's text is the original with a minimal edit, checked to parse to the tree the
operator intended (otherwise the node is replaced by its ``ast.unparse`` in parentheses);
mutants whose text is the original's, or repeats an earlier one of the same operator, are
dropped.
"""

from __future__ import annotations

import ast
import difflib
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.mutate.operators import OPERATORS, Edit, Mutation, find_mutations, iter_names

__all__ = [
    "Mutant",
    "MutateError",
    "absolute_imports",
    "defines",
    "generate",
    "locate",
    "sample",
    "scope",
]


class MutateError(ValueError):
    """A target that cannot be mutated (no source, no such name) or a bad mutation option."""


@dataclass(frozen=True)
class Mutant:
    """One mutant: its id, what changed, the whole mutated source and its unified diff."""

    id: str
    operator: str
    line: int
    col: int
    index: int
    description: str
    source: str
    diff: str
    end_line: int = 0
    in_body: bool = False
    """Whether lines ``line`` .. ``end_line`` lie inside a function body (only run when called:
    a line-coverage run can tell that no property reaches them)."""


MEMBERS_SEP = "+"
"""Joins the names of a whole-module target's members in a qualname: ``to_tf+to_torch``."""


def scope(tree: ast.Module, qualname: str) -> list[ast.stmt]:
    """The module-level statements a mutation of ``qualname`` covers, in source order
    (``a+b``: of both names, for a role whose target is a module with those members).

    >>> tree = ast.parse("A = 1\\nB = 2\\ndef g(): return A\\ndef f(): return g()\\n")
    >>> [getattr(s, "name", "assign") for s in scope(tree, "f")]
    ['assign', 'g', 'f']

    >>> [getattr(s, "name", "assign") for s in scope(tree, "g+f")]
    ['assign', 'g', 'f']

    MutateError when the module defines no ``qualname.split('.')[0]`` at top level.
    """
    defined: dict[str, ast.stmt] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    defined[target.id] = stmt
        elif (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and stmt.value is not None
        ):
            defined[stmt.target.id] = stmt
    tops = [q.split(".")[0] for q in qualname.split(MEMBERS_SEP)]
    for top in tops:
        if top not in defined:
            known = ", ".join(sorted(n for n in defined if not n.startswith("__"))[:20])
            raise MutateError(
                f"the target's module defines no {top!r} at module level (it defines: "
                f"{known}); mutation needs the source of the object the target names"
            )
    chosen: list[ast.stmt] = []
    todo = [defined[top] for top in tops]
    while todo:
        stmt = todo.pop()
        if any(stmt is c for c in chosen):
            continue
        chosen.append(stmt)
        for name in iter_names(stmt):
            found = defined.get(name)
            if found is not None and not any(found is c for c in chosen):
                todo.append(found)
    return [s for s in tree.body if any(s is c for c in chosen)]


def defines(source: str, name: str) -> bool:
    """Whether ``source`` defines ``name`` at module level (a def, class or assignment)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    try:
        scope(tree, name)
    except MutateError:
        return False
    return True


def _module_file(module: str, search: Sequence[str]) -> Path | None:
    parts = module.split(".")
    for folder in search:
        base = Path(folder or ".").joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def locate(module: str, name: str, search: Sequence[str]) -> tuple[Path, str, str]:
    """``(file, name, module)`` defining ``module:name``, found without importing anything.

    Follows re-exports (``from impl.agc import adaptive_gradient_clip_`` in a package's
    ``__init__``) through the files on ``search`` (a ``sys.path``); MutateError when the
    source cannot be found.

    >>> import sys
    >>> file, name, module = locate("impl", "adaptive_gradient_clip_", sys.path)
    >>> file.name, name, module
    ('agc.py', 'adaptive_gradient_clip_', 'impl.agc')
    """
    top = name.split(".")[0]
    for _ in range(8):
        file = _module_file(module, search)
        if file is None:
            break
        source = file.read_text(encoding="utf-8")
        if defines(source, top):
            return file, name, module
        is_package = file.name == "__init__.py"
        package = module.split(".") if is_package else module.split(".")[:-1]
        found = None
        for node in ast.parse(source).body:
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if (alias.asname or alias.name) == top:
                        base = package[: len(package) - node.level + 1] if node.level else []
                        found = (".".join([*base, *filter(None, [node.module])]), alias.name)
        if found is None:
            break
        module, top = found
        name = ".".join([top, *name.split(".")[1:]])
    raise MutateError(f"cannot find the source defining {name!r} of module {module!r}")


def _offsets(lines: list[bytes]) -> list[int]:
    out, total = [0], 0
    for line in lines:
        total += len(line)
        out.append(total)
    return out


def _apply(data: bytes, starts: list[int], edits: Sequence[Edit]) -> bytes | None:
    """``data`` with the edits applied (None: an edit's token is not found)."""
    spans = []
    for edit in edits:
        a = starts[edit.start[0] - 1] + edit.start[1]
        b = starts[edit.end[0] - 1] + edit.end[1]
        text = edit.text.encode()
        if edit.old is not None:
            gap = data[a:b].decode()
            pattern = re.escape(edit.old).replace(r"\ ", r"\s+")
            if edit.old[0].isalpha():
                pattern = rf"\b{pattern}\b"
            match = re.search(pattern, gap.split("#", 1)[0])
            if match is None:
                return None
            text = (gap[: match.start()] + edit.text + gap[match.end() :]).encode()
        spans.append((a, b, text))
    out = data
    for a, b, text in sorted(spans, reverse=True):
        out = out[:a] + text + out[b:]
    return out


def _expected(tree: ast.Module, mutation: Mutation) -> str:
    old = mutation.swap()
    try:
        return ast.dump(tree)
    finally:
        mutation.restore(old)


def _parses_to(text: str, expected: str) -> bool:
    try:
        return ast.dump(ast.parse(text)) == expected
    except (SyntaxError, ValueError):
        return False


def _diff(original: str, mutated: str, path: str, mutant_id: str) -> str:
    lines = difflib.unified_diff(
        original.splitlines(keepends=True),
        mutated.splitlines(keepends=True),
        fromfile=path,
        tofile=f"{path} ({mutant_id})",
        n=1,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def absolute_imports(source: str, module: str, is_package: bool = False) -> str:
    """``source`` with its relative imports made absolute, for loading it as a lone file.

    >>> absolute_imports("from .x import y\\nfrom . import z\\n", "pkg.mod")
    'from pkg.x import y\\nfrom pkg import z\\n'
    """
    tree = ast.parse(source)
    package = module.split(".") if is_package else module.split(".")[:-1]
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            name = ".".join([*base, *([node.module] if node.module else [])])
            names = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in node.names)
            edits.append(
                Edit((node.lineno, node.col_offset), _end(node), f"from {name} import {names}")
            )
    if not edits:
        return source
    data = source.encode()
    lines = data.splitlines(keepends=True)
    out = _apply(data, _offsets(lines), edits)
    return out.decode() if out is not None else source


def _end(node: ast.AST) -> tuple[int, int]:
    return (node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def generate(
    source: str,
    qualname: str,
    path: str = "<target>",
    operators: Iterable[str] | None = None,
) -> list[Mutant]:
    """Every mutant of ``qualname``'s scope in ``source`` (optionally only some operators).

    MutateError for an unknown operator, a source that does not parse or a name it lacks.
    """
    wanted = set(OPERATORS) if operators is None else set(operators)
    unknown = sorted(wanted - set(OPERATORS))
    if unknown:
        raise MutateError(
            f"unknown operator(s) {', '.join(map(repr, unknown))}: allowed are "
            f"{', '.join(OPERATORS)}"
        )
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise MutateError(f"{path} does not parse: {error}") from None
    data = source.encode()
    starts = _offsets(data.splitlines(keepends=True))
    bodies = [
        (n.body[0].lineno, n.end_lineno or n.body[-1].lineno)
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
    ]
    seen: set[tuple[str, str]] = set()
    counters: dict[tuple[str, int, int], int] = {}
    mutants = []
    for mutation in find_mutations(tree, scope(tree, qualname)):
        if mutation.operator not in wanted:
            continue
        expected = _expected(tree, mutation)
        out = _apply(data, starts, mutation.edits)
        text = out.decode() if out is not None else None
        if (text is None or not _parses_to(text, expected)) and mutation.fallback is not None:
            node = mutation.node
            if node is not None:
                edit = Edit(
                    (node.lineno, node.col_offset),  # type: ignore[attr-defined]
                    _end(node),
                    mutation.fallback,
                )
                out = _apply(data, starts, [edit])
                text = out.decode() if out is not None else None
        if text is None or text == source or (mutation.operator, text) in seen:
            continue
        seen.add((mutation.operator, text))
        key = (mutation.operator, mutation.line, mutation.col)
        index = counters.get(key, 0)
        counters[key] = index + 1
        mutant_id = f"{mutation.operator}:{mutation.line}:{mutation.col}:{index}"
        mutants.append(
            Mutant(
                mutant_id,
                mutation.operator,
                mutation.line,
                mutation.col,
                index,
                mutation.description,
                text,
                _diff(source, text, path, mutant_id),
                mutation.end_line,
                any(a <= mutation.line and mutation.end_line <= b for a, b in bodies),
            )
        )
    return mutants


def sample(mutants: Sequence[Mutant], limit: int | None, seed: int) -> list[Mutant]:
    """At most ``limit`` of ``mutants``, drawn reproducibly from ``seed``, in their order.

    >>> ids = [str(i) for i in range(10)]
    >>> ms = [Mutant(i, "constant", 1, 0, 0, "", "", "") for i in ids]
    >>> [m.id for m in sample(ms, 3, 0)] == [m.id for m in sample(ms, 3, 0)]
    True
    """
    if limit is None or limit >= len(mutants):
        return list(mutants)
    chosen = set(random.Random(seed).sample(range(len(mutants)), limit))
    return [m for i, m in enumerate(mutants) if i in chosen]
