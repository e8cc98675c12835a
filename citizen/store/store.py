"""The data folder and its studies: one writer process, durable changes, flat write cost.

Layout::

    DATA/.lock                       held by the one process that writes
    DATA/laptop.json                 this laptop's id (participant codes and merges use it)
    DATA/studies/<id>/journal.jsonl  changes not yet written back into the segments
    DATA/studies/<id>/<table>/NNNNNN.json   TinyDB segment files (and their .bak last good copies)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

from filelock import FileLock, Timeout

from ..domain.values import CODE_ALPHABET
from .columns import KEPT
from .durable import (
    StoreDamaged,
    StoreError,
    StoreLocked,
    StoreWriteError,
    atomic_write,
    plain_os_error,
    remove_stale_temps,
)
from .journal import Journal, Op
from .segments import SegmentedTable
from .serving_note import clear_serving_note, locked_message
from .summary import SUMMARISERS

# Table name -> (documents per segment, the field that identifies a record).
TABLES: dict[str, tuple[int, str]] = {
    "study": (100, "id"),
    "protocol_versions": (200, "number"),
    "drafts": (200, "id"),
    "invites": (1000, "id"),
    "participants": (2000, "id"),
    "contacts": (2000, "participant_id"),
    "consent_events": (2000, "id"),
    "contributions": (1000, "id"),
    "proposals": (1000, "id"),
    "updates": (1000, "id"),
    "audit": (2000, "id"),
}

# Fields whose index is kept beside the segments (derived.py), so that the first request of a
# phone, or the first screen, finds its records without reading every one.
INDEXED: dict[str, tuple[str, ...]] = {
    "participants": ("token", "code"),
    "contacts": ("participant_id",),
    "consent_events": ("participant_id",),
    "contributions": ("participant_id",),
    "invites": ("fingerprint",),
}

JOURNAL_MAX_ENTRIES = 2000
JOURNAL_MAX_BYTES = 8_000_000
# Inside a batch (bulk generation, imports) the journal is compacted by size only: fewer, larger
# write-backs, and the segments written back are then let go so memory stays bounded.
BATCH_JOURNAL_MAX_BYTES = 24_000_000
# After a compaction failed (a full disk, say), changes this many more before it is tried again.
COMPACTION_RETRY_AFTER = 100
LAPTOP_SCHEMA = 1


class StudyLock:
    """The study's re-entrant lock; change listeners run once its outermost holder has let go.

    A listener may wait for another thread (the terminal app's ``call_from_thread`` waits for the
    app's loop). Run while the lock is held, it would wait for a thread that may itself be waiting
    for the lock, to read the study: neither would ever go on.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # changed only by the thread that holds the lock
        self._after: list[Callable[[], None]] = []

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got = self._lock.acquire(blocking, timeout)
        if got:
            self._depth += 1
        return got

    def release(self) -> None:
        self._depth -= 1
        after: list[Callable[[], None]] = []
        if self._depth == 0 and self._after:
            after, self._after = self._after, []
        self._lock.release()
        for call in after:
            call()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def after_release(self, call: Callable[[], None]) -> None:
        """Run ``call`` when this thread no longer holds the lock (now, if it does not)."""
        if self._depth and self._lock._is_owned():  # type: ignore[attr-defined]
            self._after.append(call)
        else:
            call()


class StudyStore:
    """One study's tables. Every change goes through ``commit`` (journal first, then memory)."""

    def __init__(self, folder: Path, readonly: bool = False):
        self.folder = folder
        self.readonly = readonly
        self.lock = StudyLock()
        self.tables = {
            name: SegmentedTable(
                folder / name, name, size, unique, SUMMARISERS.get(name), self.lock, INDEXED.get(name, ()), KEPT.get(name)
            )
            for name, (size, unique) in TABLES.items()
        }
        for table in self.tables.values():
            table.readonly = readonly
        self.journal = Journal(folder / "journal.jsonl")
        self._batch_depth = 0
        self._batch_unsynced = False
        self.compactions = 0
        self.compaction_problem = ""
        self._compaction_retry_at = 0
        self.listeners: list[Any] = []
        if not readonly:
            remove_stale_temps(folder)  # left by a write that never finished; we hold the lock
            for name in TABLES:
                remove_stale_temps(folder / name)
        self._replay()

    def _replay(self) -> None:
        replayed = 0
        for ops in self.journal.replay():
            self._apply(ops)
            replayed += 1
        if not self.readonly:
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.journal.open_for_append()
                if replayed:
                    self._compact_after_commit()  # on a full disk the journal simply stays
            except OSError as exc:
                raise StoreWriteError(plain_os_error(exc, self.journal.path)) from exc

    def table(self, name: str) -> SegmentedTable:
        return self.tables[name]

    def _apply(self, ops: list[Op]) -> None:
        for table, row, doc in ops:
            if table not in self.tables:
                raise StoreDamaged(self.journal.path, f"it names an unknown table '{table}'")
            self.tables[table].apply_put(row, doc)

    def commit(self, ops: list[Op]) -> None:
        """Make a change durable, then visible. Raises StoreWriteError when it is not on disk."""
        if self.readonly:
            raise StoreWriteError("This study is open read-only (another copy of citizen is writing it).")
        if not ops:
            return
        with self.lock:
            sync = self._batch_depth == 0
            self.journal.append(ops, sync=sync)
            if not sync:
                self._batch_unsynced = True
            self._apply(ops)
            if self._batch_depth:
                due = self.journal.size >= BATCH_JOURNAL_MAX_BYTES
            else:
                due = self.journal.entries >= JOURNAL_MAX_ENTRIES or self.journal.size >= JOURNAL_MAX_BYTES
            if due and self.journal.entries >= self._compaction_retry_at:
                self._compact_after_commit()
        if self.listeners:  # bulk work (the demo, imports) has none: nothing is kept for it
            self.lock.after_release(lambda: self._notify(ops))

    def _notify(self, ops: list[Op]) -> None:
        for listener in list(self.listeners):
            try:
                listener(ops)
            except Exception:  # the change is saved: a failing viewer must not make it look unsaved
                logging.getLogger("citizen").exception("a change listener failed")

    def _compact_after_commit(self) -> None:
        # The change is already durable in the journal, so it stays acknowledged even when the
        # compaction fails: the journal keeps every change and is replayed on the next open.
        try:
            self.compact()
        except StoreError as exc:
            self.compaction_problem = str(exc)
            self._compaction_retry_at = self.journal.entries + COMPACTION_RETRY_AFTER
        else:
            self.compaction_problem = ""
            self._compaction_retry_at = 0

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group many changes under one fsync (bulk generation and imports): durable at the end."""
        with self.lock:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
                if self._batch_depth == 0 and self._batch_unsynced:
                    self._batch_unsynced = False
                    self.journal.sync()

    def compact(self, release: bool = False) -> int:
        """Write changed segments back to disk, then start an empty journal (``release``: see
        ``SegmentedTable.flush``)."""
        if self.readonly:
            return 0
        with self.lock:
            if self._batch_unsynced:
                self.journal.sync()
                self._batch_unsynced = False
            written = 0
            for t in self.tables.values():
                written += t.flush(release)
            self.journal.reset()
            self.compactions += 1
            if self._batch_depth:
                for t in self.tables.values():
                    t.unload_clean(keep_newest=True)
            return written

    def forget_old_copies(self, table: str) -> None:
        """Write the table back, and make each segment's last good copy (.bak) the segment as it is now:
        after a change that must leave no trace on disk (links replaced by fingerprints). Indexes of
        fields no longer indexed (an older version's index of invite tokens) go too."""
        with self.lock:
            self.compact()
            folder = self.tables[table].folder
            for segment in sorted(folder.glob("*.json")):
                backup = segment.with_name(segment.name + ".bak")
                if backup.exists():
                    atomic_write(backup, segment.read_bytes())
            kept = {f"index-{field}" for field in (*INDEXED.get(table, ()), TABLES[table][1])}
            for cache in folder.glob("index-*.cache"):
                if cache.name.split(".", 1)[0] not in kept:
                    cache.unlink(missing_ok=True)

    def next_row(self, table: str) -> int:
        return self.tables[table].next_row()

    def close(self) -> None:
        with self.lock:
            if not self.readonly:
                try:
                    self.compact()
                except StoreError:
                    pass  # the journal still holds every change; it is replayed on next open
            self.journal.close()


class Transaction:
    """The documents one use case writes, committed together as one journal line."""

    def __init__(self, store: StudyStore):
        self.store = store
        self.ops: list[Op] = []
        self._reserved: dict[str, int] = {}

    def insert(self, table: str, doc: dict[str, Any]) -> int:
        if table not in self._reserved:
            self._reserved[table] = self.store.next_row(table)
        row = self._reserved[table]
        self._reserved[table] += 1
        self.ops.append((table, row, doc))
        return row

    def put(self, table: str, row: int, doc: dict[str, Any]) -> None:
        self.ops.append((table, row, doc))


@contextlib.contextmanager
def transaction(store: StudyStore) -> Iterator[Transaction]:
    """Hold the study's lock, gather a change, and commit it only if the block ends cleanly."""
    with store.lock:
        tx = Transaction(store)
        yield tx
        store.commit(tx.ops)


def laptop_backup(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def read_laptop_id(path: Path) -> str:
    """This laptop's id from laptop.json; anything else is damage, reported and never replaced."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise StoreDamaged(path, f"it cannot be read ({exc.strerror})", laptop_backup(path)) from None
    except (ValueError, RecursionError):
        raise StoreDamaged(path, "it is not complete JSON; it should hold this laptop's id", laptop_backup(path)) from None
    if not isinstance(data, dict):
        raise StoreDamaged(path, "it does not have the shape of a laptop file", laptop_backup(path))
    schema = data.get("schema", 1)  # the first files carried no version: they are schema 1
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise StoreDamaged(path, f"its schema version ({str(schema)[:20]}) is not one citizen writes", laptop_backup(path))
    if schema > LAPTOP_SCHEMA:
        raise StoreDamaged(path, f"it was written by a newer citizen (schema {schema}); update citizen")
    value = data.get("laptop")
    if not (isinstance(value, str) and len(value) == 2 and all(c in CODE_ALPHABET for c in value)):
        raise StoreDamaged(path, "it does not hold a laptop id (two letters or digits)", laptop_backup(path))
    return value


def user_data_folder() -> Path:
    env = os.environ.get("CITIZEN_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir  # lazy: only when no --data or CITIZEN_HOME names the folder

    return Path(user_data_dir("citizen", appauthor=False))


class DataFolder:
    """The data folder: its lock, its laptop id and its studies."""

    def __init__(self, path: Path, readonly: bool = False, create: bool = True, repairing: bool = False):
        self.path = Path(path).expanduser().resolve()
        self.readonly = readonly
        self._stores: dict[str, StudyStore] = {}
        self._lock: Optional[FileLock] = None
        if not self.path.exists():
            if not create:
                raise StoreError(f"The data folder {self.path} does not exist.")
            try:
                self.path.mkdir(mode=0o700, parents=True)
            except OSError as exc:
                raise StoreError(f"Cannot create the data folder {self.path}: {exc.strerror}.") from None
        if not self.path.is_dir():
            raise StoreError(f"{self.path} is not a folder; choose a data folder with --data.")
        if not readonly:
            self._acquire()
            remove_stale_temps(self.path)
            with contextlib.suppress(OSError):  # health data and private links: for this laptop's user alone
                os.chmod(self.path, 0o700)
        try:
            self.laptop_id = self._laptop_id()
        except StoreDamaged:
            if not repairing:  # `citizen check --restore` holds the lock to put a good copy back
                self.close()
                raise
            self.laptop_id = ""
        except StoreError:
            self.close()  # a full disk at the first start: let go of the lock before saying so
            raise

    def _acquire(self) -> None:
        lock = FileLock(str(self.path / ".lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise StoreLocked(locked_message(self.path)) from None
        except OSError as exc:
            raise StoreError(f"Cannot use the data folder {self.path}: {exc.strerror}. Check that it is writable.") from None
        self._lock = lock
        clear_serving_note(self.path)  # left by a holder that has let go of the lock

    def _laptop_id(self) -> str:
        path = self.path / "laptop.json"
        if not path.exists():
            value = "".join(secrets.choice(CODE_ALPHABET) for _ in range(2))
            if not self.readonly:
                atomic_write(path, json.dumps({"laptop": value, "schema": LAPTOP_SCHEMA}).encode(), backup=laptop_backup(path))
            return value
        return read_laptop_id(path)

    @property
    def studies_folder(self) -> Path:
        return self.path / "studies"

    def study_ids(self) -> list[str]:
        if not self.studies_folder.is_dir():
            return []
        return sorted(p.name for p in self.studies_folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def has_study(self, study_id: str) -> bool:
        return (self.studies_folder / study_id).is_dir()

    def study(self, study_id: str) -> StudyStore:
        store = self._stores.get(study_id)
        if store is None:
            folder = self.studies_folder / study_id
            if not folder.is_dir():
                raise StoreError(f"There is no study '{study_id}' in {self.path}.")
            store = StudyStore(folder, readonly=self.readonly)
            self._stores[study_id] = store
        return store

    def new_study_folder(self, study_id: str) -> StudyStore:
        folder = self.studies_folder / study_id
        if folder.exists():
            raise StoreError(f"A study '{study_id}' already exists in {self.path}.")
        if self.readonly:
            raise StoreWriteError("The data folder is open read-only.")
        try:
            self.studies_folder.mkdir(mode=0o700, exist_ok=True)
            folder.mkdir(mode=0o700)
        except OSError as exc:
            raise StoreWriteError(plain_os_error(exc, folder)) from None
        try:
            store = StudyStore(folder)
        except StoreError:
            shutil.rmtree(folder, ignore_errors=True)  # a study that never began leaves no folder behind
            raise
        self._stores[study_id] = store
        return store

    def discard_study_folder(self, study_id: str) -> None:
        """Remove a study folder that was never completed (its creation failed)."""
        store = self._stores.pop(study_id, None)
        if store is not None:
            store.journal.close()
        shutil.rmtree(self.studies_folder / study_id, ignore_errors=True)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> DataFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
