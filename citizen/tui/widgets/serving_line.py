"""The header every screen shows: the app's title, and while phones are served a line under it saying
where, how many invites are open and how many arrivals came today (serving is the app's, not a screen's)."""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Header

from ..text import plain


class ServingLine(Widget):
    """Hidden while nothing is served; follows the app's ``serving_line`` (without the study's id
    where the line is too narrow for it: one row at 80 columns)."""

    DEFAULT_CSS = """
    ServingLine {
        height: auto;
        padding: 0 1;
        background: $success-darken-3;
        color: $text;
        text-style: bold;
        display: none;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "serving_line", self._show)

    def _show(self, text: str) -> None:
        self.display = bool(text)
        self.refresh(layout=True)

    def on_resize(self) -> None:
        self.refresh()  # the width decides whether the study's id fits

    def render(self) -> Text:
        serving = getattr(self.app, "serving", None)
        text = serving.line() if serving is not None else ""
        if serving is not None and len(text) > self.size.width - 2:
            text = serving.line(named=False)
        return plain(text)


def app_header() -> Iterator[Widget]:
    """What each screen yields first: the header, and the serving line under it."""
    yield Header()
    yield ServingLine(id="serving-line")
