"""Rows without a Python call per cell: one function per row shape, made once per export (issue 16).

An export of 100,000 contributions has a few million cells. Asking, for each of them, what kind
of column it is and whether it is safe cost more than everything else the export does. Here the
answer is worked out once per row shape (a protocol version, and whether the contributor agreed
to be quoted; a file's numeric columns) and written into a small function that builds a whole
row with one call; only the rare cell that needs more (a date to shift, a value of an unexpected
type) calls out. The functions give exactly what the per-cell code gave; tests hold them to it.

Only names and numbers made here go into the generated code; every key, code and label is
passed to it as a value, never written into its text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from ..domain.models import FREE_TEXT_TYPES, FieldType, pick
from ..store.export_ready import FORMULA_FIRST

RowMaker = Callable[[dict[str, Any], timedelta], tuple[list[Any], bool]]


def shifted_date(value: Any, shift: timedelta) -> Any:
    if not shift:
        return value
    try:
        return (date.fromisoformat(value) + shift).isoformat()
    except (TypeError, ValueError):
        return value


def _compile(source: str, name: str, constants: dict[str, Any]) -> Callable[..., Any]:
    scope: dict[str, Any] = dict(constants)
    exec(compile(source, f"<citizen export {name}>", "exec"), scope)  # noqa: S102 - text made from our own names only
    return scope[name]


def row_maker(columns: Sequence[Any], present: set[str], quote_ok: bool, labels: bool, language: str) -> RowMaker:
    """``make(values, shift) -> (cells, blanked)`` for the form columns of one row shape.

    ``columns`` are the export's form columns (each with ``field`` and ``option``); ``present`` the
    field keys of the row's protocol version; ``blanked`` tells that a free-text answer was held
    back because the contributor did not agree to be quoted.
    """
    constants: dict[str, Any] = {"shifted_date": shifted_date}
    cells: list[str] = []
    held_back: list[str] = []
    chosen_in: dict[str, str] = {}  # a several-choices field's answer, looked up once for all its option columns
    for i, col in enumerate(columns):
        f = col.field
        assert f is not None
        key = f"k{i}"
        constants[key] = f.key
        if f.key not in present:
            cells.append("None")
        elif col.option is not None:
            constants[f"o{i}"] = col.option
            if f.key in chosen_in:
                cells.append(f"(1 if o{i} in {chosen_in[f.key]} else 0)")
            else:
                chosen_in[f.key] = f"m{i}"
                cells.append(f"(1 if o{i} in (m{i} := (g(k{i}) or ())) else 0)")
        elif f.type in FREE_TEXT_TYPES and not quote_ok:
            held_back.append(key)
            cells.append("None")
        elif f.type is FieldType.yes_no:
            yes, no = ('"yes"', '"no"') if labels else ("1", "0")
            cells.append(f"(None if (x := g(k{i})) is None else ({yes} if x else {no}))")
        elif f.type is FieldType.single_choice and labels:
            names: dict[str, str] = {}
            for c in f.choices:
                names.setdefault(c.value, pick(c.label, language))
            constants[f"n{i}"] = names
            cells.append(f"(n{i}.get(x, x) if type(x := g(k{i})) is str else x)")
        elif f.type is FieldType.date:
            cells.append(f"(None if (x := g(k{i})) is None else shifted_date(x, shift) if shift else x)")
        else:
            cells.append(f"g(k{i})")
    blanked = " or ".join(f"g({k}) not in (None, '')" for k in held_back) or "False"
    source = f"def make(values, shift):\n    g = values.get\n    return [{', '.join(cells)}], bool({blanked})\n"
    return _compile(source, "make", constants)


def safe_row_maker(numeric: Sequence[bool], safe_cell: Callable[[Any, bool], str]) -> Callable[[Sequence[Any]], list[Any]]:
    """``safe(row)``: the row as ``safe_cell`` would give each cell, for the csv module to write.

    Text that a spreadsheet would run as a formula gets its apostrophe inline; None, whole numbers
    and decimals in numeric columns go to the csv module as they are (it writes them exactly as
    ``safe_cell`` does); anything else calls ``safe_cell``.
    """
    cells = []
    for i, is_numeric in enumerate(numeric):
        text = '("\'" + x if x[:1] in FORMULA_FIRST else x)'
        if is_numeric:
            cells.append(
                f"({text} if (t := type(x := r[{i}])) is str else "
                f"x if t is int or t is float or x is None else safe_cell(x, True))"
            )
        else:
            cells.append(f"({text} if type(x := r[{i}]) is str else '' if x is None else safe_cell(x, False))")
    source = f"def safe(r):\n    return [{', '.join(cells)}]\n"
    return _compile(source, "safe", {"FORMULA_FIRST": FORMULA_FIRST, "safe_cell": safe_cell})
