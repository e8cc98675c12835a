"""A table that shows one page of a long list and moves between pages as if it held every row."""

from __future__ import annotations

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.message import Message
from textual.renderables.styled import Styled
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._looks: LRUCache[tuple, list[list[Segment]]] = LRUCache(2000)  # a cell's drawing by its look

    def _update_dimensions(self, new_rows) -> None:  # type: ignore[override]
        # Every column has a fixed width, so measuring each new cell (DataTable's costliest step
        # when a page is shown) would change nothing: skip it.
        if all(not column.auto_width for column in self.columns.values()):
            new_rows = []
        super()._update_dimensions(new_rows)

    def _render_cell(self, row_index, column_index, base_style, width, cursor=False, hover=False):  # type: ignore[override]
        # Textual renders each cell of each line shown through Rich (its costliest step when a page
        # is drawn), though most cells of a page are alike (a state, a source, a version, a blank).
        # A one-line text cell is drawn once per look here, and each alike cell takes that drawing
        # with its own place (row, column) added: the very segments Textual makes, at a fraction.
        if row_index < max(0, self.fixed_rows) or column_index < max(0, self.fixed_columns):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        state = (self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        key = (row_key, column_key, base_style, cursor, hover, *state)
        lines = self._cell_render_cache.get(key)
        if lines is not None:
            return lines
        row = self.rows.get(row_key)
        cells = self._get_row_renderables(row_index).cells
        cell = cells[column_index] if column_index < len(cells) else None
        if row is None or row.height != 1 or not isinstance(cell, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        look = (
            cell.plain,
            tuple(cell.spans),
            cell.style,
            cell.justify,
            cell.overflow,
            cell.no_wrap,
            cell.end,
            cell.tab_size,
            width,
            self.cell_padding,
            base_style,
            component_style,
            post_style,
        )
        drawn = self._looks.get(look)
        if drawn is None:
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            pre_style = base_style + component_style
            drawn = self.app.console.render_lines(Styled(Padding(cell, (0, self.cell_padding)), pre_style, post_style), options)
            self._looks[look] = drawn
        place = Style.from_meta({"row": row_index, "column": column_index})
        lines = [list(Segment.apply_style(line, place)) for line in drawn]
        self._cell_render_cache[key] = lines
        return lines

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
