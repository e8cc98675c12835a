"""The paged table draws each cell once per look and reuses that drawing for alike cells: every line it
shows must be, segment for segment (text, colours, the row and column a click lands on), what
Textual's own table draws for the same rows, with the cursor anywhere, zebra stripes, and any text."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from citizen.tui.widgets.paged_table import PagedTable

from .support.tui import SIZE

CELLS = [
    "received",
    "accepted",
    "needs attention",
    "",
    "phone",
    "a long answer that does not fit in its column and is cut at the column's edge",
    "École, Straße, Łódź",
    "中文字符宽度",
    "emoji 🌳🚲 in a walk",
    "[b]not markup[/b]",
    "tab\there",
    "   spaces around   ",
]


def rows() -> list[list[Text]]:
    out = []
    for n in range(60):
        picked = [CELLS[(n * k + k) % len(CELLS)] for k in range(1, 6)]
        styled = Text(picked[0], style="bold" if n % 3 else "")
        spanned = Text(picked[1])
        if n % 4 == 0 and len(spanned) > 2:
            spanned.stylize("italic red", 0, 2)
        out.append([Text("*" if n % 5 == 0 else " "), styled, spanned, Text(picked[2]), Text(str(n % 3)), Text(picked[3])])
    return out


class One(App[None]):
    def __init__(self, kind: type[DataTable]):
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        yield self.kind(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in ((" ", 1), ("State", 8), ("Answer", 12), ("Where", 15), ("v", 2), ("More", 20)):
            table.add_column(label, width=width)
        for n, cells in enumerate(rows()):
            table.add_row(*cells, key=str(n))


async def drawn(kind: type[DataTable]) -> list[list[list]]:
    """Every line of the table as drawn, with the cursor at several rows, with and without the focus."""
    app = One(kind)
    out = []
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(DataTable)
        await pilot.pause()
        assert table.size.height > 5
        for focused in (True, False):
            app.set_focus(table if focused else None)
            for cursor in (0, 3, 7, 59):
                table.move_cursor(row=cursor)
                await pilot.pause()
                out.append([list(table.render_line(y)) for y in range(table.size.height)])
        assert kind is DataTable or len(table._looks) < len(table._cell_render_cache)  # alike cells drawn once
    return out


async def test_every_line_is_what_textuals_table_draws():
    ours, textuals = await drawn(PagedTable), await drawn(DataTable)
    assert len(ours) == len(textuals) == 8
    for mine, theirs in zip(ours, textuals, strict=True):
        assert mine == theirs
