"""The contributions screen answers from the columns and words kept beside the segments: the same
rows as reading every contribution, whatever happened before (random changes, write-backs,
reopening, a damaged kept file); and opening the screen, going to the end, filtering and searching
words read no contribution segment beyond those of the page shown. Counted, never timed."""

from __future__ import annotations

import collections
import json
import random
from datetime import date, datetime, time, timedelta

import pytest
from textual.widgets import DataTable, Input, Select

from citizen.domain.contribution import replied
from citizen.services import import_protocol, open_study
from citizen.services.contribution_index import TEXT_TYPES, ContributionFilter, ContributionIndex
from citizen.services.demo import create_demo
from citizen.store import DataFolder
from citizen.store import derived as derived_module
from citizen.store import segments as segments_module
from citizen.tui.app import make_app
from citizen.tui.screens.contributions import ContributionsScreen

from .support.changes import random_changes
from .support.commands import use_small_segments
from .support.factories import SHORT_WALK
from .support.tui import SIZE, open_from_study, settle

SEGMENT = 20
WORDS = ["Bus", "station", "canal", "Mill", "lane", "fumes", "QUIET", "busy", "École", "Straße", "road"]


@pytest.fixture
def reads(monkeypatch):
    """How many segment files of each table were read from disk (for records or to derive a cache)."""
    use_small_segments(monkeypatch, SEGMENT)
    counted: collections.Counter = collections.Counter()
    for module in (segments_module, derived_module):
        load = module.load_segment

        def counting(path, table, load=load):
            counted[table] += 1
            return load(path, table)

        monkeypatch.setattr(module, "load_segment", counting)
    return counted


def answers(rng: random.Random) -> dict:
    """A walk with text answers of varied words and case (its route, a choice, is "canal_path")."""
    values = dict(SHORT_WALK)
    if rng.random() < 0.7:
        values["notes"] = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.4:
        values["worst_spot"] = f"{rng.choice(WORDS)}  {rng.choice(WORDS)}"
    return values


def scan(study, flt: ContributionFilter) -> list[int]:
    """The rows a filter asks for, by reading every contribution (newest first)."""
    keys = {v.number: {f.key for f in v.fields if f.type in TEXT_TYPES} for v in study.repo.protocol_versions()}
    codes = {p.id: p.code for p in study.repo.participants()}
    low = datetime.combine(flt.since, time.min).astimezone() if flt.since else None
    high = datetime.combine(flt.until + timedelta(days=1), time.min).astimezone() if flt.until else None
    found = []
    for row, doc in study.store.table("contributions").rows():
        state = "removed" if doc.get("removed_at") else doc["review_state"]
        if (flt.review_state or "") != state and (flt.review_state or state == "removed"):
            continue
        if flt.replied and (state == "removed" or not replied(doc.get("feedback") or [], doc.get("replies") or [])):
            continue
        if flt.protocol_version is not None and doc["protocol_version"] != flt.protocol_version:
            continue
        if flt.participant.strip().upper() not in codes.get(doc["participant_id"], "").upper():
            continue
        when = datetime.fromisoformat(doc["submitted_at"])
        if (low and when < low) or (high and when >= high):
            continue
        values = doc.get("values") or {}
        text = " ".join(str(v) for k, v in values.items() if k in keys.get(doc["protocol_version"], ()) and v).casefold()
        if all(word in text for word in flt.text.casefold().split()):
            found.append((-when.timestamp(), row))
    return [row for _, row in sorted(found)]


def filters(study) -> list[ContributionFilter]:
    code = next(iter(study.repo.participants())).code
    day = date.today()
    return [
        ContributionFilter(),
        *(ContributionFilter(review_state=s) for s in ("received", "accepted", "needs attention", "rejected", "removed")),
        ContributionFilter(protocol_version=1),
        ContributionFilter(replied=True),
        ContributionFilter(participant=code[-3:].lower()),
        ContributionFilter(since=day - timedelta(days=400), until=day),
        ContributionFilter(until=day - timedelta(days=400)),
        *(ContributionFilter(text=t) for t in ("canal", "CANAL", "bus sta", "mill  LANE", "ane", "strasse", "école", "zzz")),
        ContributionFilter(review_state="accepted", text="quiet"),
    ]


def assert_same_as_a_scan(index: ContributionIndex, study) -> None:
    for flt in filters(study):
        assert list(index.select(flt).rows) == scan(study, flt), flt


@pytest.mark.parametrize("seed", [1, 2])
def test_filters_and_words_answer_as_a_full_scan_after_random_changes(reads, data_path, demo_file, seed, caplog):
    rng = random.Random(seed)
    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        random_changes(study, rng, 150, answers=answers)
        index = ContributionIndex(study).build()  # while changes are still in the journal
        index.attach()
        assert_same_as_a_scan(index, study)
        random_changes(study, rng, 100, answers=answers)  # followed as they come
        assert_same_as_a_scan(index, study)
        index.detach()
        study_id = study.id
    folder = data_path / "studies" / study_id / "contributions"
    with DataFolder(data_path) as data:  # from the kept files alone
        study = open_study(data, study_id)
        reads.clear()
        index = ContributionIndex(study).build()
        for flt in filters(study):
            index.select(flt)
        assert reads["contributions"] == 0  # no contribution read to open, filter or search
        assert_same_as_a_scan(index, study)
    # A damaged kept file, and one of the right syntax but the wrong shape: made again from the
    # segments, said in the log, and the answers stay those of the records.
    (folder / "columns.cache").write_bytes(b"\x00{not json")
    words = json.loads((folder / "words.cache").read_bytes())
    words["segments"]["0"]["value"] = [["notes", 7, "x"]]
    (folder / "words.cache").write_text(json.dumps(words))
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        index = ContributionIndex(study).build()
        index.select(ContributionFilter(text="road"))
        table = study.store.table("contributions")
        assert table.kept["columns"].rebuilt == len(table.segment_numbers()) and table.kept["words"].rebuilt == 1
        assert_same_as_a_scan(index, study)
    assert "no data is affected" in caplog.text and "columns.cache" in caplog.text and "words.cache" in caplog.text


def segments_of(table: DataTable, study) -> set[int]:
    contributions = study.store.table("contributions")
    return {(contributions.find_row(str(key.value)) - 1) // SEGMENT for key in table.rows}


async def test_opening_paging_filtering_and_searching_read_only_the_pages_shown(reads, data_path):
    with DataFolder(data_path) as data:
        study = create_demo(data, participants=30, contributions=600, seed=5)
        study_id = study.id
        segments = len(study.store.table("contributions").segment_numbers())
    assert segments >= 30
    app = make_app(data_path, study_id=study_id)
    async with app.run_test(size=SIZE) as pilot:
        study = app.study(study_id)
        await settle(app, pilot)
        reads.clear()
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        table = screen.query_one("#contributions-table", DataTable)
        opened = reads["contributions"]
        assert table.row_count == 100 and 0 < opened <= len(segments_of(table, study)) < segments
        for step in ("end", "filter", "words"):
            reads.clear()
            if step == "end":
                await pilot.press("end")
                await settle(app, pilot)
            elif step == "filter":
                screen.query_one("#filter-state", Select).value = "accepted"
                await settle(app, pilot)
            else:
                box = screen.query_one("#filter-text", Input)
                box.focus()
                await pilot.press(*"road", "enter")
                await settle(app, pilot)
            count = reads["contributions"]
            assert table.row_count > 0 and count <= len(segments_of(table, study)) < segments, step
