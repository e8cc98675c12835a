"""A study's write-ahead journal: one fsynced line per change, replayed on open.

A change (one use case: an enrolment with its consent event and audit event, say) is one line,
``<crc32 hex> <json>\\n``. It is acknowledged once the line is fsynced, so a change across several
tables is all there or not there at all. A torn last line (a crash mid-append) was never
acknowledged and is dropped; a bad line followed by good ones is damage and is reported.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import durable
from .durable import StoreDamaged, StoreWriteError, plain_os_error

SCHEMA = 1
RESTORE_HINT = (
    "`citizen check --restore` keeps the changes it can read, sets the damaged file aside, "
    "and the study opens from its last saved state."
)
HEADER = {"citizen-journal": SCHEMA}

Op = tuple[str, int, dict[str, Any]]  # (table, row, document)


def encode(ops: list[Op]) -> bytes:
    body = json.dumps(ops, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _header_line() -> bytes:
    return json.dumps(HEADER).encode() + b"\n"


def read_journal(path: Path) -> tuple[list[list[Op]], int]:
    """The changes in the journal, oldest first, and the byte length of its good part."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        raise StoreDamaged(path, f"it cannot be read ({exc.strerror})", hint=RESTORE_HINT) from None
    if not raw.strip():
        # The journal is created whole (atomically), so an empty one is damage, not a crash.
        raise StoreDamaged(path, "the file is empty", hint=RESTORE_HINT)
    lines = raw.split(b"\n")
    try:
        header = json.loads(lines[0])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise StoreDamaged(path, "its first line is not a journal header", hint=RESTORE_HINT) from None
    if not isinstance(header, dict) or "citizen-journal" not in header:
        raise StoreDamaged(path, "its first line is not a journal header", hint=RESTORE_HINT)
    version = header["citizen-journal"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreDamaged(path, f"its schema version ({str(version)[:20]}) is not one citizen writes", hint=RESTORE_HINT)
    if version > SCHEMA:
        raise StoreDamaged(path, f"it was written by a newer citizen (schema {version}); update citizen")
    changes: list[list[Op]] = []
    good = len(lines[0]) + 1
    body_lines = lines[1:]
    # The last element is what follows the final newline: empty when the file ends cleanly.
    for i, line in enumerate(body_lines):
        last = i == len(body_lines) - 1
        if last and not line:
            break
        ops = _decode(line)
        if ops is None:
            if last or all(not rest for rest in body_lines[i + 1 :]):
                break  # torn tail: never acknowledged
            raise StoreDamaged(path, f"change {i + 1} is corrupt and later changes follow it", hint=RESTORE_HINT)
        if last:
            break  # a complete-looking line without its newline was not acknowledged either
        changes.append(ops)
        good += len(line) + 1
    return changes, good


def readable_prefix(path: Path) -> bytes:
    """A journal holding the changes of a damaged one up to its first unreadable line."""
    lines = path.read_bytes().split(b"\n")[1:]
    good = [_header_line()]
    for line in lines:
        if _decode(line) is None:
            break
        good.append(line + b"\n")
    return b"".join(good)


def _decode(line: bytes) -> list[Op] | None:
    if len(line) < 10 or line[8:9] != b" ":
        return None
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    body = line[9:]
    if zlib.crc32(body) != crc:
        return None
    try:
        ops = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(ops, list) or not all(
        isinstance(op, list) and len(op) == 3 and isinstance(op[0], str) and isinstance(op[1], int) and isinstance(op[2], dict)
        for op in ops
    ):
        return None
    return [(t, r, d) for t, r, d in ops]


class Journal:
    """The open journal of one study, appended to by the one writer."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self.size = 0
        self.entries = 0
        self.broken: str | None = None

    def replay(self) -> Iterator[list[Op]]:
        changes, good = read_journal(self.path)
        self.entries = len(changes)
        self.size = good
        yield from changes

    def open_for_append(self, good: int | None = None) -> None:
        """Open for appending; a torn tail beyond the good part is cut off first."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.reset()
            return
        fd = os.open(self.path, os.O_RDWR)
        size = os.fstat(fd).st_size
        if self.size and size > self.size:
            os.ftruncate(fd, self.size)
            durable.fsync(fd)
        os.lseek(fd, 0, os.SEEK_END)
        self._fd = fd
        self.size = os.fstat(fd).st_size

    def reset(self) -> None:
        """Start an empty journal (after its changes are safely in the segments)."""
        try:
            durable.atomic_write(self.path, _header_line())
        except StoreWriteError as exc:
            # The old journal, still whole and open, keeps every change; if the new one took its
            # place after all (a failed folder fsync), what is on disk is unknown: stop writing.
            if self._fd is None or not self._is_open_file():
                self.broken = f"{exc} Close and reopen the study before saving more."
            raise
        self.close()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        self.size = len(_header_line())
        self.entries = 0

    def _is_open_file(self) -> bool:
        assert self._fd is not None
        try:
            return os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except OSError:
            return False

    def append(self, ops: list[Op], sync: bool = True) -> None:
        """Append one change; returns only once it is on disk (unless ``sync`` is False)."""
        if self.broken:
            raise StoreWriteError(self.broken)
        if self._fd is None:
            raise StoreWriteError(f"{self.path} is not open for writing. Close and reopen the study.")
        line = encode(ops)
        try:
            durable.write_all(self._fd, line)
            if sync:
                durable.fsync(self._fd)
        except OSError as exc:
            message = plain_os_error(exc, self.path)
            self._undo_tail(message)
            raise StoreWriteError(message) from exc
        self.size += len(line)
        self.entries += 1

    def sync(self) -> None:
        if self._fd is None:
            return
        try:
            durable.fsync(self._fd)
        except OSError as exc:
            message = plain_os_error(exc, self.path)
            self.broken = message + " Close and reopen the study before saving more."
            raise StoreWriteError(message) from exc

    def _undo_tail(self, message: str) -> None:
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self.size)
            durable.fsync(self._fd)
        except OSError:
            # What is on disk is now unknown: refuse further writes until the study is reopened.
            self.broken = message + " Close and reopen the study before saving more."

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
