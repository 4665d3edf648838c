"""How pydantic's validation errors read to a user: one line, naming each table and key.

``[server] port must be at most 65535``; ``identity.accounts[1] needs 'password'`` (an
array's tables are named by index); ``unknown key(s) in [server]: prot, hots``. The wording
is a table by pydantic error type; a custom error (``PydanticCustomError``) brings its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from pydantic import ValidationError
from pydantic_core import ErrorDetails

#: Where an error is: keys, and indexes into arrays (pydantic's ``loc``).
Loc = tuple[str | int, ...]

#: pydantic error type -> how the complaint about a key reads ({...}: the error's context).
WORDING: Mapping[str, str] = {
    "int_type": "must be of type int",
    "string_type": "must be of type str",
    "bool_type": "must be of type bool",
    "float_type": "must be of type float",
    "tuple_type": "must be an array",
    "list_type": "must be an array",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "finite_number": "must be a finite number",
    "string_too_short": "must not be empty",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
}
#: ... and when the bound is 0.
WORDING_AT_ZERO: Mapping[str, str] = {
    "greater_than": "must be positive",
    "greater_than_equal": "must not be negative",
}
#: Error types that mean "a table was expected here".
NOT_A_TABLE = frozenset({"dataclass_type", "dict_type", "model_type"})
#: Error types that mean "no such key" (dataclass, model).
UNKNOWN_KEY = frozenset({"unexpected_keyword_argument", "extra_forbidden"})


def _table(loc: Loc) -> str:
    """``("simulated", "stages", "spawn")`` -> ``[simulated.stages.spawn]``; an array's
    table has no brackets: ``identity.accounts[0]``."""
    name = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    name = name.lstrip(".")
    return name if any(isinstance(part, int) for part in loc) else f"[{name}]"


def _key(loc: Loc) -> str:
    """Where a key is: ``[server] port``, ``identity.accounts[0]: roles[1]``."""
    last = max(i for i, part in enumerate(loc) if isinstance(part, str))
    key = f"{loc[last]}" + "".join(f"[{part}]" for part in loc[last + 1:])
    if last == 0:
        return key
    table = _table(loc[:last])
    return f"{table}: {key}" if table[0] != "[" else f"{table} {key}"


def _choices(expected: str) -> str:
    """pydantic's ``'a', 'b' or 'c'`` as ``a, b, c``."""
    return ", ".join(re.findall(r"'([^']*)'", expected))


def _complaint(error: ErrorDetails, where: Callable[[Loc], str]) -> str:
    """One error of pydantic's as a phrase; ``where`` names its key (a flag, for flags)."""
    kind, ctx, loc = error["type"], error.get("ctx", {}), error["loc"]
    if kind in NOT_A_TABLE:
        return f"{_table(loc)} must be a table"
    if kind == "missing":
        return f"{_table(loc[:-1])} needs {loc[-1]!r}"
    wording = WORDING.get(kind)
    if wording is None:
        return f"{where(loc)} {error['msg']}"
    bound = ctx.get("gt", ctx.get("ge"))
    if bound == 0 and kind in WORDING_AT_ZERO:
        wording = WORDING_AT_ZERO[kind]
    if "expected" in ctx:
        ctx = {**ctx, "expected": _choices(str(ctx["expected"]))}
    return f"{where(loc)} {wording.format(**ctx)}"


def explain(exc: ValidationError, where: Callable[[Loc], str] = _key) -> str:
    """pydantic's errors as one line: unknown keys grouped by table, then each complaint."""
    lines: list[str | Loc] = []  # a complaint, or the table of unknown keys
    unknown: dict[Loc, list[str]] = {}
    known: dict[Loc, str] = {}
    for error in exc.errors():
        loc = error["loc"]
        if loc[-1:] == ("[key]",):  # a key a table's type refuses (e.g. an unknown verb)
            loc = loc[:-1]
            known[loc[:-1]] = _choices(str(error.get("ctx", {}).get("expected", "")))
        elif error["type"] not in UNKNOWN_KEY:
            lines.append(_complaint(error, where))
            continue
        if loc[:-1] not in unknown:
            lines.append(loc[:-1])
        unknown.setdefault(loc[:-1], []).append(str(loc[-1]))

    def grouped(table: Loc) -> str:
        keys = ", ".join(unknown[table])
        if not table:
            return f"unknown section(s): {keys}"
        hint = f" (known: {known[table]})" if known.get(table) else ""
        return f"unknown key(s) in {_table(table)}: {keys}{hint}"

    return "; ".join(line if isinstance(line, str) else grouped(line) for line in lines)
