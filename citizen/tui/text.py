"""Showing stored text in the terminal: as typed (no markup), times in local time."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from rich.text import Text


def plain(value: object) -> Text:
    """Text shown exactly as typed: '[bold]' in a participant's answer stays '[bold]'."""
    return Text(str(value))


def local_time(value: Optional[datetime]) -> str:
    if value is None:
        return "-"
    return value.astimezone().strftime("%Y-%m-%d %H:%M")
