"""Who is told what opening a study changed (older data brought up to date): the command line
prints it; the terminal app sets none and shows ``study.notices`` itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

say_notice: Optional[Callable[[str], None]] = None


def tell(notice: str) -> None:
    if say_notice is not None:
        say_notice(notice)
