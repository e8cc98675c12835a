"""A failure at each step of a write, and a full disk, through the services and the command line.

Whatever step fails (write, fsync, rename, folder fsync) on the journal append or on compaction,
the study holds the old or the new state, never a torn one; a change whose fsync failed is never
acknowledged; the person sees a plain message; temporary files go at the next start.
"""

from __future__ import annotations

import contextlib
import errno

import pytest

from citizen.cli import main
from citizen.domain.models import ContributionSource
from citizen.services import add_contribution, open_study
from citizen.services.queries import check_data_folder
from citizen.store import DataFolder, StoreWriteError, durable
from citizen.store import store as store_module
from citizen.store.journal import Journal

from .support.factories import enrol
from .support.harness import ANSWERS, contribution_values

STEPS = ["write_all", "fsync", "replace", "fsync_dir"]


def contribute(study, pid, i):
    return add_contribution(study, pid, contribution_values(i), ContributionSource.phone, "volunteer")


def stored_notes(data_path, study_id):
    with DataFolder(data_path) as data:
        study = open_study(data, study_id)
        return [c["values"]["notes"] for c in study.repo.contribution_docs()], len(study.repo.audit())


class Injector:
    """Make one step of durable writing fail, only while ``armed`` (inside a chosen operation)."""

    def __init__(self, monkeypatch, step, error=errno.ENOSPC):
        self.armed = False
        self.calls = 0
        real = getattr(durable, step)

        def failing(*args, **kwargs):
            if self.armed:
                self.calls += 1
                raise OSError(error, "No space left on device" if error == errno.ENOSPC else "Input/output error")
            return real(*args, **kwargs)

        monkeypatch.setattr(durable, step, failing)

    @contextlib.contextmanager
    def during(self):
        self.armed = True
        try:
            yield
        finally:
            self.armed = False

    def arm_inside(self, monkeypatch, owner, name):
        real = getattr(owner, name)
        injector = self

        def wrapped(*args, **kwargs):
            with injector.during():
                return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapped)


def no_temps(data_path):
    return [p for p in data_path.rglob(".*.tmp")]


@pytest.mark.parametrize("step, error", [("write_all", errno.ENOSPC), ("fsync", errno.ENOSPC), ("fsync", errno.EIO)])
def test_a_failed_journal_append_is_never_acknowledged(data_path, study, monkeypatch, step, error):
    p = enrol(study, ANSWERS)
    contribute(study, p.id, 1)
    before = len(study.repo.audit())
    injector = Injector(monkeypatch, step, error)
    with injector.during(), pytest.raises(StoreWriteError) as info:
        contribute(study, p.id, 2)
    message = str(info.value)
    assert "Nothing was saved" in message or "nothing was saved" in message
    assert "Traceback" not in message and "\n" not in message
    if error == errno.ENOSPC:
        assert "disk is full" in message
    # Not visible now, not there after a reopen either.
    assert [c["values"]["notes"] for c in study.repo.contribution_docs()] == ["write 1: walked past the bus depot"]
    assert len(study.repo.audit()) == before


@pytest.mark.parametrize("step", ["write_all", "fsync"])
def test_after_a_failed_append_the_study_works_again_once_reopened(data_path, demo_file, monkeypatch, step):
    from citizen.services import import_protocol

    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        p = enrol(study, ANSWERS)
        contribute(study, p.id, 1)
        injector = Injector(monkeypatch, step)
        with injector.during(), pytest.raises(StoreWriteError):
            contribute(study, p.id, 2)
        try:
            contribute(study, p.id, 3)  # either the journal was cut back cleanly, or it says to reopen
            kept = [1, 3]
        except StoreWriteError as exc:
            assert "reopen" in str(exc)
            kept = [1]
    notes, audits = stored_notes(data_path, study.id)
    assert notes == [contribution_values(i)["notes"] for i in kept]
    with DataFolder(data_path) as data:
        study = open_study(data, study.id)
        contribute(study, p.id, 4)
    assert stored_notes(data_path, study.id)[0][-1] == contribution_values(4)["notes"]
    assert check_data_folder(data_path).problems == []


@pytest.mark.parametrize("step", STEPS)
def test_a_failed_compaction_keeps_every_acknowledged_change(data_path, demo_file, monkeypatch, step):
    """A full disk while segments are written back: the change is in the journal, so it stays saved."""
    from citizen.services import import_protocol

    monkeypatch.setattr(store_module, "JOURNAL_MAX_ENTRIES", 4)
    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        p = enrol(study, ANSWERS)
        for i in range(6):
            contribute(study, p.id, i)  # compacts along the way, before the failure is armed
        injector = Injector(monkeypatch, step)
        injector.arm_inside(monkeypatch, store_module.StudyStore, "compact")
        acknowledged = list(range(6))
        for i in range(6, 16):
            contribute(study, p.id, i)  # every one returns: it is durable in the journal
            acknowledged.append(i)
        assert injector.calls >= 1
        assert "disk is full" in study.store.compaction_problem
        # Old or new state in every file, never a torn one; temporary files removed.
        assert check_data_folder(data_path).problems == []
        if step != "fsync_dir":
            assert no_temps(data_path) == []
        monkeypatch.undo()  # the disk has room again: closing compacts for real
    notes, audits = stored_notes(data_path, study.id)
    assert notes == [contribution_values(i)["notes"] for i in acknowledged]
    assert check_data_folder(data_path).problems == []


@pytest.mark.parametrize("step", STEPS)
def test_a_failed_journal_reset_leaves_a_working_or_honest_journal(data_path, demo_file, monkeypatch, step):
    """The last step of compaction (a fresh journal) fails: no change is lost and no write crashes."""
    from citizen.services import import_protocol

    monkeypatch.setattr(store_module, "JOURNAL_MAX_ENTRIES", 3)
    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        p = enrol(study, ANSWERS)
        injector = Injector(monkeypatch, step)
        injector.arm_inside(monkeypatch, Journal, "reset")
        acknowledged = []
        refused = 0
        for i in range(8):
            try:
                contribute(study, p.id, i)
                acknowledged.append(i)
            except StoreWriteError as exc:
                assert "reopen" in str(exc)  # the journal cannot be trusted: it says so plainly
                refused += 1
        assert injector.calls >= 1
        if step == "fsync_dir":
            # The fresh journal took the old one's place but may not be on disk: writing stops.
            assert acknowledged == [0] and refused == 7
        else:
            assert acknowledged == list(range(8))  # the old journal, still whole, goes on
        monkeypatch.undo()
    notes, _ = stored_notes(data_path, study.id)
    assert notes == [contribution_values(i)["notes"] for i in acknowledged]
    assert check_data_folder(data_path).problems == []


@pytest.mark.parametrize("step", STEPS)
def test_a_full_disk_on_the_command_line_is_one_plain_line(data_path, demo_file, monkeypatch, capsys, step):
    DataFolder(data_path).close()  # the data folder exists already: the study's own files meet the full disk
    injector = Injector(monkeypatch, step)
    with injector.during():
        code = main(["--data", str(data_path), "study", "import", str(demo_file)])
    out = capsys.readouterr()
    assert code == 1
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("citizen: The disk is full"), lines
    assert "Traceback" not in out.err
    # Nothing half-made is left: no study folder, no temporary file.
    assert not (data_path / "studies" / "air-quality-walk").exists()
    assert no_temps(data_path) == []
    assert main(["--data", str(data_path), "study", "import", str(demo_file)]) == 0
    assert main(["--data", str(data_path), "check"]) == 0


def test_the_next_writer_cleans_temporary_files(data_path, demo_file):
    from citizen.services import import_protocol

    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        folder = study.store.folder
    leftovers = [
        data_path / ".laptop.json.4242.tmp",
        folder / ".journal.jsonl.4242.tmp",
        folder / "contributions" / ".000000.json.4242.tmp",
        folder / "audit" / ".000000.json.bak.4242.tmp",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a write")
    with DataFolder(data_path, readonly=True) as reader:
        reader.study(study.id).table("contributions").count_rows()
        assert all(p.exists() for p in leftovers)  # a reader never removes a writer's files
    with DataFolder(data_path) as data:
        open_study(data, study.id)
        assert [p for p in leftovers if p.exists()] == []
    assert check_data_folder(data_path).problems == []


def test_a_failing_listener_does_not_turn_a_saved_change_into_an_error(data_path, study):
    heard = []

    def broken_view(ops):
        heard.append(ops)
        raise RuntimeError("the screen was already closed")

    study.on_change(broken_view)
    p = enrol(study, ANSWERS)
    c = contribute(study, p.id, 1)  # returns: the change is saved, whatever a viewer does with it
    assert heard, "the listener was told of the change (and failed)"
    with DataFolder(data_path, readonly=True) as reader:  # on disk, as a second process sees it
        stored = open_study(reader, study.id).repo.contribution(c.id)
    assert stored is not None and stored.values == c.values and stored.participant_id == p.id


def test_a_full_disk_at_the_very_first_start(tmp_path, monkeypatch, capsys):
    data_path = tmp_path / "new-data"
    injector = Injector(monkeypatch, "fsync")
    with injector.during():
        code = main(["--data", str(data_path), "demo", "--no-open"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and err.startswith("citizen: The disk is full")
    assert not (data_path / "laptop.json").exists() and no_temps(data_path) == []
    DataFolder(data_path).close()  # the lock was let go, and the next start works
    assert (data_path / "laptop.json").exists()


def test_a_write_cut_off_between_its_two_renames_leaves_no_temporary_file_at_the_next_write(tmp_path):
    """Killed after the old file became the backup but before the new one took its place, the file and
    its backup are one inode; the next write keeps that last good copy and leaves nothing behind."""
    import os

    from citizen.store.durable import atomic_write

    path, backup = tmp_path / "000001.json", tmp_path / "000001.json.bak"
    path.write_bytes(b"old")
    os.link(path, backup)  # the state such a cut leaves
    atomic_write(path, b"new", backup=backup)
    assert path.read_bytes() == b"new" and backup.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000001.json", "000001.json.bak"]
    atomic_write(path, b"newer", backup=backup)  # and from then on, as always
    assert path.read_bytes() == b"newer" and backup.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000001.json", "000001.json.bak"]
