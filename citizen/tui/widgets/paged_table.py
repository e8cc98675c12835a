"""A table that shows one page of a long list and moves between pages as if it held every row."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import DataTable


class PagedTable(DataTable):
    """A DataTable showing one page of a longer list.

    Up, Down, Page Up and Page Down past either end of the page bring the neighbouring page;
    Home and End go to the first and the last row of the whole list.
    """

    class Edge(Message):
        def __init__(self, step: int):
            super().__init__()
            self.step = step

    class Jump(Message):
        def __init__(self, last: bool):
            super().__init__()
            self.last = last

    def _update_dimensions(self, new_rows) -> None:  # type: ignore[override]
        # Every column has a fixed width, so measuring each new cell (DataTable's costliest step
        # when a page is shown) would change nothing: skip it.
        if all(not column.auto_width for column in self.columns.values()):
            new_rows = []
        super()._update_dimensions(new_rows)

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.Edge(1))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self.post_message(self.Edge(-1))
            return
        super().action_cursor_up()

    def action_page_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.Edge(1))
            return
        super().action_page_down()

    def action_page_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self.post_message(self.Edge(-1))
            return
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.post_message(self.Jump(last=False))

    def action_scroll_end(self) -> None:
        self.post_message(self.Jump(last=True))

    action_scroll_top = action_scroll_home
    action_scroll_bottom = action_scroll_end
