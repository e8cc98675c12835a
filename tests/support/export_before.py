"""The export as it was made before it was made fast (issue 16): the yardstick of tests/test_export_same.py.

Kept as it was: every contribution's consent asked for one by one, the data-sharing check walking
every cell, activity.csv made from every event of the log read whole, and one csv writer call per
row with ``safe_cell`` called on every cell. The fast code
must give byte for byte the same files; nothing in the app uses this module.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

from citizen.domain.base import parse_utc
from citizen.domain.models import CHOICE_TYPES, ConsentRole, FieldType, ReviewState
from citizen.export import check
from citizen.export.activity import PARTICIPANT_ACTIONS, WITHHELD, Activity
from citizen.export.cells import row_maker
from citizen.export.contributions import ContributionRows, _excluded, _filtered_out
from citizen.export.rows import _stamp
from citizen.export.sink import Sink, WrittenFile, safe_cell
from citizen.services.revisions import last_corrections


def contribution_rows(reading, options, columns, consent, pseudonyms, wanted_versions, progress=None) -> ContributionRows:
    out = ContributionRows()
    docs = [doc for batch in reading.batches for doc in batch]
    present_in = {v.number: {f.key for f in v.fields} for v in reading.versions}
    state_of = {s.value: s for s in ReviewState}
    states = set(options.review_states)
    partners_only = options.audience.value == "partners"
    makers: dict[tuple[Any, bool], Any] = {}
    logged: Optional[dict[str, datetime]] = None
    for doc in docs:
        pid = doc.get("participant_id", "")
        now_state = consent.now(pid)
        if doc.get("removed_at") or now_state.remove_data:
            out.exclusions["the contributor withdrew and asked for their data to be removed"] += 1
            continue
        stamp = doc["submitted_at"]
        submitted = parse_utc(stamp)
        then = consent.then(pid, submitted)
        reason = _excluded(consent, now_state, then, partners_only)
        if reason is None:
            state = state_of.get(doc.get("review_state", "received")) or ReviewState(doc.get("review_state"))
            number = doc.get("protocol_version")
            reason = _filtered_out(state, number, submitted, options, states, wanted_versions)
        if reason is not None:
            out.exclusions[reason] += 1
            continue
        quote_ok = consent.allowed(ConsentRole.quote_words, then, now_state)
        shift = pseudonyms.shift(pid)
        make = makers.get((number, quote_ok))
        if make is None:
            make = makers[(number, quote_ok)] = row_maker(
                columns, present_in.get(number, set()), quote_ok, options.labels, reading.language
            )
        cells, blanked = make(doc.get("values") or {}, shift)
        revisions = len(doc.get("history") or [])
        corrected: Optional[datetime] = None
        if revisions:
            if doc.get("corrected_at"):
                corrected = parse_utc(doc["corrected_at"])
            else:
                if logged is None:
                    logged = last_corrections(reading.audit_events)
                corrected = logged.get(doc.get("id", ""))
        out.rows.append(
            [
                doc.get("id"),
                pseudonyms.code_of(pseudonyms.codes.get(pid, "?")),
                stamp if not shift and stamp.endswith("Z") else _stamp(submitted + shift),
                number,
                state.value,
                revisions,
                _stamp(corrected + shift) if corrected else None,
                *cells,
            ]
        )
        if blanked:
            out.redactions["free-text answers blanked: the contributor did not agree to be quoted"] += 1
        out.exported_by[pid] += 1
    out.owners = {doc["id"]: pseudonyms.codes.get(doc.get("participant_id", ""), "") for doc in docs}
    return out


def category_holders(columns, rows_: list[list[Any]]) -> dict[tuple[str, str], set[Any]]:
    holders: dict[tuple[str, str], set[Any]] = defaultdict(set)
    for i, col in enumerate(columns):
        f = col.field
        if f is None or not (f.type in CHOICE_TYPES or f.type in (FieldType.yes_no, FieldType.rating)):
            continue
        for row in rows_:
            value = row[i]
            if value is None or (col.option is not None and value == 0):
                continue
            category = col.option if col.option is not None else str(value)
            holders[(f.key, category)].add(row[1])
    return holders


def write_csv(folder, name, header, rows_: Iterable[list[Any]], numeric, bom, progress: Optional[Any] = None) -> WrittenFile:
    sink = Sink(folder / name, bom)
    try:
        writer = csv.writer(sink, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([safe_cell(h) for h in header])
        n = 0
        for row in rows_:
            writer.writerow([safe_cell(v, numeric[i]) for i, v in enumerate(row)])
            n += 1
        sink.close()
    except BaseException:
        sink.abandon()
        raise
    return WrittenFile(name, n, sink.sha.hexdigest(), sink.size, list(header))


def activity_rows(events, codes, shifts, contribution_owner, exported) -> list[list[Any]]:
    rows_: list[list[Any]] = []
    for e in sorted(events, key=lambda e: e.at):
        details = e.details or {}
        target = e.target
        raw_code = ""
        if target in contribution_owner:
            raw_code = contribution_owner[target]
            if target not in exported:
                target = WITHHELD
        elif target in codes or e.action in PARTICIPANT_ACTIONS:
            raw_code, target = target, ""
        elif e.action == "data exported":
            target = target.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        elif isinstance(details.get("participant"), str):
            raw_code = details["participant"]
        actor = e.actor
        if actor in codes:
            raw_code = raw_code or actor
            actor = "participant"
        code = codes.get(raw_code, WITHHELD) if raw_code else ""
        if not target and raw_code:
            target = code
        at = e.at + shifts.get(raw_code, timedelta(0))
        rows_.append([at.isoformat().replace("+00:00", "Z"), actor, e.action, target, code])
    return rows_


def activity_of(reading, codes, shifts, contribution_owner, exported) -> Activity:
    return Activity(activity_rows(reading.audit_events, codes, shifts, contribution_owner, exported), None)


def use_the_code_before(monkeypatch) -> None:
    """Make the export in this test run as it did before (undone by ``monkeypatch`` at the test's end)."""
    from citizen.export import files, plan, redcap

    monkeypatch.setattr(plan, "contribution_rows", contribution_rows)
    monkeypatch.setattr(plan, "activity_of", activity_of)
    monkeypatch.setattr(check, "category_holders", category_holders)
    monkeypatch.setattr(files, "write_csv", write_csv)
    monkeypatch.setattr(redcap, "write_csv", write_csv)


WRITTEN = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def export_files(study, options: dict, out: Path, seed: int, monkeypatch) -> dict[str, bytes]:
    """Every file of one export; the secret salt, the date shifts and the time of writing the same each time."""
    from citizen.export import datapackage, fhir
    from citizen.export import rows as export_rows
    from citizen.export.plan import make_options, prepare_export
    from citizen.export.run import write_planned

    rng = random.Random(seed)
    monkeypatch.setattr(export_rows, "secrets", SimpleNamespace(choice=rng.choice, token_bytes=rng.randbytes))
    for module in (datapackage, fhir):
        monkeypatch.setattr(module, "utcnow", lambda: WRITTEN)
    folder = write_planned(prepare_export(study, make_options(**options)), "Amina Yusuf", out).folder
    return {p.name: p.read_bytes() for p in folder.iterdir()}
