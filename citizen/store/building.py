"""A study that nobody can see yet (an import's hidden folder), written straight into its segment files.

No journal: until its folder is renamed into place the study does not exist, and a stop before
that leaves only the hidden folder, which the next import clears away. So each segment is written
once, when it is full (the last, partly filled ones at the end), with its last good copy (a copy of
itself, as for any new segment) and its derived values (counts, indexes, columns: ``derived.py``),
each cache file once its group of segments is complete. Nothing is fsynced while the records come;
``finish`` fsyncs every file and folder written, so the rename that follows puts a study in place
that is wholly on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

from . import durable
from .durable import StoreWriteError, plain_os_error

if TYPE_CHECKING:
    from .segments import SegmentedTable
    from .store import StudyStore


class StudyBuild:
    """Records added to a new study's tables, written a segment at a time; ``finish`` makes it durable."""

    def __init__(self, store: StudyStore):
        self.store = store
        self.written: list[Path] = []  # to fsync before the folder is put in place
        self.folders: set[Path] = {store.folder}

    def add(self, table: str, docs: Iterable[dict[str, Any]]) -> None:
        segments = self.store.tables[table]
        for number in segments.fill(docs):
            self._seal(segments, number)

    def _seal(self, segments: SegmentedTable, number: int) -> None:
        """Write one segment (and its last good copy), derive what is kept of it, and let it go."""
        storage = segments.loaded_storage(number)
        if storage is None or not storage.dirty:
            return
        # pydantic's encoder, five times faster than json.dumps: the same compact UTF-8 JSON (a rare
        # float is spelt otherwise, 1e-7 for 1e-07, and reads back the same)
        payload = to_json(storage.read(), inf_nan_mode="constants")
        if segments.folder not in self.folders:
            _mkdir(segments.folder)
            self.folders.add(segments.folder)
        for path in (storage.path, storage.backup):
            _write(path, payload)
            self.written.append(path)
        storage.dirty = False
        for cache in segments.derived():
            cache.written(storage)
            if (number + 1) % cache.group == 0:  # a cache file of complete segments: written once, let go
                cache.save()
                cache.let_go()
        segments.let_go_segment(number)

    def finish(self) -> None:
        """Write what is left, then fsync every file and folder written (before the folder is renamed)."""
        for segments in self.store.tables.values():
            for storage in segments.dirty_storages():
                self._seal(segments, storage.segment)
            for cache in segments.derived():
                cache.save()
                cache.let_go()
        try:
            for path in self.written:
                fd = os.open(path, os.O_RDONLY)
                try:
                    durable.fsync(fd)
                finally:
                    os.close(fd)
            for folder in sorted(self.folders, reverse=True):
                durable.fsync_dir(folder)
        except OSError as exc:
            raise StoreWriteError(plain_os_error(exc, self.store.folder)) from exc
        self.written.clear()


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreWriteError(plain_os_error(exc, folder)) from exc


def _write(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            durable.write_all(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreWriteError(plain_os_error(exc, path)) from exc
