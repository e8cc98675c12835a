"""The store keeps what it acknowledged: journal replay, crashes, damage, the lock, flat writes."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from citizen.store import DataFolder, StoreDamaged, StoreLocked, StoreWriteError, StudyStore, durable, transaction
from citizen.store.journal import read_journal
from citizen.store.segments import load_segment
from citizen.store.store import TABLES


def put_many(store: StudyStore, n: int, table: str = "contributions") -> None:
    for i in range(n):
        with transaction(store) as tx:
            tx.insert(table, {"id": f"c{i}", "n": i})


def test_a_change_is_in_the_journal_before_it_is_visible(tmp_path):
    store = StudyStore(tmp_path / "s")
    put_many(store, 3)
    changes, _ = read_journal(tmp_path / "s" / "journal.jsonl")
    assert [ops[0][2]["id"] for ops in changes] == ["c0", "c1", "c2"]
    assert [d["id"] for d in store.table("contributions")] == ["c0", "c1", "c2"]
    # Nothing was written back to segments yet: a reopen must replay the journal.
    assert not (tmp_path / "s" / "contributions").exists()
    store.journal.close()
    again = StudyStore(tmp_path / "s")
    assert [d["n"] for d in again.table("contributions")] == [0, 1, 2]
    assert (tmp_path / "s" / "contributions" / "000000.json").exists()  # replay compacts
    assert read_journal(tmp_path / "s" / "journal.jsonl")[0] == []


def test_a_change_across_tables_lands_together(tmp_path):
    store = StudyStore(tmp_path / "s")
    with transaction(store) as tx:
        tx.insert("participants", {"id": "p1"})
        tx.insert("consent_events", {"id": "e1", "participant_id": "p1"})
        tx.insert("audit", {"id": "a1"})
    changes, _ = read_journal(store.journal.path)
    assert len(changes) == 1 and [op[0] for op in changes[0]] == ["participants", "consent_events", "audit"]


def test_a_failed_block_writes_nothing(tmp_path):
    store = StudyStore(tmp_path / "s")
    with pytest.raises(RuntimeError):
        with transaction(store) as tx:
            tx.insert("participants", {"id": "p1"})
            raise RuntimeError("refused half-way")
    assert list(store.table("participants")) == []
    assert read_journal(store.journal.path)[0] == []


def test_segments_are_bounded_and_rows_addressable(tmp_path):
    store = StudyStore(tmp_path / "s")
    size = TABLES["contributions"][0]
    with store.batch():
        put_many(store, size * 2 + 5)
    store.compact()
    files = sorted((tmp_path / "s" / "contributions").glob("*.json"))
    assert [f.name for f in files] == ["000000.json", "000001.json", "000002.json"]
    assert len(load_segment(files[-1], "contributions")["contributions"]) == 5
    store.journal.close()
    again = StudyStore(tmp_path / "s")
    table = again.table("contributions")
    assert table.count_rows() == size * 2 + 5
    assert table.get(size + 1)["n"] == size
    assert table.find("c7")["n"] == 7


def test_an_add_touches_only_the_newest_segment(tmp_path):
    """The growth shape of a write: one journal line, one segment changed, whatever the size."""
    store = StudyStore(tmp_path / "s")
    size = TABLES["contributions"][0]
    with store.batch():
        put_many(store, size * 5)
    store.compact()
    store.journal.close()
    store = StudyStore(tmp_path / "s")
    before = store.journal.size
    with transaction(store) as tx:
        tx.insert("contributions", {"id": "new", "n": -1})
    table = store.table("contributions")
    assert [s.segment for s in table.dirty_storages()] == [5]
    # Only the newest full segment (to find the next row) and the new one were read.
    assert sorted(db.storage.segment for db in table.loaded_segments()) == [4, 5]
    assert store.journal.size - before < 200


def test_a_torn_last_line_was_never_acknowledged(tmp_path):
    store = StudyStore(tmp_path / "s")
    put_many(store, 2)
    store.journal.close()
    with open(tmp_path / "s" / "journal.jsonl", "ab") as fh:
        fh.write(b'0badc0de [["contributions",3,{"id":"c2"')
    again = StudyStore(tmp_path / "s")
    assert [d["id"] for d in again.table("contributions")] == ["c0", "c1"]
    put_many(again, 1)  # the journal keeps working after the torn tail is cut
    again.close()
    assert [d["id"] for d in StudyStore(tmp_path / "s").table("contributions")] == ["c0", "c1", "c0"]


def test_a_corrupt_line_followed_by_good_ones_is_reported(tmp_path):
    store = StudyStore(tmp_path / "s")
    put_many(store, 3)
    store.journal.close()
    path = tmp_path / "s" / "journal.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"c1", b"cX")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(StoreDamaged, match="change 2 is corrupt"):
        StudyStore(tmp_path / "s")
    assert path.read_bytes() == b"\n".join(lines)  # nothing overwritten


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b'{"_meta": {"1": {"schema": 1', "not complete JSON"),
        (b"\x00\x01garbage", "not complete JSON"),
        (b'{"contributions": {}}', "shape"),
        (b'{"_meta": {"1": {"schema": 99}}, "contributions": {}}', "newer citizen"),
        (b'{"_meta": {"1": {"schema": 1}}, "contributions": {"1": 5}}', "does not hold records"),
        (b"[1, 2, 3]", "shape"),
    ],
)
def test_a_damaged_segment_is_reported_and_left_alone(tmp_path, content, reason):
    store = StudyStore(tmp_path / "s")
    put_many(store, 3)
    store.compact()
    put_many(store, 1)
    store.compact()  # the second write keeps the first as the last good copy
    store.journal.close()
    seg = tmp_path / "s" / "contributions" / "000000.json"
    seg.write_bytes(content)
    again = StudyStore(tmp_path / "s")
    with pytest.raises(StoreDamaged, match=reason) as info:
        list(again.table("contributions"))
    assert seg.read_bytes() == content
    if "newer" not in reason:
        assert info.value.backup is not None
        assert len(load_segment(info.value.backup, "contributions")["contributions"]) == 3


@pytest.mark.parametrize("step", ["write_all", "fsync", "replace", "fsync_dir"])
def test_a_failed_segment_write_leaves_the_old_file_and_the_journal(tmp_path, monkeypatch, step):
    store = StudyStore(tmp_path / "s")
    put_many(store, 2)
    store.compact()
    put_many(store, 1)
    seg = tmp_path / "s" / "contributions" / "000000.json"
    before = seg.read_bytes()
    real = getattr(durable, step)

    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durable, step, broken)
    with pytest.raises(StoreWriteError, match="disk is full"):
        store.compact()
    monkeypatch.setattr(durable, step, real)
    if step != "fsync_dir":
        assert seg.read_bytes() == before
    assert not list(seg.parent.glob(".*.tmp"))
    store.journal.close()
    assert [d["id"] for d in StudyStore(tmp_path / "s").table("contributions")] == ["c0", "c1", "c0"]


def test_a_journal_fsync_failure_is_never_acknowledged(tmp_path, monkeypatch):
    store = StudyStore(tmp_path / "s")
    put_many(store, 1)

    def broken(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(durable, "fsync", broken)
    with pytest.raises(StoreWriteError):
        with transaction(store) as tx:
            tx.insert("contributions", {"id": "lost"})
    monkeypatch.undo()
    assert [d["id"] for d in store.table("contributions")] == ["c0"]


CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from citizen.store import StudyStore, transaction
    store = StudyStore(Path(sys.argv[1]))
    for i in range(100000):
        with transaction(store) as tx:
            tx.insert("contributions", {"id": f"c{i}", "payload": "x" * 200})
            tx.insert("audit", {"id": f"a{i}"})
        print(i, flush=True)
""")


@pytest.mark.parametrize("trial", range(5))
def test_killing_the_writer_loses_nothing_acknowledged(tmp_path, trial, run_env):
    folder = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], stdout=subprocess.PIPE, env=run_env)
    acknowledged = -1
    deadline = time.monotonic() + 30
    target = 300 + trial * 700  # past several compactions for the later trials
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
        if acknowledged >= target:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = StudyStore(folder)
    ids = [d["id"] for d in store.table("contributions")]
    assert len(ids) >= acknowledged + 1
    assert ids[: acknowledged + 1] == [f"c{i}" for i in range(acknowledged + 1)]
    assert all(d["payload"] == "x" * 200 for d in store.table("contributions"))
    assert len(list(store.table("audit"))) == len(ids)  # never one without the other


def test_a_second_process_is_refused_by_the_lock(data_path, run_env):
    with DataFolder(data_path):
        code = "from citizen.store import DataFolder; import sys; DataFolder(sys.argv[1])"
        out = subprocess.run([sys.executable, "-c", code, str(data_path)], capture_output=True, text=True, env=run_env)
        assert out.returncode != 0
        assert "Another copy of citizen is already using" in out.stderr
        with pytest.raises(StoreLocked):
            DataFolder(data_path)
    DataFolder(data_path).close()  # free again once the first closes


def test_a_read_only_folder_reads_but_never_writes(data_path):
    with DataFolder(data_path) as data:
        store = data.new_study_folder("s1")
        put_many(store, 2)
    with DataFolder(data_path) as writer:
        reader = DataFolder(data_path, readonly=True)
        store = reader.study("s1")
        assert len(list(store.table("contributions"))) == 2
        with pytest.raises(StoreWriteError, match="read-only"):
            with transaction(store) as tx:
                tx.insert("contributions", {"id": "x"})
        assert writer.laptop_id == reader.laptop_id


def test_a_stale_temp_file_is_cleaned_at_the_next_start(tmp_path):
    store = StudyStore(tmp_path / "s")
    put_many(store, 1)
    store.close()
    stale = tmp_path / "s" / "contributions" / ".000000.json.999.tmp"
    stale.write_bytes(b"half")
    StudyStore(tmp_path / "s").table("contributions").count_rows()
    assert not stale.exists()


def test_missing_and_unusable_data_folders(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(Exception, match="is not a folder"):
        DataFolder(afile)
    laptop = tmp_path / "d"
    laptop.mkdir()
    (laptop / "laptop.json").write_text("{broken")
    with pytest.raises(StoreDamaged, match="laptop.json"):
        DataFolder(laptop)
    assert (laptop / "laptop.json").read_text() == "{broken"


def test_every_file_carries_a_schema_version(tmp_path):
    store = StudyStore(tmp_path / "s")
    put_many(store, 1)
    store.close()
    seg = json.loads((tmp_path / "s" / "contributions" / "000000.json").read_text())
    assert seg["_meta"]["1"]["schema"] == 1
    assert json.loads((tmp_path / "s" / "journal.jsonl").read_text().splitlines()[0]) == {"citizen-journal": 1}


def test_data_folder_files_are_for_their_owner_only(data_path, study):
    """Health data and private links: the data folder's files were world-readable (issue 18)."""
    study.store.compact()
    assert stat.S_IMODE(data_path.stat().st_mode) == 0o700
    files = [f for f in data_path.rglob("*") if f.is_file() and f.name != ".lock"]
    assert files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
    for d in (d for d in data_path.rglob("*") if d.is_dir()):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
