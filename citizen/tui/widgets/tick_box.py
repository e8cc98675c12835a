"""A tick box that reads ticked or not without relying on colour."""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox


class TickBox(Checkbox):
    """``▐X▌`` when ticked, ``▐ ▌`` when not (Textual's own draws ``X`` either way, only its colour
    differs, which a monochrome terminal or a colour-blind reader cannot see)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = "X" if self.value else " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "
        super().watch_value()
