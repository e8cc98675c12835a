"""A tick box that reads ticked or not without relying on colour."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class TickBox(Checkbox):
    """``▐X▌`` when ticked, ``▐ ▌`` when not (Textual's own draws ``X`` either way, only its colour
    differs, which a monochrome terminal or a colour-blind reader cannot see)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button
