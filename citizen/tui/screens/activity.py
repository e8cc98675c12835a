"""The study's activity log: who did what, newest first, filtered by person and kind of step."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Select, Static

from ...services.queries import activity
from ..text import local_time, plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage


class ActivityScreen(StudyPage):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("slash", "focus_filter", "Filter by person", key_display="/"),
        Binding("f", "focus_action", "Filter by step"),
        Binding("c", "clear", "Clear filters"),
    ]

    def compose(self) -> ComposeResult:
        yield from app_header()
        with Horizontal(id="activity-filters"):
            yield Input(placeholder="who (part of a name)", id="activity-actor")
            yield Select([], prompt="every kind of step", id="activity-action")
        yield Static("", id="activity-count", classes="hint")
        yield RowTable(id="activity-table", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#activity-table", DataTable).add_columns("When", "Who", "What", "About", "Details")
        super().on_mount()
        self.query_one("#activity-table", DataTable).focus()

    def refresh_view(self) -> None:
        self.sub_title = f"{self.study.repo.study().title}: activity"
        select = self.query_one("#activity-action", Select)
        actions = sorted({e.action for e in self.study.repo.audit()})
        current = select.value
        select.set_options([(a, a) for a in actions])
        if current in actions:
            select.value = current
        self.fill()

    def fill(self) -> None:
        who = self.query_one("#activity-actor", Input).value.strip()
        chosen = self.query_one("#activity-action", Select).value
        action = chosen if isinstance(chosen, str) else ""
        events = activity(self.study, actor=who, action=action)
        table = self.query_one("#activity-table", DataTable)
        table.clear()
        for e in events[:2000]:
            details = ", ".join(
                f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                for k, v in e.details.items()
                if v not in (None, "", [], {})
            )
            table.add_row(local_time(e.at), plain(e.actor), e.action, plain(e.target), plain(details[:120]))
        shown = "" if len(events) <= 2000 else " (the newest 2000 shown)"
        self.query_one("#activity-count", Static).update(f"{len(events)} steps, newest first{shown}.")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.fill()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.fill()

    def action_focus_filter(self) -> None:
        self.query_one("#activity-actor", Input).focus()

    def action_focus_action(self) -> None:
        self.query_one("#activity-action", Select).focus()

    def action_clear(self) -> None:
        self.query_one("#activity-actor", Input).value = ""
        self.query_one("#activity-action", Select).clear()
        self.fill()
