"""Who serves the phone pages from this data folder, so a second program refused its lock can say where.

    DATA/serving.json   {"by": "the terminal app", "study": ..., "url": ..., "since": ...}

Written by the program holding the folder's lock when it starts serving, removed when it stops; a
note found by the next holder of the lock is stale (its writer has let go) and is removed.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from .durable import StoreError, atomic_write

NOTE = "serving.json"
WHY_ONE_WRITER = (
    "Only one program may write a data folder at a time: each keeps the newest part of every table in "
    "memory and writes it back whole, so two would undo each other's enrolments and contributions."
)


def note_serving(folder: Path, by: str, study: str, url: str) -> None:
    """Say who serves which study where (best effort: serving goes on without the note)."""
    note = {"by": by, "study": study, "url": url, "since": datetime.now().astimezone().isoformat()}
    with contextlib.suppress(StoreError, OSError):
        atomic_write(folder / NOTE, json.dumps(note).encode())


def clear_serving_note(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / NOTE).unlink(missing_ok=True)


def serving_note(folder: Path) -> Optional[dict[str, Any]]:
    try:
        note = json.loads((folder / NOTE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) and note.get("url") else None


def locked_message(folder: Path, to_serve: bool = False) -> str:
    """Why the data folder is refused, naming the program that serves phones from it, if one does;
    ``to_serve``: asked by `citizen serve`, so say where serving goes on and why two cannot write."""
    note = serving_note(folder)
    if note is None:
        if not to_serve:
            return (
                f"Another copy of citizen is already using {folder}. Close it first, "
                "or use that window (only one copy may write a data folder at a time)."
            )
        return (
            f"Another copy of citizen is already using {folder}: if it is the terminal app, serve from there "
            "(open the study, press j for Enrolment, then s), or quit it first. " + WHY_ONE_WRITER
        )
    try:
        since = datetime.fromisoformat(str(note.get("since"))).astimezone().strftime(" since %H:%M")
    except ValueError:
        since = ""
    where = "the line under its title counts the arrivals" if note.get("by") == "the terminal app" else "it lists them"
    message = (
        f"{str(note.get('by', 'citizen')).capitalize()} is already serving '{note.get('study', '?')}' to phones "
        f"from {folder} at {note['url']}{since}: phones can join there now ({where}). "
        "Use that window, or stop serving and close it first."
    )
    return f"{message} {WHY_ONE_WRITER}" if to_serve else message
