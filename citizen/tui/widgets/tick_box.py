"""Tick boxes that read ticked or not without relying on colour."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets.option_list import OptionDoesNotExist


class TickBox(Checkbox):
    """``▐X▌`` when ticked, ``▐ ▌`` when not (Textual's own draws ``X`` either way, only its colour
    differs, which a monochrome terminal or a colour-blind reader cannot see)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = "X" if self.value else " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "
        super().watch_value()


class TickList(SelectionList[str]):
    """A list of choices ticked like TickBox: ``▐X▌`` chosen, ``▐ ▌`` not (Textual's own list draws
    ``X`` on every line, only its colour differs)."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return line
        segments = list(line)
        # The list draws each line as: left edge, the mark, right edge, a space, the choice's words.
        if option.value in self.selected or len(segments) < 2 or segments[1].text != Checkbox.BUTTON_INNER:
            return line
        segments[1] = Segment(" ", segments[1].style)
        return Strip(segments, line.cell_length)
