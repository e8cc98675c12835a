"""`?` on any screen: every key of the screen in view, with what it does, so nothing depends on the
footer's width (at 100 columns the footer cannot show them all)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from .widgets.row_table import RowTable


def screen_keys(screen: Screen) -> list[tuple[str, str, bool]]:
    """(key as shown, what it does, whether it is app-wide) for each binding active on ``screen``, the
    screen's own first; one row per action, however many keys reach it."""
    app = screen.app
    rows: list[tuple[str, str, bool]] = []
    seen: set[tuple[str, str]] = set()
    for key, (node, binding, _enabled, _tooltip) in screen.active_bindings.items():
        if not binding.description or (binding.action, binding.description) in seen:
            continue
        seen.add((binding.action, binding.description))
        rows.append((app.get_key_display(binding) or key, binding.description, node is app))
    return sorted(rows, key=lambda row: row[2])


class KeysScreen(ModalScreen[None]):
    """The keys of the screen underneath; Escape (or `?` again) closes it."""

    BINDINGS = [
        Binding("escape", "dismiss_keys", "Close"),
        Binding("question_mark", "dismiss_keys", "Close", show=False),
    ]

    def __init__(self, under: Screen):
        super().__init__()
        self.under = under
        self.rows = screen_keys(under)

    def compose(self) -> ComposeResult:
        title = getattr(under_title := self.under, "sub_title", "") or type(under_title).__name__
        with Vertical(classes="dialog", id="keys"):
            yield Static(f"Keys of this screen: {title}", classes="dialog-title")
            yield RowTable(id="keys-table", zebra_stripes=True)
            yield Static("Keys marked 'everywhere' work on every screen. Escape closes.", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#keys-table", DataTable)
        table.add_columns("Key", "What it does", "")
        for key, description, everywhere in self.rows:
            table.add_row(key, description, "everywhere" if everywhere else "")
        table.focus()

    def action_dismiss_keys(self) -> None:
        self.dismiss(None)
