"""Durable file writes: nothing is acknowledged before it is on disk.

Every step of a write goes through a small function of this module (``write_all``, ``fsync``,
``replace``, ``fsync_dir``) so that tests can inject a failure at each step.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


class StoreError(Exception):
    """A problem with stored data, in words a person can act on."""


class StoreWriteError(StoreError):
    """A write that did not reach the disk: nothing was acknowledged."""


class StoreDamaged(StoreError):
    """A stored file that cannot be read as it should."""

    def __init__(self, path: Path, reason: str, backup: Path | None = None, hint: str = ""):
        self.path = path
        self.reason = reason
        self.backup = backup if backup is not None and backup.exists() else None
        if self.backup:
            hint = f" A last good copy is kept at {self.backup}; `citizen check --restore` puts it back."
        elif hint:
            hint = " " + hint
        super().__init__(f"{path} is damaged: {reason}.{hint}")


class StoreLocked(StoreError):
    """Another copy of the app is writing this data folder."""


def plain_os_error(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"The disk is full; nothing was saved to {path}. Free some space and try again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot write to {path}: permission denied or read-only disk. Nothing was saved."
    return f"Could not save to {path} ({exc.strerror or exc}). Nothing was saved."


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def fsync(fd: int) -> None:
    os.fsync(fd)


def replace(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


TMP_SUFFIX = ".tmp"


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def atomic_write(path: Path, data: bytes, backup: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so that it holds the old or the new bytes, never a mix.

    Temp file in the same folder, write, fsync, (keep the old file as ``backup``), rename,
    fsync the folder. Raises StoreWriteError with a plain message when any step fails.
    """
    tmp = temp_path(path)
    bak_tmp = temp_path(backup) if backup is not None else None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            write_all(fd, data)
            fsync(fd)
        finally:
            os.close(fd)
        if backup is not None and bak_tmp is not None:
            if bak_tmp.exists():
                bak_tmp.unlink()
            if path.exists() and backup.exists() and os.path.samefile(path, backup):
                # A write cut off between its two renames left the backup and the file as one inode:
                # it is already the last good copy. (Renaming a link onto the same inode does nothing
                # and would leave the temporary link behind.)
                pass
            elif path.exists():
                # The old file becomes the last good copy (its own inode, untouched from now on).
                os.link(path, bak_tmp)
                replace(bak_tmp, backup)
            else:
                # A new file: its first last good copy is a copy of itself.
                fd = os.open(bak_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    write_all(fd, data)
                    fsync(fd)
                finally:
                    os.close(fd)
                replace(bak_tmp, backup)
        replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        for leftover in (tmp, bak_tmp):
            try:
                if leftover is not None:
                    leftover.unlink()
            except OSError:
                pass
        raise StoreWriteError(plain_os_error(exc, path)) from exc


def remove_stale_temps(folder: Path) -> int:
    """Delete temporary files left by a write that never finished (a crash, a full disk)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for tmp in folder.glob(f".*{TMP_SUFFIX}"):
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed
