"""Importing a bundle file a batch at a time: the same study as the whole-bundle merge, in bounded memory."""

from __future__ import annotations

import gc
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citizen.cli import bundles as bundles_cli
from citizen.cli import main
from citizen.export import bundle_file
from citizen.export.bundle import export_bundle, read_bundle
from citizen.export.bundle_file import open_bundle
from citizen.services import import_protocol
from citizen.services.demo import DEMO_FILE, create_demo, studies_folder
from citizen.services.merge import BundleRefused, canonical_digest, merge_bundle, merge_stream, plan_stream, streaming
from citizen.store import derived

from .support.bundle_files import data_bytes, older_copy, rewrite_bundle
from .support.bundles import STUDY, laptop_folder, random_activity, snapshot, study_of
from .support.commands import use_small_segments

PROTOCOL = studies_folder() / DEMO_FILE


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".lock"))
    return dst


def conflicts_of(report) -> set:
    return {(c.table, c.record, c.field) for c in report.conflicts}


def whole_merge(folder: Path, laptop: str, bundle: Path):
    with laptop_folder(folder, laptop) as data:
        report = merge_bundle(data, read_bundle(bundle), "coordinator")
        return report, canonical_digest(study_of(data))


def streamed_merge(folder: Path, laptop: str, bundle: Path):
    with laptop_folder(folder, laptop) as data, open_bundle(bundle) as source:
        planned = plan_stream(data, source)
        report = merge_stream(data, source, "coordinator")
        assert planned.new == report.new and conflicts_of(planned) == conflicts_of(report)
        return report, canonical_digest(study_of(data))


# MERGE_EXAMPLES=200 for a longer hunt; the suite runs a quick dozen.
EXAMPLES = int(os.environ.get("MERGE_EXAMPLES", "12"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    seeds=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
    base_steps=st.integers(0, 10),
    steps=st.tuples(st.integers(0, 14), st.integers(0, 14)),
    batch=st.integers(1, 9),
)
def test_a_streamed_merge_gives_what_the_whole_bundle_merge_gives(monkeypatch, seeds, base_steps, steps, batch):
    monkeypatch.setattr(streaming, "BATCH", batch)
    monkeypatch.setattr(streaming, "CREATE_BATCH", batch)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with laptop_folder(tmp / "here", "AC") as here, laptop_folder(tmp / "there", "DE") as there:
            first = import_protocol(here, PROTOCOL, "Amina Yusuf")
            random_activity(first, random.Random(seeds[0] * 7 + 1), base_steps, "Amina Yusuf")
            merge_bundle(there, snapshot(first), "Li Wei")
            for i, folder in enumerate((here, there)):
                random_activity(study_of(folder), random.Random(seeds[i]), steps[i], f"reviewer {i}")
            export_bundle(study_of(there), tmp / "there.citizen-bundle")
        bundle = tmp / "there.citizen-bundle"
        for name in ("whole", "streamed"):
            copy_folder(tmp / "here", tmp / name)
        whole, whole_digest = whole_merge(tmp / "whole", "AC", bundle)
        streamed, streamed_digest = streamed_merge(tmp / "streamed", "AC", bundle)
        assert streamed_digest == whole_digest
        assert streamed.new == whole.new and conflicts_of(streamed) == conflicts_of(whole)
        assert streamed.nothing_to_merge == whole.nothing_to_merge
        assert streamed.only_bookkeeping == whole.only_bookkeeping
        # Into a laptop without the study: the same study as the whole-bundle import.
        assert streamed_merge(tmp / "new-s", "HJ", bundle)[1] == whole_merge(tmp / "new-w", "HJ", bundle)[1]
        # The same bundle again: nothing new, nothing written (not even the journal).
        with laptop_folder(tmp / "streamed", "AC") as data, open_bundle(bundle) as source:
            before = data_bytes(data.path)
            assert merge_stream(data, source, "coordinator").nothing_to_merge
            assert data_bytes(data.path) == before


# -- memory ---------------------------------------------------------------------------------------
@pytest.fixture
def small_batches(monkeypatch):
    """Segments, batches and reads scaled down with the studies, so a few thousand records show the growth."""
    use_small_segments(monkeypatch, 50)
    monkeypatch.setattr(streaming, "BATCH", 100)
    monkeypatch.setattr(streaming, "CREATE_BATCH", 100)
    monkeypatch.setattr(streaming, "WRITE_BACK", 100_000)
    monkeypatch.setattr(bundle_file, "READ_CHUNK", 1 << 14)
    monkeypatch.setattr(derived, "GROUP", 4)  # segments per index file


def fill_string_cache() -> None:
    """pydantic-core keeps up to 16,384 strings it stripped, and as many it read from JSON (caches of
    fixed size): filled while traced, before measuring, so the measure shows what the import itself
    keeps, not those caches filling up."""
    from pydantic import BaseModel, ConfigDict

    class Text(BaseModel):
        model_config = ConfigDict(str_strip_whitespace=True)
        text: str

    for i in range(40_000):
        Text.model_validate({"text": f"filler {i:08d} of the string cache"})
        Text.model_validate_json(b'{"text": "filler %08d read from JSON"}' % i)


def import_peaks(tmp: Path, contributions: int) -> tuple[int, int, int]:
    """Peak bytes allocated importing a bundle of this size into an empty laptop and into an older copy."""
    with laptop_folder(tmp / "source", "DE") as data:
        create_demo(data, participants=20, contributions=contributions, seed=1, study_id=STUDY)
        export_bundle(study_of(data), tmp / "full.citizen-bundle")
        expected = canonical_digest(study_of(data))
    older = older_copy(tmp / "full.citizen-bundle", tmp / "older.citizen-bundle")
    with laptop_folder(tmp / "laptop", "AC") as data, open_bundle(older) as source:
        merge_stream(data, source, "setup")
    peaks = []
    for path, folder in ((tmp / "full.citizen-bundle", tmp / "empty"), (tmp / "full.citizen-bundle", tmp / "laptop")):
        with laptop_folder(folder, "AC") as data, open_bundle(path) as source:
            tracemalloc.start()
            try:
                fill_string_cache()
                gc.collect()
                tracemalloc.reset_peak()
                start = tracemalloc.get_traced_memory()[0]
                merge_stream(data, source, "coordinator")
                peaks.append(tracemalloc.get_traced_memory()[1] - start - id_lookups(study_of(data).store))
            finally:
                tracemalloc.stop()
            assert canonical_digest(study_of(data)) == expected
    with laptop_folder(tmp / "laptop", "AC") as data:
        contributions_now = study_of(data).store.table("contributions").count_rows()
    return peaks[0], peaks[1], contributions_now


def id_lookups(store) -> int:
    """Bytes of the lookups from record id to row that a merge builds (one entry per record of the
    tables it looks into): they grow with the study by design, and are set aside from the peaks."""
    total = 0
    for table in store.tables.values():
        index = table._unique_index or {}
        total += sys.getsizeof(index) + sum(sys.getsizeof(key) + sys.getsizeof(row) for key, row in index.items())
    return total


def test_importing_takes_the_same_memory_at_four_times_the_size(small_batches, tmp_path):
    new_small, merge_small, n_small = import_peaks(tmp_path / "small", 400)
    new_large, merge_large, n_large = import_peaks(tmp_path / "large", 1600)
    assert n_large >= 4 * n_small - 20
    assert new_large < new_small * 1.25, (new_small, new_large)
    assert merge_large < merge_small * 1.25, (merge_small, merge_large)  # besides the id lookups


# -- refusals: found in the checking read, before anything is written -------------------------------
def test_a_bad_record_deep_in_the_file_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "CREATE_BATCH", 20)
    with laptop_folder(tmp_path / "source", "DE") as data:
        create_demo(data, participants=10, contributions=120, seed=2, study_id=STUDY)
        export_bundle(study_of(data), tmp_path / "full.citizen-bundle")
    full = tmp_path / "full.citizen-bundle"
    older = older_copy(full, tmp_path / "older.citizen-bundle")
    # The last activity-log entry is not a valid one (its checksum made to match).
    bad = rewrite_bundle(full, tmp_path / "bad", body_change=lambda body: body[: body.rindex(b'"at":"')] + b'"at":"soon"}]\n')
    cut = tmp_path / "cut"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 3 // 4])
    laptop_folder(tmp_path / "empty", "AC").close()
    with laptop_folder(tmp_path / "older", "AC") as data, open_bundle(older) as source:
        merge_stream(data, source, "setup")
    for folder in (tmp_path / "empty", tmp_path / "older"):
        for path, words in ((bad, "not valid"), (cut, "damaged")):
            with laptop_folder(folder, "AC") as data:
                before = data_bytes(data.path)
                with pytest.raises(BundleRefused, match=words), open_bundle(path) as source:
                    merge_stream(data, source, "coordinator")
                assert data_bytes(data.path) == before  # no half study, no hidden folder, no batch


# -- the command line says how far it is -------------------------------------------------------------
def test_the_command_prints_progress_lines_and_how_many_changes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bundles_cli, "PROGRESS_FROM", 10)
    monkeypatch.setattr(streaming, "BATCH", 40)
    with laptop_folder(tmp_path / "source", "DE") as data:
        create_demo(data, participants=10, contributions=200, seed=2, study_id=STUDY)
        export_bundle(study_of(data), tmp_path / "full.citizen-bundle")
    older = older_copy(tmp_path / "full.citizen-bundle", tmp_path / "older.citizen-bundle")
    laptop_folder(tmp_path / "here", "AC").close()
    assert main(["--data", str(tmp_path / "here"), "bundle", "import", str(older), "--yes"]) == 0
    out = capsys.readouterr()
    assert "Writing the bundle: " in out.err and "(100%)" in out.err
    assert "will be created from the bundle" in out.out and "created" in out.out
    assert main(["--data", str(tmp_path / "here"), "bundle", "import", str(tmp_path / "full.citizen-bundle"), "--yes"]) == 0
    out = capsys.readouterr()
    assert "Checking the bundle: " in out.err and "Merging the bundle: " in out.err
    assert "New: " in out.out and "contributions" in out.out
    changes = int(out.out.split(" records written in ")[1].split()[0])
    assert changes > 3  # a batch at a time, not one change holding the whole bundle


# -- a stop part-way: whole batches or nothing of one, and importing again completes it -------------
STOP_SCRIPT = r"""
import os, sys, time
from pathlib import Path
from citizen.store import durable
from citizen.services.merge import streaming
from citizen.cli import main

mode, data, bundle_path, marker, stop_at = sys.argv[1:6]
streaming.BATCH = 40
real_write, real_fsync = durable.write_all, durable.fsync
lines = 0

def journal(fd):
    return os.readlink(f"/proc/self/fd/{fd}").endswith("journal.jsonl")

def stop():
    Path(marker).write_text("ready")
    time.sleep(60)

def torn_write(fd, data):
    global lines
    if journal(fd):
        lines += 1
        if lines == int(stop_at):  # this batch's journal line: half of it written, then the laptop dies
            real_write(fd, data[: len(data) // 2])
            stop()
    real_write(fd, data)

def stopping_fsync(fd):
    global lines
    real_fsync(fd)
    if journal(fd):
        lines += 1
        if lines == int(stop_at):  # this batch's journal line is on disk: the laptop dies now
            stop()

if mode == "torn":
    durable.write_all = torn_write
else:
    durable.fsync = stopping_fsync
main(["--data", data, "bundle", "import", bundle_path, "--yes"])
print("finished")
"""


def stopped_after(folder: Path, bundle: Path, writes: int, monkeypatch) -> str:
    """The study after exactly ``writes`` batches of the streamed merge (the next one never happens)."""

    class Stop(Exception):
        pass

    real = streaming._StreamMerge._write
    done = []

    def write(self, *args):
        if len(done) == writes:
            raise Stop
        done.append(1)
        real(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(streaming, "BATCH", 40)
        patch.setattr(streaming._StreamMerge, "_write", write)
        with laptop_folder(folder, "AC") as data, open_bundle(bundle) as source:
            with pytest.raises(Stop):
                merge_stream(data, source, "coordinator")
            return canonical_digest(study_of(data))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["torn", "after-journal"])
def test_a_stop_part_way_leaves_whole_batches_and_importing_again_completes(tmp_path, run_env, monkeypatch, mode):
    with laptop_folder(tmp_path / "source", "DE") as data:
        create_demo(data, participants=30, contributions=300, seed=5, study_id=STUDY)
        export_bundle(study_of(data), tmp_path / "full.citizen-bundle")
    full = tmp_path / "full.citizen-bundle"
    older = older_copy(full, tmp_path / "older.citizen-bundle")
    with laptop_folder(tmp_path / "target", "AC") as data, open_bundle(older) as source:
        merge_stream(data, source, "setup")
    for name in ("reference", "whole"):
        copy_folder(tmp_path / "target", tmp_path / name)
    stop_at = 3
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", STOP_SCRIPT, mode, str(tmp_path / "target"), str(full), str(marker), str(stop_at)],
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the merge never reached its third batch"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    (tmp_path / "target" / ".lock").unlink(missing_ok=True)
    landed = stop_at if mode == "after-journal" else stop_at - 1
    with laptop_folder(tmp_path / "target", "AC") as data:
        stopped = canonical_digest(study_of(data))
    assert stopped == stopped_after(tmp_path / "reference", full, landed, monkeypatch)  # whole batches, no part of one
    with laptop_folder(tmp_path / "target", "AC") as data, open_bundle(full) as source:
        assert not merge_stream(data, source, "again").nothing_to_merge  # the rest
        completed = canonical_digest(study_of(data))
    assert completed == whole_merge(tmp_path / "whole", "AC", full)[1]
    with laptop_folder(tmp_path / "target", "AC") as data, open_bundle(full) as source:
        assert merge_stream(data, source, "again").nothing_to_merge
