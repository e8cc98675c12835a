"""A table of rows where Home and End move the highlight to the first and the last row."""

from __future__ import annotations

from textual.widgets import DataTable


class RowTable(DataTable):
    """Textual's table scrolls sideways on Home and End and leaves the highlight where it was; in a
    table of rows a person expects them to reach the first and the last row."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        super().__init__(**kwargs)

    def action_scroll_home(self) -> None:
        if self.cursor_type != "row":
            return super().action_scroll_home()
        if self.row_count:
            self.move_cursor(row=0)

    def action_scroll_end(self) -> None:
        if self.cursor_type != "row":
            return super().action_scroll_end()
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)
