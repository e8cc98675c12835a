"""Sync: this study with its CouchDB database on a hub, now or every few minutes."""

from __future__ import annotations

import os
from typing import Optional

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Footer, Input, ProgressBar, Static

from ...sync.client import PASSWORD_ENV, HubError, split_url, warnings_for
from ...sync.replicate import SyncReport
from ...sync.run import HubLogin
from ...sync.state import Settings, last_summary
from ..syncing import Listener, background_sync
from ..text import plain
from ..widgets.serving_line import app_header
from ..widgets.tick_box import TickBox
from .base import StudyScreenBase

CONFLICTS_SHOWN = 5


class SyncScreen(StudyScreenBase):
    """The hub, the last sync and its summary, conflicts resolved, sync now, sync every N minutes."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back to the study"), Binding("ctrl+s", "sync_now", "Sync now")]

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self._listener = Listener(self._progress, self._finished)

    def compose(self) -> ComposeResult:
        yield from app_header()
        with VerticalScroll():
            yield Static("Sync with a hub", classes="title")
            yield Static(
                "Send this laptop's changes to the study's CouchDB database and receive everyone "
                "else's. The password stays in memory while the app is open.",
                classes="hint",
            )
            with Horizontal(classes="bundle-row"):
                yield Input(id="hub-url", placeholder="https://hub.example.org/DATABASE")
            with Horizontal(classes="bundle-row"):
                yield Input(id="hub-user", placeholder="user name on the hub")
                yield Input(id="hub-password", placeholder=f"password (or {PASSWORD_ENV})", password=True)
            with Horizontal(classes="bundle-row"):
                yield TickBox("Send contact details too", id="include-contacts")
                yield Input(id="sync-every", placeholder="every N minutes (0: only now)", type="integer")
            yield Static("", id="sync-warning", classes="problem")
            yield Button("Sync now", id="sync-now", variant="primary")
            yield ProgressBar(id="sync-progress", show_eta=False)
            yield Static("", id="sync-status", classes="hint")
            yield Static("Last sync", classes="title")
            yield Static("", id="sync-last")
            yield Static("Conflicts resolved", classes="title")
            yield Static("", id="sync-conflicts")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Sync of {self.study_id}"
        settings = Settings.load(self.app.data.path, self.study_id)
        entry = background_sync(self.app).of(self.study_id)
        login = entry.login
        self.query_one("#hub-url", Input).value = settings.url if login is None else login.url
        self.query_one("#hub-user", Input).value = settings.user if login is None else login.user
        self.query_one("#include-contacts", Checkbox).value = entry.include_contacts or settings.include_contacts
        every = entry.every_minutes or settings.every_minutes
        self.query_one("#sync-every", Input).value = str(every) if every else ""
        self.query_one("#sync-progress", ProgressBar).update(total=1, progress=0)
        entry.listeners.append(self._listener)
        if entry.running:
            self._status("A sync is running...")
        elif entry.last_error:
            self._status(entry.last_error, problem=True)
        self._show_last()
        self.query_one("#hub-url", Input).focus()
        self.follow_changes(self._show_conflicts, tables=("audit",))
        self._show_conflicts()

    def on_unmount(self) -> None:
        entry = background_sync(self.app).of(self.study_id)
        if self._listener in entry.listeners:
            entry.listeners.remove(self._listener)

    # -- showing -------------------------------------------------------------------------------------------
    def _status(self, text: str, problem: bool = False) -> None:
        status = self.query_one("#sync-status", Static)
        status.set_class(problem, "problem")
        status.update(plain(text))

    def _show_last(self) -> None:
        last = last_summary(self.app.data.path, self.study_id)
        if not last:
            self.query_one("#sync-last", Static).update("Never synced from this laptop.")
            return
        report = SyncReport(**{k: v for k, v in last.items() if k in SyncReport.__dataclass_fields__})
        when = report.finished_at[:19].replace("T", " ")
        self.query_one("#sync-last", Static).update(plain(f"{when} UTC\n" + "\n".join(report.lines())))

    def _show_conflicts(self) -> None:
        events = self.study.store.table("audit").where("action", "merge conflict")
        if not events:
            self.query_one("#sync-conflicts", Static).update("None.")
            return
        latest = sorted(events, key=lambda d: d["at"])[-CONFLICTS_SHOWN:]
        lines = [f"{len(events)} in all (syncs and bundles); the latest:"]
        for doc in reversed(latest):
            d = doc.get("details", {})
            lines.append(
                f"  {doc['at'][:16].replace('T', ' ')}  {d.get('table', '')} {str(d.get('record', ''))[:8]}: "
                f"{d.get('field', '')} kept {str(d.get('kept'))[:30]}, lost {str(d.get('lost'))[:30]}"
            )
        self.query_one("#sync-conflicts", Static).update(plain("\n".join(lines)))

    def _progress(self, done: int, total: int, what: str) -> None:
        self.query_one("#sync-progress", ProgressBar).update(total=max(total, done, 1), progress=done)
        self._status(f"{what.capitalize()}: {done} of {total} documents...")

    def _finished(self, report: Optional[SyncReport], error: str) -> None:
        self.query_one("#sync-now", Button).disabled = False
        bar = self.query_one("#sync-progress", ProgressBar)
        bar.update(total=1, progress=1 if report else 0)
        if error:
            self._status(error, problem=True)
        elif report is not None:
            self._status(" ".join(report.lines()[:1]))
        self._show_last()
        self._show_conflicts()

    # -- acting ----------------------------------------------------------------------------------------------
    @on(Input.Changed, "#hub-url")
    def _warn(self) -> None:
        text = self.query_one("#hub-url", Input).value.strip()
        try:
            warning = " ".join(warnings_for(split_url(text)[0])) if text else ""
        except HubError:
            warning = ""
        self.query_one("#sync-warning", Static).update(plain(warning))

    @on(Button.Pressed, "#sync-now")
    def action_sync_now(self) -> None:
        url = self.query_one("#hub-url", Input).value.strip()
        user = self.query_one("#hub-user", Input).value.strip()
        password = self.query_one("#hub-password", Input).value or os.environ.get(PASSWORD_ENV, "")
        every_text = self.query_one("#sync-every", Input).value.strip() or "0"
        if not url:
            self._status(
                "Type the address of the study's database on the hub, e.g. https://hub.example.org/northgate-air.", problem=True
            )
            return
        try:
            split_url(url)
        except HubError as exc:
            self._status(str(exc), problem=True)
            return
        if not every_text.isdigit() or int(every_text) > 24 * 60:
            self._status("Sync every: a whole number of minutes, 0 to 1440 (0: only when asked).", problem=True)
            return
        if user and not password:
            self._status(f"Type the password for {user} (or start citizen with {PASSWORD_ENV} set).", problem=True)
            return
        syncs = background_sync(self.app)
        include = self.query_one("#include-contacts", Checkbox).value
        syncs.configure(self.study_id, HubLogin(url, user, password), include, int(every_text))
        if not syncs.start(self.study_id):
            self._status("A sync of this study is already running.")
            return
        self.query_one("#sync-now", Button).disabled = True
        self._status("Syncing...")
