"""Indexes kept beside the segments: the same answers as reading every record, whatever happened
before (changes, write-backs, a crash, a stale or damaged index file); and the phone pages' first
request reads no contribution. Counts of records read are asserted here, never seconds."""

from __future__ import annotations

import collections
import random
import shutil

import pytest

from citizen.domain.models import ConsentMethod
from citizen.services import (
    create_invite,
    enrol_participant,
    open_study,
    relink_participant,
)
from citizen.services.demo import create_demo
from citizen.store import DataFolder
from citizen.store import segments as segments_module

from .support.changes import random_changes
from .support.commands import use_small_segments
from .support.factories import YES_ALL
from .support.web import fetch, phone, served

FIELDS = {
    "contributions": ["id", "participant_id", "review_state", "protocol_version"],
    "participants": ["id", "token", "code"],
    "consent_events": ["participant_id"],
}


@pytest.fixture
def small_segments(monkeypatch):
    use_small_segments(monkeypatch, 20)


@pytest.fixture
def reads(monkeypatch):
    """How many segment files of each table were read from disk."""
    counted: collections.Counter = collections.Counter()
    load = segments_module.load_segment

    def counting(path, table):
        counted[table] += 1
        return load(path, table)

    monkeypatch.setattr(segments_module, "load_segment", counting)
    return counted


def scanned(table, field):
    out: dict = {}
    for row, doc in table.rows():
        out.setdefault(doc.get(field), []).append(row)
    return out


def assert_indexes_match_a_scan(study):
    for name, fields in FIELDS.items():
        table = study.store.table(name)
        for field in fields:
            truth = scanned(table, field)
            for value, rows in truth.items():
                assert sorted(table.rows_where(field, value)) == rows, (name, field, value)
            assert table.rows_where(field, "no such value") == []
        for value, rows in scanned(table, table.unique).items():
            assert table.find_row(value) == rows[-1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_indexes_answer_as_a_full_scan_after_random_changes_write_backs_and_reopening(small_segments, data_path, demo_file, seed):
    from citizen.services import import_protocol

    rng = random.Random(seed)
    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        random_changes(study, rng, 150)
        assert_indexes_match_a_scan(study)  # built while changes were still in the journal
        random_changes(study, rng, 100)  # kept current as changes come
        assert_indexes_match_a_scan(study)
        study_id = study.id
    with DataFolder(data_path) as data:  # from the index files written back
        study = open_study(data, study_id)
        random_changes(study, rng, 60)
        assert_indexes_match_a_scan(study)


def test_after_a_crash_the_indexes_answer_as_a_full_scan(small_segments, data_path, tmp_path, demo_file):
    from citizen.services import import_protocol

    rng = random.Random(7)
    data = DataFolder(data_path)
    study = import_protocol(data, demo_file, "Amina Yusuf")
    random_changes(study, rng, 200)
    study.store.compact()
    random_changes(study, rng, 80, write_back=False)  # in the journal only
    assert study.store.journal.entries > 0
    # The laptop stops here: what is on disk is copied as it is (no close, no write-back).
    crashed = tmp_path / "crashed"
    shutil.copytree(data_path, crashed)
    (crashed / ".lock").unlink()
    study_id = study.id
    data.close()
    with DataFolder(crashed) as again:
        assert_indexes_match_a_scan(open_study(again, study_id))


def test_a_stale_or_damaged_index_file_is_made_again_from_the_segments(small_segments, data_path, caplog):
    with DataFolder(data_path) as data:
        study = create_demo(data, participants=12, contributions=300, seed=2)
        study_id = study.id
    folder = data_path / "studies" / study_id / "contributions"
    index_file = folder / "index-participant_id.cache"
    assert index_file.exists()
    # A segment put back from elsewhere (as a restore would): its index entry no longer matches.
    first = sorted(folder.glob("[0-9]*.json"))[0]
    first.write_bytes(first.read_bytes())
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        table = study.store.table("contributions")
        table.rows_where("participant_id", "")
        assert table.caches["participant_id"].rebuilt == 1
        assert_indexes_match_a_scan(study)
    index_file.write_text("{half")
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        table = study.store.table("contributions")
        table.rows_where("participant_id", "")
        cache = table.caches["participant_id"]
        assert cache.damaged == [index_file]
        assert f"{index_file} could not be read; it is only an index" in caplog.text
        assert "no data is affected" in caplog.text
        assert cache.rebuilt == len(list(folder.glob("[0-9]*.json")))
        assert_indexes_match_a_scan(study)
    with DataFolder(data_path) as data:  # made again, and written again
        study = open_study(data, study_id)
        table = study.store.table("contributions")
        table.rows_where("participant_id", "")
        assert table.caches["participant_id"].rebuilt == 0
        assert_indexes_match_a_scan(study)


async def test_opening_a_study_and_serving_a_first_page_read_no_contribution(small_segments, data_path, reads):
    with DataFolder(data_path) as data:
        study = create_demo(data, participants=30, contributions=400, seed=4)
        study_id = study.id
        invite = create_invite(study, "stall", "Amina Yusuf")
        newcomer = enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer", invite_token=invite.token)
        table = study.store.table("contributions")
        veteran = max(study.repo.participants(), key=lambda q: len(table.rows_where("participant_id", q.id)))
        veteran_link = relink_participant(study, veteran.id, "Amina Yusuf").link
    reads.clear()
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        table = study.store.table("contributions")
        async with served(study) as server, phone() as p:
            status, _ = await fetch(p, server.join_url(invite.token))
            assert status == 200
            status, page = await fetch(p, server.private_url(newcomer.link))
            assert status == 200 and newcomer.code in page
            assert reads["contributions"] == 0
            # A participant's own page reads the segments holding their contributions, and no other.
            status, page = await fetch(p, server.private_url(veteran_link))
            assert status == 200 and veteran.code in page
            own = table.rows_where("participant_id", veteran.id)
            holding = {(row - 1) // 20 for row in own}
            assert 0 < reads["contributions"] <= len(holding) < len(table.segment_numbers())


def test_an_index_is_built_holding_one_index_file_at_a_time(small_segments, data_path, demo_file, monkeypatch):
    """Serving phones builds the index by participant from the index files: at a million contributions
    those files held all at once cost ~180 MiB more. They are read and let go one at a time, and the
    index answers as a full scan (afterwards, and after more changes)."""
    from citizen.services import import_protocol
    from citizen.store import derived

    monkeypatch.setattr(derived, "GROUP", 2)  # two segments of 20 records an index file
    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        random_changes(study, random.Random(5), 200)
        study_id = study.id
    held: list[int] = []
    read_group = derived.SegmentCache._group

    def counting(cache, group):
        entries = read_group(cache, group)
        if cache.stem == "index-participant_id" and cache.table.name == "contributions":
            held.append(len(cache._groups))
        return entries

    monkeypatch.setattr(derived.SegmentCache, "_group", counting)
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        study.repo.contributions_of("")  # what `citizen serve` reads before the first phone
        table = study.store.table("contributions")
        assert len(table.segment_numbers()) >= 8 and held  # four index files or more
        assert max(held) == 1
        assert_indexes_match_a_scan(study)
        random_changes(study, random.Random(6), 40)
        assert_indexes_match_a_scan(study)
