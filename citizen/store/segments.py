"""A study's growing tables as runs of bounded TinyDB segment files.

Each table of a study is a folder of TinyDB files (``000000.json``, ``000001.json`` ...), each
holding at most ``size`` documents; document ids are global row numbers, so row ``n`` lives in
segment ``(n - 1) // size``. Only the segments a change touches are rewritten, so the cost of a
write stays flat however large the study grows. Durability comes from the study's journal
(``journal.py``); segments are written back to disk, atomically, when the journal is compacted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Optional, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from .derived import SUMMARY_FILE, Derive, SegmentCache, SegmentIndex, SegmentSummaries
from .durable import atomic_write
from .segment_file import META, SCHEMA, load_segment

__all__ = ["SUMMARY_FILE", "SegmentedTable", "load_segment"]


class SegmentTable(Table):
    """TinyDB's Table with a put that replaces a whole document under a known id."""

    def put(self, doc_id: int, doc: dict[str, Any]) -> None:
        """Set one document in place: O(1), unlike ``_update_table`` which rebuilds the table."""
        tables = self._storage.read() or {}
        tables.setdefault(self.name, {})[str(doc_id)] = doc
        self._storage.write(tables)
        self.clear_cache()
        if self._next_id is not None and doc_id >= self._next_id:
            self._next_id = doc_id + 1


class SegmentDB(TinyDB):
    table_class = SegmentTable

    @property
    def storage(self) -> SegmentStorage:
        return cast(SegmentStorage, self._storage)

    def segment_table(self, name: str) -> SegmentTable:
        return cast(SegmentTable, self.table(name))


class SegmentStorage(Storage):
    """TinyDB storage of one segment: read once and kept in memory; written back on flush."""

    def __init__(self, path: str, table: str = "", segment: int = 0, create: bool = False):
        self.path = Path(path)
        self.table = table
        self.segment = segment
        self.dirty = False
        self.version = 0  # bumped on every change, so what is derived from the data knows when it is stale
        self._data: Optional[dict[str, Any]] = None
        if create and not self.path.exists():
            self._data = {META: {"1": {"schema": SCHEMA, "table": table, "segment": segment}}, table: {}}
            self.dirty = True

    @property
    def backup(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    def read(self) -> Optional[dict[str, Any]]:
        if self._data is None:
            self._data = load_segment(self.path, self.table)
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data
        self.dirty = True
        self.version += 1

    def flush(self) -> None:
        if not self.dirty or self._data is None:
            return
        from pydantic_core import to_json  # lazy: only once something is written (start-up time)

        # pydantic's encoder, five times faster than json.dumps, for the same compact UTF-8 JSON (a
        # rare float is spelt otherwise, 1e-7 for 1e-07, and reads back the same). Every record here
        # went through the journal's json.dumps first, so only JSON's own types reach it.
        payload = to_json(self._data, inf_nan_mode="constants")
        atomic_write(self.path, payload, backup=self.backup)
        self.dirty = False

    def close(self) -> None:
        pass


class SegmentedTable:
    """One table of a study: a run of segment files, loaded on demand."""

    def __init__(
        self,
        folder: Path,
        name: str,
        size: int,
        unique: str = "id",
        summariser: Optional[Callable[..., Any]] = None,
        lock: Optional[AbstractContextManager[Any]] = None,
        indexed: Iterable[str] = (),
        kept: Optional[dict[str, tuple[Derive, str, Callable[[Any], bool], Optional[int]]]] = None,
    ):
        self.folder = folder
        self.readonly = False
        self.lock = lock if lock is not None else threading.RLock()
        self.name = name
        self.size = size
        self.unique = unique
        self.summary = SegmentSummaries(self, summariser) if summariser is not None else None
        # Indexes by field, kept per segment in cache files (see derived.py): the ones named here
        # are kept current at every write-back; any other is once it has been asked for.
        self.caches: dict[str, SegmentIndex] = {f: SegmentIndex(self, f) for f in dict.fromkeys((unique, *indexed))}
        self.persisted = frozenset(self.caches)
        # Other values kept per segment and current at every write-back (columns.py).
        self.kept: dict[str, SegmentCache] = {
            stem: SegmentCache(self, stem, derive, kind, accepts=accepts, group=group)
            for stem, (derive, kind, accepts, group) in (kept or {}).items()
        }
        self._dbs: dict[int, SegmentDB] = {}
        self._numbers: Optional[list[int]] = None
        self._number_set: frozenset[int] = frozenset()
        self._next_row: Optional[int] = None
        self._indexes: dict[str, dict[Any, list[int]]] = {}
        self._unique_index: Optional[dict[Any, int]] = None

    # -- files -------------------------------------------------------------------------------
    def segment_numbers(self) -> list[int]:
        if self._numbers is None:
            with self.lock:
                return self._scan_numbers()
        return self._numbers

    def _scan_numbers(self) -> list[int]:
        if self._numbers is None:
            numbers = []
            if self.folder.is_dir():
                for entry in os.scandir(self.folder):
                    stem, _, ext = entry.name.partition(".")
                    if ext == "json" and stem.isdigit():
                        numbers.append(int(stem))
            numbers.sort()
            self._number_set = frozenset(numbers)  # set before the list, which readers check first
            self._numbers = numbers
        return self._numbers

    def has_segment(self, number: int) -> bool:
        if self._numbers is None:
            self.segment_numbers()
        return number in self._number_set

    def segment_path(self, number: int) -> Path:
        return self.folder / f"{number:06d}.json"

    def _db(self, number: int, create: bool = False) -> SegmentDB:
        db = self._dbs.get(number)
        if db is None:
            with self.lock:  # a reader loading a segment must not put its copy over a writer's changes
                return self._load(number, create)
        return db

    def _load(self, number: int, create: bool) -> SegmentDB:
        db = self._dbs.get(number)
        if db is None:
            path = self.segment_path(number)
            db = SegmentDB(str(path), storage=SegmentStorage, table=self.name, segment=number, create=create)
            db.storage.read()  # load (and check) now, so damage is reported where it is met
            self._dbs[number] = db
            if not self.has_segment(number):
                numbers = sorted([*self.segment_numbers(), number])
                self._number_set = frozenset(numbers)
                self._numbers = numbers
        return db

    def _raw(self, number: int) -> dict[str, dict[str, Any]]:
        data = self._db(number).storage.read()
        assert data is not None
        return data[self.name]

    def loaded_segments(self) -> list[SegmentDB]:
        return list(self._dbs.values())

    # -- reading ----------------------------------------------------------------------------
    def next_row(self) -> int:
        if self._next_row is None:
            with self.lock:
                return self._find_next_row()
        return self._next_row

    def _find_next_row(self) -> int:
        if self._next_row is None:
            numbers = self.segment_numbers()
            if not numbers:
                self._next_row = 1
            else:
                last = numbers[-1]
                rows = self._raw(last)
                self._next_row = (max(int(k) for k in rows) + 1) if rows else last * self.size + 1
        return self._next_row

    def count_rows(self) -> int:
        """Rows ever written (every row is kept; removal in this project leaves a tombstone)."""
        return self.next_row() - 1

    def get(self, row: int) -> Optional[dict[str, Any]]:
        number = (row - 1) // self.size
        if not self.has_segment(number):
            return None
        db = self._dbs.get(number)
        data = db.storage._data if db is not None else None
        rows = data[self.name] if data is not None else self._raw(number)
        return rows.get(str(row))

    def rows(self, start_segment: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every (row, document) in row order. Documents are the store's own: do not change them."""
        for number in self.segment_numbers():
            if number < start_segment:
                continue
            # A snapshot of the segment: the writer may add to it while a reader walks it.
            for key, doc in list(self._raw(number).items()):
                yield int(key), doc

    def stream(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every (row, document) in row order, keeping no more segments in memory than were already.

        For whole-study reading (bundles, exports): a segment not already loaded is read from its
        file and let go once walked, so memory stays at one segment however large the study. The
        caller holds the study's lock for a consistent reading: unsaved changes are in memory.
        """
        for rows in self._streamed():
            for key, doc in rows.items():
                yield int(key), doc
            del rows

    def stream_batches(self) -> Iterator[list[dict[str, Any]]]:
        """The documents of each segment in turn, in row order, as ``stream`` reads them (one segment held)."""
        for rows in self._streamed():
            yield list(rows.values())
            del rows

    def _streamed(self) -> Iterator[dict[str, dict[str, Any]]]:
        for number in list(self.segment_numbers()):
            if self.loaded_storage(number) is not None:
                yield dict(self._raw(number))  # a snapshot: the writer may add to it while a reader walks it
            else:
                yield load_segment(self.segment_path(number), self.name)[self.name]

    def segment_docs(self, number: int) -> list[dict[str, Any]]:
        """The documents of one segment in stored order, as ``stream_batches`` reads them (not kept loaded)."""
        if self.loaded_storage(number) is not None:
            return list(self._raw(number).values())
        return list(load_segment(self.segment_path(number), self.name)[self.name].values())

    def segment_rows(self, number: int) -> list[tuple[int, dict[str, Any]]]:
        """The (row, document) pairs of one segment (lets a reader go a segment at a time)."""
        if number not in self.segment_numbers():
            return []
        return [(int(key), doc) for key, doc in self._raw(number).items()]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for _, doc in self.rows():
            yield doc

    def find_row(self, value: Any) -> Optional[int]:
        """The row of the document whose unique field (``id``) has this value."""
        if self._unique_index is None:
            self._unique_index = {v: max(rows) for v, rows in self._cache(self.unique).build().items()}
        return self._unique_index.get(value)

    def find(self, value: Any) -> Optional[dict[str, Any]]:
        row = self.find_row(value)
        return None if row is None else self.get(row)

    def rows_where(self, field: str, value: Any) -> list[int]:
        """Rows whose ``field`` equals ``value``, through an index kept in memory once built."""
        index = self._indexes.get(field)
        if index is None:
            index = self._indexes[field] = self._cache(field).build()
        return list(index.get(value, ()))

    def _cache(self, field: str) -> SegmentIndex:
        cache = self.caches.get(field)
        if cache is None:
            cache = self.caches[field] = SegmentIndex(self, field, keep_current=False)
        return cache

    def derived(self) -> list[SegmentCache]:
        """The caches kept beside this table's segments (its summary, its indexes, the rest)."""
        return [*([self.summary] if self.summary is not None else []), *self.caches.values(), *self.kept.values()]

    def where(self, field: str, value: Any) -> list[dict[str, Any]]:
        return [doc for row in self.rows_where(field, value) if (doc := self.get(row)) is not None]

    # -- changing (called by the store, after the journal holds the change) ----------------
    def apply_put(self, row: int, doc: dict[str, Any]) -> None:
        number = (row - 1) // self.size
        exists = self.has_segment(number)
        old = self.get(row) if exists else None
        db = self._db(number, create=not exists)
        db.segment_table(self.name).put(row, doc)
        if self._next_row is not None and row >= self._next_row:
            self._next_row = row + 1
        if self._unique_index is not None:
            if old is not None and old.get(self.unique) != doc.get(self.unique):
                self._unique_index.pop(old.get(self.unique), None)
            self._unique_index[doc.get(self.unique)] = row
        for field, index in self._indexes.items():
            if old is not None and old.get(field) == doc.get(field):
                continue
            if old is not None:
                rows = index.get(old.get(field))
                if rows and row in rows:
                    rows.remove(row)
            index.setdefault(doc.get(field), []).append(row)

    def fill(self, docs: Iterable[dict[str, Any]]) -> list[int]:
        """Append documents in memory, to a table being built where nobody reads it yet (a new study
        in its hidden folder: ``building.py``); the numbers of the segments this filled up."""
        full: list[int] = []
        row = self.next_row()
        number, rows, storage = -1, {}, None
        for doc in docs:
            if (row - 1) // self.size != number:
                number = (row - 1) // self.size
                storage = self._db(number, create=not self.has_segment(number)).storage
                rows = cast(dict[str, Any], storage.read())[self.name]
                storage.write(storage._data or {})
            rows[str(row)] = doc
            if row % self.size == 0:
                full.append(number)
            row += 1
        self._next_row = row
        return full

    def let_go_segment(self, number: int) -> None:
        """Forget one loaded segment (written back already)."""
        self._dbs.pop(number, None)

    def dirty_storages(self) -> list[SegmentStorage]:
        return [db.storage for db in self._dbs.values() if db.storage.dirty]

    def flush(self, release: bool = False) -> int:
        """Write every changed segment back to disk; returns how many were written. With ``release``
        (bulk work), each cache's files are let go once saved: one cache's in memory at a time."""
        dirty = self.dirty_storages()
        if not dirty:
            return 0
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for storage in dirty:
            storage.flush()
        for cache in self.derived():
            for storage in dirty:
                cache.written(storage)
            cache.save()
            if release:
                cache.let_go()
        return len(dirty)

    def loaded_storage(self, number: int) -> Optional[SegmentStorage]:
        db = self._dbs.get(number)
        return None if db is None else db.storage

    def unload_clean(self, keep_newest: bool = False) -> None:
        """Forget the loaded segments that hold no unsaved change (to give memory back)."""
        newest = self.segment_numbers()[-1] if keep_newest and self.segment_numbers() else None
        for number in [n for n, db in self._dbs.items() if not db.storage.dirty and n != newest]:
            del self._dbs[number]
        for cache in self.derived():
            cache.let_go()
