"""The baselines of ``bench_tmux``: a bare Textual app, run in tmux as the citizen app is.

    python bench/bare_app.py start    # Header, a line, Footer: what any Textual app costs to start
    python bench/bare_app.py push     # the same; p pushes a screen holding a table of 100 rows

Each draws a line the benchmark waits for ("bare app ready", "bare row 100").
"""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static


class Rows(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Submitted", "Who", "Review", "Answer")
        for n in range(100, 0, -1):
            table.add_row("2026-05-01 08:15", f"P{n:04}", "received", f"bare row {n}")


class Bare(App[None]):
    BINDINGS = [Binding("p", "rows", "Rows"), Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("bare app ready")
        yield Footer()

    def action_rows(self) -> None:
        self.push_screen(Rows())


if __name__ == "__main__":
    if sys.argv[1:] not in (["start"], ["push"]):
        raise SystemExit(__doc__)
    Bare().run()
