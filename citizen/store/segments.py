"""A study's growing tables as runs of bounded TinyDB segment files.

Each table of a study is a folder of TinyDB files (``000000.json``, ``000001.json`` ...), each
holding at most ``size`` documents; document ids are global row numbers, so row ``n`` lives in
segment ``(n - 1) // size``. Only the segments a change touches are rewritten, so the cost of a
write stays flat however large the study grows. Durability comes from the study's journal
(``journal.py``); segments are written back to disk, atomically, when the journal is compacted.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from .durable import StoreDamaged, StoreError, atomic_write

SCHEMA = 1
META = "_meta"



def _from_schema_0(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 0 (the first pre-release files) kept records under TinyDB's ``_default`` table."""
    meta = data[META]["1"]
    table = meta.get("table")
    if not isinstance(table, str) or not table:
        raise ValueError("a schema 0 file names its table in its _meta record")
    rows = data.pop("_default", {})
    return {**data, table: {**rows, **(data.get(table) or {})}}


# Migrations of a segment's raw data from schema N to N + 1, run on open; the file is rewritten
# in the new schema the next time it changes (its old copy is kept as the last good copy).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_schema_0}


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
        payload = json.dumps(self._data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        atomic_write(self.path, payload, backup=self.backup)
        self.dirty = False

    def close(self) -> None:
        pass


def load_segment(path: Path, table: str) -> dict[str, Any]:
    """Read and check one segment file; a damaged one raises StoreDamaged, never reads as empty."""
    backup = path.with_name(path.name + ".bak")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StoreDamaged(path, "the file is missing", backup) from None
    except OSError as exc:
        raise StoreDamaged(path, f"it cannot be read ({exc.strerror})", backup) from None
    if not raw.strip():
        raise StoreDamaged(path, "the file is empty", backup)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreDamaged(path, f"it is not complete JSON ({exc})", backup) from None
    except RecursionError:
        raise StoreDamaged(path, "it is nested too deeply to be ours", backup) from None
    if not isinstance(data, dict) or not isinstance(data.get(META), dict):
        raise StoreDamaged(path, "it does not have the shape of a citizen table file", backup)
    meta = data[META].get("1")
    if not isinstance(meta, dict) or not isinstance(meta.get("schema"), int):
        raise StoreDamaged(path, "its schema version is missing", backup)
    schema = meta["schema"]
    if schema > SCHEMA:
        raise StoreDamaged(
            path, f"it was written by a newer citizen (schema {schema}; this one knows {SCHEMA}); update citizen"
        )
    while schema < SCHEMA:
        migrate = MIGRATIONS.get(schema)
        if migrate is None:
            raise StoreDamaged(path, f"schema {schema} is too old to be read", backup)
        try:
            data = migrate(data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise StoreDamaged(path, f"it cannot be brought from schema {schema} to {schema + 1} ({exc})", backup) from None
        schema += 1
        data[META]["1"]["schema"] = schema
    rows = data.get(table, {})
    if not isinstance(rows, dict) or not all(isinstance(d, dict) for d in rows.values()):
        raise StoreDamaged(path, f"its '{table}' table does not hold records", backup)
    for key in rows:
        if not key.isdigit():
            raise StoreDamaged(path, f"record id '{key[:20]}' is not a number", backup)
    data[table] = rows
    return data


class SegmentedTable:
    """One table of a study: a run of segment files, loaded on demand."""

    def __init__(self, folder: Path, name: str, size: int, unique: str = "id",
                 summariser: Optional[Summariser] = None, lock: Optional[threading.RLock] = None):
        self.folder = folder
        self.readonly = False
        self.lock = lock if lock is not None else threading.RLock()
        self.name = name
        self.size = size
        self.unique = unique
        self.summary = SegmentSummaries(self, summariser) if summariser is not None else None
        self._dbs: dict[int, SegmentDB] = {}
        self._numbers: Optional[list[int]] = None
        self._number_set: frozenset[int] = frozenset()
        self._next_row: Optional[int] = None
        self._indexes: dict[str, dict[Any, list[int]]] = {}
        self._unique_index: Optional[dict[Any, int]] = None

    # -- files -------------------------------------------------------------------------------
    def segment_numbers(self) -> list[int]:
        if self._numbers is None:
            numbers = []
            if self.folder.is_dir():
                for entry in os.scandir(self.folder):
                    stem, _, ext = entry.name.partition(".")
                    if ext == "json" and stem.isdigit():
                        numbers.append(int(stem))
            self._numbers = sorted(numbers)
            self._number_set = frozenset(self._numbers)
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
            path = self.segment_path(number)
            db = SegmentDB(str(path), storage=SegmentStorage, table=self.name, segment=number, create=create)
            db.storage.read()  # load (and check) now, so damage is reported where it is met
            self._dbs[number] = db
            if not self.has_segment(number):
                self._numbers = sorted([*self.segment_numbers(), number])
                self._number_set = frozenset(self._numbers)
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
            index: dict[Any, int] = {}
            for row, doc in self.rows():
                index[doc.get(self.unique)] = row
            self._unique_index = index
        return self._unique_index.get(value)

    def find(self, value: Any) -> Optional[dict[str, Any]]:
        row = self.find_row(value)
        return None if row is None else self.get(row)

    def rows_where(self, field: str, value: Any) -> list[int]:
        """Rows whose ``field`` equals ``value``, through an index kept in memory once built."""
        index = self._indexes.get(field)
        if index is None:
            index = {}
            for row, doc in self.rows():
                index.setdefault(doc.get(field), []).append(row)
            self._indexes[field] = index
        return list(index.get(value, ()))

    def where(self, field: str, value: Any) -> list[dict[str, Any]]:
        return [doc for row in self.rows_where(field, value) if (doc := self.get(row)) is not None]

    # -- changing (called by the store, after the journal holds the change) ----------------
    def apply_put(self, row: int, doc: dict[str, Any]) -> None:
        number = (row - 1) // self.size
        exists = self.has_segment(number)
        old = self.get(row) if exists else None
        db = self._db(number, create=not exists)
        db.table(self.name).put(row, doc)
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

    def dirty_storages(self) -> list[SegmentStorage]:
        return [db.storage for db in self._dbs.values() if db.storage.dirty]

    def flush(self) -> int:
        """Write every changed segment back to disk; returns how many were written."""
        dirty = self.dirty_storages()
        if dirty:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for storage in dirty:
            storage.flush()
            if self.summary is not None:
                self.summary.written(storage)
        if dirty and self.summary is not None:
            self.summary.save()
        return len(dirty)

    def loaded_storage(self, number: int) -> Optional[SegmentStorage]:
        db = self._dbs.get(number)
        return None if db is None else db.storage

    def unload_clean(self, keep_newest: bool = False) -> None:
        """Forget the loaded segments that hold no unsaved change (to give memory back)."""
        newest = self.segment_numbers()[-1] if keep_newest and self.segment_numbers() else None
        for number in [n for n, db in self._dbs.items() if not db.storage.dirty and n != newest]:
            del self._dbs[number]


Summariser = Callable[[Iterable[dict[str, Any]]], dict[str, int]]
SUMMARY_FILE = "summary.cache"  # JSON; not named *.json so it is never taken for a segment
SUMMARY_SCHEMA = 1


def _file_key(path: Path) -> Optional[list[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


class SegmentSummaries:
    """Counts per segment (kept in ``<table>/summary.cache``), so figures never read every record.

    The file is only a cache: an entry counts only while its segment file is the very file it
    was made from (same inode, size and modification time); a segment held in memory is always
    counted from memory; a missing, stale or unreadable entry is counted again from the segment.
    """

    def __init__(self, table: SegmentedTable, summarise: Summariser):
        self.table = table
        self.summarise = summarise
        self.kind = f"{table.name}/{getattr(summarise, 'version', 1)}"
        self._disk: Optional[dict[str, Any]] = None
        self._memo: dict[int, tuple[weakref.ref[SegmentStorage], int, dict[str, int]]] = {}
        self._changed = False
        self.rebuilt = 0  # segments counted again from their file (tests check the growth shape)

    @property
    def path(self) -> Path:
        return self.table.folder / SUMMARY_FILE

    def _entries(self) -> dict[str, Any]:
        if self._disk is None:
            entries: dict[str, Any] = {}
            try:
                data = json.loads(self.path.read_bytes())
                if (isinstance(data, dict) and data.get("citizen-summary") == SUMMARY_SCHEMA
                        and data.get("kind") == self.kind and isinstance(data.get("segments"), dict)):
                    entries = data["segments"]
            except (OSError, ValueError):
                pass  # no cache, or a damaged one: everything is counted again from the segments
            self._disk = entries
        return self._disk

    def _from_memory(self, storage: SegmentStorage) -> dict[str, int]:
        memo = self._memo.get(storage.segment)
        if memo is not None and memo[0]() is storage and memo[1] == storage.version:
            return memo[2]
        data = storage.read() or {}
        counts = dict(self.summarise(data.get(self.table.name, {}).values()))
        self._memo[storage.segment] = (weakref.ref(storage), storage.version, counts)
        return counts

    def _remember(self, number: int, counts: dict[str, int], key: Optional[list[int]]) -> None:
        entries = self._entries()
        if key is None:
            entries.pop(str(number), None)
            return
        entry = {"file": key, "counts": counts}
        if entries.get(str(number)) != entry:
            entries[str(number)] = entry
            self._changed = True

    def _known(self, number: int) -> Optional[dict[str, int]]:
        storage = self.table.loaded_storage(number)
        if storage is not None:
            counts = self._from_memory(storage)
            if not storage.dirty:
                self._remember(number, counts, _file_key(self.table.segment_path(number)))
            return counts
        entry = self._entries().get(str(number))
        if (isinstance(entry, dict) and isinstance(entry.get("counts"), dict)
                and entry.get("file") == _file_key(self.table.segment_path(number))):
            return entry["counts"]
        return None

    def segment(self, number: int) -> dict[str, int]:
        with self.table.lock:
            counts = self._known(number)
        if counts is not None:
            return counts
        # Counted from the file without keeping it loaded (memory stays small) and without
        # holding the lock (writers go on). The key is taken first: if the file is replaced
        # meanwhile, this entry simply never matches.
        path = self.table.segment_path(number)
        key = _file_key(path)
        data = load_segment(path, self.table.name)
        counts = dict(self.summarise(data[self.table.name].values()))
        with self.table.lock:
            self.rebuilt += 1
            self._remember(number, counts, key)
        return counts

    def totals(self, save: bool = True) -> dict[str, int]:
        """The counts of the whole table, summed over its segments."""
        out: dict[str, int] = {}
        with self.table.lock:
            numbers = list(self.table.segment_numbers())
        for number in numbers:
            for key, value in self.segment(number).items():
                out[key] = out.get(key, 0) + value
        if save:
            with self.table.lock:
                self.save()
        return out

    def written(self, storage: SegmentStorage) -> None:
        """A segment was just written back: its counts now describe the new file."""
        self._remember(storage.segment, self._from_memory(storage), _file_key(storage.path))

    def save(self) -> None:
        """Write the cache if it changed; a failure costs only a recount next time."""
        if not self._changed or self._disk is None or self.table.readonly:
            return
        payload = {"citizen-summary": SUMMARY_SCHEMA, "kind": self.kind, "segments": self._disk}
        try:
            atomic_write(self.path, json.dumps(payload, separators=(",", ":")).encode())
            self._changed = False
        except StoreError:
            pass
