"""A study new to this laptop, from a bundle: written straight into its segment files, each once,
all of them on disk before the study appears, with the indexes and columns its screens read."""

from __future__ import annotations

import os
from pathlib import Path

from citizen.export.bundle import export_bundle
from citizen.export.bundle_file import open_bundle
from citizen.services.demo import create_demo
from citizen.services.merge import canonical_digest, merge_stream, streaming, writing
from citizen.store import building, derived, durable

from .support.bundles import STUDY, laptop_folder, study_of
from .support.commands import use_small_segments


def test_a_new_study_is_written_once_and_is_on_disk_before_it_appears(tmp_path, monkeypatch):
    use_small_segments(monkeypatch, 50)
    monkeypatch.setattr(streaming, "CREATE_BATCH", 70)  # batches that end inside segments
    monkeypatch.setattr(derived, "GROUP", 3)  # several cache files per table
    with laptop_folder(tmp_path / "source", "DE") as data:
        create_demo(data, participants=30, contributions=400, seed=3, study_id=STUDY)
        export_bundle(study_of(data), tmp_path / "full.citizen-bundle")
        expected = canonical_digest(study_of(data))

    writes: list[str] = []
    synced: set[str] = set()
    renamed: list[Path] = []
    real_write, real_fsync, real_rename = building._write, durable.fsync, writing.os.rename

    def write(path, data):
        writes.append(str(path))
        real_write(path, data)

    def fsync(fd):
        real_fsync(fd)
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))

    def rename(src, dst):
        hidden = Path(src)
        files = [str(p) for p in hidden.glob("*/*.json*")]  # segments and their last good copies
        assert files and not set(files) - synced, "a segment was not on disk before the study appeared"
        renamed.append(hidden)
        real_rename(src, dst)

    monkeypatch.setattr(building, "_write", write)
    monkeypatch.setattr(durable, "fsync", fsync)
    monkeypatch.setattr(writing.os, "rename", rename)
    with laptop_folder(tmp_path / "here", "AC") as data, open_bundle(tmp_path / "full.citizen-bundle") as source:
        report = merge_stream(data, source, "coordinator")
        assert report.creates_study and report.new["contributions"] == source.count("contributions") > 400
    assert len(renamed) == 1
    assert len(writes) == len(set(writes)), "a segment file was written more than once"
    folder = tmp_path / "here" / "studies" / STUDY
    segments = sorted(str(p).replace(str(folder), str(renamed[0])) for p in folder.glob("*/*.json*"))
    assert sorted(writes) == segments  # every segment and its last good copy, nothing else
    assert (folder / "journal.jsonl").read_bytes().count(b"\n") == 1  # its header: no change went through it

    with laptop_folder(tmp_path / "here", "AC") as data:
        study = study_of(data)
        assert canonical_digest(study) == expected
        for table in study.store.tables.values():
            for cache in table.derived():
                list(cache.each())
                assert cache.rebuilt == 0 and not cache.damaged, (table.name, cache.stem)  # current, from its file
