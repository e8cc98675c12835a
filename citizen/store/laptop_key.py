"""This laptop's own key, which seals invite links: kept outside every data folder.

A copy of a data folder, a bundle or a hub holds an invite's token only sealed with this key, so
only the laptop that made an invite can show its link again. The key lives in the user's config
folder (``~/.config/citizen/key`` on Linux, honouring ``XDG_CONFIG_HOME``), or where
``CITIZEN_KEY_FILE`` says; it is made on first use, readable by its owner only, written whole or
not at all. A key file that cannot be read, or does not hold a key, is never replaced: the person
is told what is wrong and nothing is changed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Optional

from .durable import StoreError, fsync, fsync_dir, temp_path, write_all

KEY_ENV = "CITIZEN_KEY_FILE"
HEADER = "citizen-laptop-key-1 "
KEY_BYTES = 32


class KeyFileProblem(StoreError):
    """The key file exists but cannot be used; nothing was changed."""

    def __init__(self, path: Path, problem: str):
        self.path = path
        super().__init__(
            f"The key file {path}, which seals this laptop's invite links, {problem}. Nothing was changed. "
            "Mend it (or its permissions), or move it away: a new key is then made, and the invites "
            "sealed with the old one can no longer be shown here (their posters still work)."
        )


def key_path() -> Path:
    """Where this laptop's key is (``CITIZEN_KEY_FILE``, else the user's config folder)."""
    chosen = os.environ.get(KEY_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    from platformdirs import user_config_path  # loaded only when no key file is named (start-up time)

    return user_config_path("citizen") / "key"


def _read(path: Path) -> Optional[bytes]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise KeyFileProblem(path, "is a folder, not a file") from None
    except OSError as exc:
        raise KeyFileProblem(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        line = text.decode("ascii").strip()
        if not line.startswith(HEADER):
            raise ValueError
        key = bytes.fromhex(line[len(HEADER) :])
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileProblem(path, "does not hold a key citizen wrote (it was changed or damaged)")
    return key


def laptop_key(create: bool = False) -> Optional[bytes]:
    """This laptop's key; None when there is none yet (made now when ``create``)."""
    path = key_path()
    key = _read(path)
    if key is not None or not create:
        return key
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = temp_path(path)
        temp.unlink(missing_ok=True)  # left by a run that stopped half-way
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            write_all(fd, (HEADER + key.hex() + "\n").encode("ascii"))
            fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)  # never over a key another process made meanwhile
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
        fsync_dir(path.parent)
    except OSError as exc:
        raise KeyFileProblem(path, f"cannot be made ({exc.strerror or exc})") from None
    return _read(path)
