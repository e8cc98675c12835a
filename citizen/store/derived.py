"""What is derived from a table's segments and kept beside them: counts, and indexes by field.

Each segment's derived value (its counts, or which of its rows hold which value of a field) is
kept in a cache file of the table's folder, so that opening a study, drawing its figures or
answering a phone's first request never reads every record. A cache is never trusted over the
data: an entry counts only while its segment file is the very file it was made from (same inode,
size and modification time); a segment held in memory is always read from memory; a missing,
stale or unreadable entry is made again from its segment, and the damage is never more than that.

The entries are kept in files of ``GROUP`` segments each (``summary.cache``, ``summary.1.cache``
...), so writing back a change rewrites only the file of the segments it touched, however large
the study grows. Files are named ``*.cache``, never ``*.json``, so they are never taken for segments.
"""

from __future__ import annotations

import json
import logging
import os
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .durable import temp_path
from .segment_file import load_segment, read_json

if TYPE_CHECKING:
    from .segments import SegmentedTable, SegmentStorage

CACHE_SCHEMA = 1
SUMMARY_FILE = "summary.cache"  # the summary's first (often only) file
GROUP = 64  # segments per cache file
Derive = Callable[[dict[str, dict[str, Any]]], Any]  # a segment's rows (by row number as text) -> JSON value


def file_key(path: Path) -> Optional[list[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


class SegmentCache:
    """One derived value per segment of a table, kept in ``<table>/<stem>[.<group>].cache``."""

    def __init__(
        self,
        table: SegmentedTable,
        stem: str,
        derive: Derive,
        kind: str,
        keep_current: bool = True,
        accepts: Optional[Callable[[Any], bool]] = None,
        group: Optional[int] = None,
    ):
        self.table = table
        self.group = group or GROUP  # segments per cache file
        self.accepts = accepts  # whether a value read from a file has the shape ``derive`` makes
        self.keep_current = keep_current  # else kept current only once asked for in this process
        self.stem = stem
        self.derive = derive
        self.kind = kind
        self._groups: dict[int, dict[str, Any]] = {}
        self._changed: set[int] = set()
        self._memo: dict[int, tuple[weakref.ref[SegmentStorage], int, Any]] = {}
        self.rebuilt = 0  # segments derived again from their file (tests check the growth shape)
        self.damaged: list[Path] = []  # cache files that could not be read (and were made again)

    def path(self, group: int) -> Path:
        return self.table.folder / (f"{self.stem}.cache" if group == 0 else f"{self.stem}.{group}.cache")

    def _group(self, group: int) -> dict[str, Any]:
        entries = self._groups.get(group)
        if entries is None:
            entries = {}
            path = self.path(group)
            try:
                data = read_json(path.read_bytes())
            except FileNotFoundError:
                pass
            except (OSError, ValueError, RecursionError):
                self._damaged(path)
            else:
                if (
                    isinstance(data, dict)
                    and data.get("citizen-cache") == CACHE_SCHEMA
                    and data.get("kind") == self.kind
                    and isinstance(data.get("segments"), dict)
                ):
                    entries = data["segments"]
                    if self.accepts is not None:  # an entry of the wrong shape is made again (checked once)
                        kept = {k: e for k, e in entries.items() if isinstance(e, dict) and self.accepts(e.get("value"))}
                        if len(kept) < len(entries):
                            self._damaged(path)
                        entries = kept
            self._groups[group] = entries
        return entries

    def _damaged(self, path: Path) -> None:
        self.damaged.append(path)  # only a cache: what it held is derived again
        logging.getLogger("citizen").warning(
            "%s could not be read; it is only an index of the records beside it and is made again "
            "from them (no data is affected)",
            path,
        )

    def _from_memory(self, storage: SegmentStorage) -> Any:
        memo = self._memo.get(storage.segment)
        if memo is not None and memo[0]() is storage and memo[1] == storage.version:
            return memo[2]
        data = storage.read() or {}
        value = self.derive(data.get(self.table.name, {}))
        self._memo[storage.segment] = (weakref.ref(storage), storage.version, value)
        return value

    def _remember(self, number: int, value: Any, key: Optional[list[int]]) -> None:
        group = number // self.group
        entries = self._group(group)
        if key is None:
            if entries.pop(str(number), None) is not None:
                self._changed.add(group)
            return
        entry = {"file": key, "value": value}
        if entries.get(str(number)) != entry:
            entries[str(number)] = entry
            self._changed.add(group)

    def _known(self, number: int) -> tuple[bool, Any]:
        storage = self.table.loaded_storage(number)
        if storage is None or not storage.dirty:  # the file holds what is in memory: its entry serves
            entry = self._group(number // self.group).get(str(number))
            if isinstance(entry, dict) and "value" in entry and entry.get("file") == file_key(self.table.segment_path(number)):
                return True, entry["value"]
        if storage is not None:
            value = self._from_memory(storage)
            if not storage.dirty:
                self._remember(number, value, file_key(self.table.segment_path(number)))
            return True, value
        return False, None

    def known(self, number: int) -> tuple[bool, Any]:
        """(True, the derived value) if it is known without reading the segment's file, else (False, None)."""
        with self.table.lock:
            return self._known(number)

    def segment(self, number: int) -> Any:
        """The derived value of one segment, from memory, the cache, or (once) its file."""
        with self.table.lock:
            found, value = self._known(number)
        if found:
            return value
        # Derived from the file without keeping it loaded (memory stays small) and without
        # holding the lock (writers go on). The key is taken first: if the file is replaced
        # meanwhile, this entry simply never matches.
        path = self.table.segment_path(number)
        key = file_key(path)
        value = self.derive(load_segment(path, self.table.name)[self.table.name])
        with self.table.lock:
            self.rebuilt += 1
            self._remember(number, value, key)
        return value

    def let_go(self) -> None:
        """Forget what is saved or no longer loaded (read again from the cache files when asked):
        memory stays flat while a bulk import writes segment after segment."""
        for number in [n for n, memo in self._memo.items() if memo[0]() is None]:
            del self._memo[number]
        for group in [g for g in self._groups if g not in self._changed]:
            del self._groups[group]

    def each(self) -> Iterator[tuple[int, Any]]:
        """(segment number, derived value) for every segment, oldest first."""
        with self.table.lock:
            numbers = list(self.table.segment_numbers())
        for number in numbers:
            yield number, self.segment(number)

    def walk(self) -> Iterator[tuple[int, Any]]:
        """(segment number, derived value) for every segment, oldest first, holding one cache file's
        entries at a time: each file is saved (if it changed) and let go once its segments are passed."""
        with self.table.lock:
            numbers = list(self.table.segment_numbers())
        current: Optional[int] = None
        for number in numbers:
            group = number // self.group
            if current is not None and group != current:
                self._pass(current)
            current = group
            yield number, self.segment(number)
        if current is not None:
            self._pass(current)

    def _pass(self, group: int) -> None:
        with self.table.lock:
            if group in self._changed:
                self._save_group(group)
            if group not in self._changed:
                self._groups.pop(group, None)

    def written(self, storage: SegmentStorage) -> None:
        """A segment was just written back: its derived value now describes the new file."""
        if self.keep_current or storage.segment // self.group in self._groups:
            self._remember(storage.segment, self._from_memory(storage), file_key(storage.path))

    def save(self) -> None:
        """Write the cache files that changed; a failure costs only deriving again next time."""
        if self.table.readonly:
            return
        for group in sorted(self._changed):
            self._save_group(group)

    def _save_group(self, group: int) -> None:
        if self.table.readonly:
            return
        from pydantic_core import to_json  # lazy: only once something is written (start-up time)

        payload = {"citizen-cache": CACHE_SCHEMA, "kind": self.kind, "segments": self._groups[group]}
        # pydantic's encoder: the JSON of json.dumps, five times faster (a cache file is rewritten whole)
        if replace_cache(self.path(group), to_json(payload, inf_nan_mode="constants")):
            self._changed.discard(group)


def replace_cache(path: Path, data: bytes) -> bool:
    """Put a cache file in place whole (a new file, renamed over the old one), without fsync.

    Nothing acknowledged lives here: after a power cut a cache may be old, empty or missing, and
    then it is simply derived again; so it costs no fsync, and never holds up a durable write.
    """
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return False


class SegmentSummaries(SegmentCache):
    """Counts per segment, so figures never read every record."""

    def __init__(self, table: SegmentedTable, summarise: Callable[..., Any]):
        super().__init__(
            table, "summary", lambda rows: dict(summarise(rows.values())), f"{table.name}/{getattr(summarise, 'version', 1)}"
        )

    def totals(self, save: bool = True) -> dict[str, int]:
        """The counts of the whole table, summed over its segments."""
        out: dict[str, int] = {}
        for _, counts in self.each():
            for key, value in counts.items():
                out[key] = out.get(key, 0) + value
        if save:
            with self.table.lock:
                self.save()
        return out


def rows_by(field: str) -> Derive:
    """A segment's rows by the value of one field: ``[[value, [row, ...]], ...]``."""

    def derive(rows: dict[str, dict[str, Any]]) -> list[list[Any]]:
        out: dict[Any, list[int]] = {}
        for key, doc in rows.items():
            value = doc.get(field)
            if isinstance(value, (list, dict)):
                value = json.dumps(value, sort_keys=True)  # never expected for an indexed field; kept hashable
            out.setdefault(value, []).append(int(key))
        return [[value, sorted(found)] for value, found in out.items()]

    return derive


class SegmentIndex(SegmentCache):
    """Which rows hold which value of one field, per segment: an index that opens without a scan."""

    def __init__(self, table: SegmentedTable, field: str, keep_current: bool = True):
        super().__init__(table, f"index-{field}", rows_by(field), f"{table.name}/{field}/1", keep_current)

    def build(self) -> dict[Any, list[int]]:
        """The whole table's index, from the cache where it is current and the segments where not."""
        index: dict[Any, list[int]] = {}
        for _, pairs in self.walk():  # one cache file's entries held at a time, not the whole table's
            for value, found in pairs:
                rows = index.get(value)
                if rows is None:
                    index[value] = list(found)
                else:
                    rows.extend(found)
        with self.table.lock:
            self.save()
        return index
