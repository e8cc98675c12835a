"""contributions.csv's rows made from the export-ready form kept per segment (store/export_ready.py).

The stored contributions are not read whole: each segment's contributions come as the export
needs them (ids, times as numbers, answers whose text is already a CSV cell), and each row is laid
out as CSV text by one small function per row shape (the segment's answer keys, the protocol
version, whether the contributor agreed to be quoted), made once per export. Consent, the filters,
the date shifts and hashed codes are applied here exactly as contributions.py applies them to the
records; a segment kept as odd goes through contributions.py's own code, record by record. The
text is what the csv module writes for the cells ``sink.safe_cell`` gives; tests hold it to that.

Only names and numbers made here go into the generated code; every key and choice is passed to it
as a value, never written into its text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import timedelta
from itertools import repeat
from typing import TYPE_CHECKING, Any, Optional

from ..domain.base import parse_utc
from ..domain.models import CHOICE_TYPES, FREE_TEXT_TYPES, FieldType, ReviewState
from ..store.export_ready import NEEDS_QUOTES, micros, text_cell
from .cells import _compile, shifted_date
from .rows import _stamp
from .sink import safe_cell

if TYPE_CHECKING:
    from .contributions import Contributor, RowBuilder
    from .plan import Column, ExportOptions, Progress

# contributions.csv's first columns (plan.BASE): which hold whole numbers (protocol_version, revisions)
BASE_NUMERIC = (False, False, False, True, False, True, False)
Segments = Iterable[tuple[dict[str, Any], Optional[list[dict[str, Any]]]]]
LineMaker = Callable[[str, tuple[Any, ...], timedelta], tuple[str, tuple[Any, ...], bool]]


def usable(options: ExportOptions) -> bool:
    """Whether rows of these options are made from the export-ready form (labels and REDCap need the records)."""
    return options.format.value == "csv" and not options.labels


def cell_text(value: Any, numeric: bool) -> str:
    """One cell of contributions.csv as the csv module writes what ``safe_cell`` gives."""
    kind = type(value)
    if kind is str:
        return text_cell(value)
    if value is None:
        return ""
    if numeric and (kind is int or kind is float):
        return str(value)
    text = safe_cell(value, numeric)
    return '"' + text.replace('"', '""') + '"' if NEEDS_QUOTES.search(text) else text


def unwrap(value: Any) -> Any:
    """A kept answer as it was stored (text that needs quotes is kept as ``{"s": text, "c": its cell}``)."""
    return value["s"] if type(value) is dict else value


def kept_text(value: Any, numeric: bool) -> str:
    return cell_text(unwrap(value), numeric)


def date_text(value: Any, shift: timedelta, numeric: bool) -> str:
    return "" if value is None else cell_text(shifted_date(unwrap(value), shift), numeric)


def checked(col: Column) -> bool:
    """Whether the data-sharing check counts who holds each answer of this column (check.category_holders)."""
    f = col.field
    return f is not None and (f.type in CHOICE_TYPES or f.type in (FieldType.yes_no, FieldType.rating))


def line_maker(keys: list[str], columns: list[Column], present: set[str], quote_ok: bool) -> LineMaker:
    """``make(base, answers, shift) -> (line, checked cells, blanked)`` for one row shape.

    ``answers`` are a kept row's answers in the order of ``keys``; ``base`` the row's first cells,
    already laid out. The cells are those of ``cells.row_maker`` (without labels), as CSV text.
    """
    at = {k: j for j, k in enumerate(keys)}
    constants: dict[str, Any] = {"T": kept_text, "D": date_text}
    body: list[str] = []
    texts: list[str] = ["base"]
    checks: list[str] = []
    held: list[str] = []
    chosen_in: dict[str, str] = {}
    for i, col in enumerate(columns):
        f = col.field
        assert f is not None
        num = bool(col.numeric)
        if f.key not in present:
            texts.append('""')
            if checked(col):
                checks.append("None")
            continue
        j = at.get(f.key)
        src = f"c[{j}]" if j is not None else "None"
        if col.option is not None:
            constants[f"o{i}"] = col.option
            if f.key not in chosen_in:
                chosen_in[f.key] = f"m{i}"
                body.append(f"m{i} = (x if type(x := {src}) is not dict else x['s']) or ()")
            body.append(f"k{i} = 1 if o{i} in {chosen_in[f.key]} else 0")
            texts.append(f'("1" if k{i} else "0")')
            checks.append(f"k{i}")
        elif f.type in FREE_TEXT_TYPES and not quote_ok:
            held.append(src)
            texts.append('""')
        elif f.type is FieldType.yes_no:
            body.append(f"k{i} = None if (x := {src}) is None else (1 if x else 0)")
            texts.append(f'("" if k{i} is None else "1" if k{i} else "0")')
            checks.append(f"k{i}")
        else:
            body.append(f"x = {src}")
            if f.type is FieldType.date:
                body.append(f"t{i} = D(x, shift, {num}) if shift else x if type(x) is str else T(x, {num})")
            elif num:  # whole numbers as the csv module writes them
                body.append(
                    f"t{i} = x if (tx := type(x)) is str else str(x) if tx is int else '' if x is None "
                    f"else x['c'] if tx is dict else T(x, True)"
                )
            else:
                body.append(f"t{i} = x if (tx := type(x)) is str else '' if x is None else x['c'] if tx is dict else T(x, False)")
            texts.append(f"t{i}")
            if checked(col):
                body.append(f"k{i} = x if type(x) is not dict else x['s']")
                checks.append(f"k{i}")
    blanked = " or ".join(f"{h} not in (None, '')" for h in held) or "False"
    lines = "".join(f"    {line}\n" for line in body)
    source = (
        f"def make(base, c, shift):\n{lines}"
        f"    return ','.join(({', '.join(texts)},)) + '\\r\\n', ({''.join(k + ', ' for k in checks)}), bool({blanked})\n"
    )
    return _compile(source, "make", constants)


class ReadyRows:
    """contributions.csv's rows made from the export-ready form, a segment at a time.

    ``builder.out.lines`` gets the rows' text; ``builder.out.rows`` for each row its id, the code the
    export shows and the cells of the columns the data-sharing check reads (``builder.out.checked``).
    """

    def __init__(self, builder: RowBuilder):
        self.builder = builder
        out = builder.out
        form = builder.columns
        out.checked = [c for c in form if checked(c)]
        self.at_checked = [7 + i for i, c in enumerate(form) if checked(c)]
        self.numeric = [*BASE_NUMERIC, *(c.numeric for c in form)]
        self.lines: list[str] = []
        out.lines = self.lines
        self.people: dict[str, tuple[Contributor, list[int], str]] = {}  # (who, consent times, code as text)
        self.makers: dict[tuple[Any, ...], LineMaker] = {}
        self.fixed: dict[tuple[type, Any, str], str] = {}  # (version's type, version, state) -> their cells

    def odd(self, docs: list[dict[str, Any]]) -> None:
        """A segment kept as odd: its records, through the code that reads records."""
        rows = self.builder.out.rows
        for doc in docs:
            row = self.builder.add(doc)
            if row is not None:
                self.lines.append(",".join(map(cell_text, row, self.numeric)) + "\r\n")
                rows.append([row[0], row[1], *(row[i] for i in self.at_checked)])

    def segment(self, value: dict[str, Any]) -> None:  # noqa: C901 - one loop, run per contribution: kept flat
        """One segment's kept contributions: the rows that consent and the filters let leave."""
        builder = self.builder
        out = builder.out
        lines, rows, exported_by, owners, exclusions = self.lines, out.rows, out.exported_by, out.owners, out.exclusions
        people, fixed, state_of, states, wanted = (
            self.people,
            self.fixed,
            builder.state_of,
            builder.states,
            builder.wanted_versions,
        )
        dated = builder.dated
        keys, columns = value["keys"], value["columns"]
        here: dict[tuple[Any, bool], LineMaker] = {}
        answers = zip(*value["answers"], strict=True) if keys else repeat((), len(columns[0]))
        for rid, pid, removed, stamp, at, named, number, revisions, corrected, c in zip(*columns, answers, strict=True):
            person, times, code = people.get(pid) or self.known(pid)
            owners[rid] = person.code
            if removed or person.remove_data:
                exclusions[builder.REMOVED] += 1
                continue
            reason, quote_ok = person.verdicts[bisect_right(times, at)]
            if reason is None:  # the review state is read only of what consent lets leave, as contributions.py does
                state = state_of.get(named) or ReviewState(named)
                if dated or state not in states or number not in wanted:
                    reason = builder.filtered_out(state, number, parse_utc(stamp))
            if reason is not None:
                exclusions[reason] += 1
                continue
            make = here.get((number, quote_ok)) or self.maker(here, keys, number, quote_ok)
            shift = person.shift
            if shift or not stamp.endswith("Z"):
                stamp = _stamp(parse_utc(stamp) + shift)  # else as stored: kept only when it needs no quotes
            last = self.corrected(corrected, rid, shift) if revisions else ""
            both = fixed.get((type(number), number, named)) or self.fix(number, named, state)
            line, cells, blanked = make(f"{rid},{code},{stamp},{both},{revisions},{last}", c, shift)
            lines.append(line)
            rows.append([rid, person.shown, *cells])
            if blanked:
                builder.blanked_rows += 1
            exported_by[pid] += 1

    def known(self, pid: str) -> tuple[Contributor, list[int], str]:
        """A contributor, the times of their consent events (as numbers) and their code as a cell, worked out once."""
        person = self.builder.person(pid)
        found = self.people[pid] = (person, [micros(t) for t in person.times], cell_text(person.shown, False))
        return found

    def maker(self, here: dict[tuple[Any, bool], LineMaker], keys: list[str], number: Any, quote_ok: bool) -> LineMaker:
        make = self.makers.get((tuple(keys), number, quote_ok))
        if make is None:
            present = self.builder.present_in.get(number, set())
            make = self.makers[(tuple(keys), number, quote_ok)] = line_maker(keys, self.builder.columns, present, quote_ok)
        here[(number, quote_ok)] = make
        return make

    def corrected(self, corrected: Optional[str], rid: str, shift: timedelta) -> str:
        when = self.builder.corrections.at(corrected, rid)
        return _stamp(when + shift) if when else ""

    def fix(self, number: Any, named: str, state: ReviewState) -> str:
        """The protocol version's and the review state's cells, laid out once for each pair (1 and 1.0
        are equal keys but two texts: the type is part of the key)."""
        text = self.fixed[(type(number), number, named)] = f"{cell_text(number, True)},{cell_text(state.value, False)}"
        return text


def add_rows(builder: RowBuilder, segments: Segments, total: int, progress: Optional[Progress] = None) -> None:
    """Every kept contribution through consent and the filters, the rows that may leave laid out as CSV text."""
    rows = ReadyRows(builder)
    done = 0
    for value, docs in segments:
        if progress:
            progress(done, total, "reading contributions")
        if docs is not None:
            done += len(docs)
            rows.odd(docs)
        else:
            done += len(value["columns"][0])
            rows.segment(value)
