"""Participants: who takes part, their consent, and the desk (enrol, paper forms, withdrawal)."""

from __future__ import annotations

from typing import Optional

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select, Static

from ...domain.models import Contribution, Participant
from ...domain.plural import count
from ...services import NotFound
from ...services.browse import (
    PARTICIPANT_STATUSES,
    ParticipantDetail,
    ParticipantRow,
    filter_participants,
    participant_detail,
    participant_rows,
)
from ...web.address import default_url_base
from ..dialogs.consent import EnrolDialog, WithdrawDialog
from ..dialogs.contribution import ContributionDialog
from ..dialogs.link import RelinkDialog
from ..text import local_time, plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyScreenBase


def consent_label(row: ParticipantRow) -> str:
    version = f"v{row.consent_version} " if row.consent_version else ""
    return version + row.consent


class ParticipantsScreen(StudyScreenBase):
    """The table of participants, searchable by code and filtered by status."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("slash", "search", "Search"),
        Binding("e", "enrol", "Enrol"),
        Binding("enter", "open", "Details", show=False),
        Binding("d", "paper_form", "Paper"),
        Binding("w", "withdraw", "Withdraw"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.rows: list[ParticipantRow] = []
        self.shown: list[ParticipantRow] = []

    def compose(self) -> ComposeResult:
        yield from app_header()
        yield Static("Participants", classes="title")
        with Horizontal(classes="filter-bar"):
            yield Input(id="participant-search", placeholder="search by code", compact=True)
            yield Select([(s, s) for s in PARTICIPANT_STATUSES], id="participant-status", prompt="any status", compact=True)
        yield RowTable(id="participants-table", zebra_stripes=True)
        yield Static("Loading...", id="participants-count", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Participants"
        table = self.query_one(DataTable)
        table.add_columns("Code", "Enrolled", "Route", "Consent", "Contrib.", "Status")
        table.focus()
        self.follow_changes(self.action_refresh, tables=("participants", "consent_events", "contributions"))
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="participants")
    def load(self) -> None:
        rows = participant_rows(self.study)
        self.app.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[ParticipantRow]) -> None:
        self.rows = rows
        self.apply_filter()

    @on(Input.Changed, "#participant-search")
    @on(Select.Changed, "#participant-status")
    def apply_filter(self) -> None:
        text = self.query_one("#participant-search", Input).value
        status = self.query_one("#participant-status", Select).value
        self.shown = filter_participants(self.rows, text, None if status is Select.NULL else str(status))
        table = self.query_one(DataTable)
        keep = self.current()
        table.clear()
        for r in self.shown:
            table.add_row(
                plain(r.code), local_time(r.enrolled_at)[:10], r.route, consent_label(r), str(r.contributions), r.status, key=r.id
            )
        if keep is not None:
            for i, r in enumerate(self.shown):
                if r.id == keep.id:
                    table.move_cursor(row=i)
        self.query_one("#participants-count", Static).update(
            f"{len(self.shown):,} of {count(len(self.rows), 'participant')}. Enter: details and consent history."
        )

    @on(Input.Submitted, "#participant-search")
    def _to_table(self) -> None:
        self.query_one(DataTable).focus()

    def current(self) -> Optional[ParticipantRow]:
        table = self.query_one(DataTable)
        if not self.shown or table.row_count == 0:
            return None
        index = table.cursor_row
        return self.shown[index] if 0 <= index < len(self.shown) else None

    def action_search(self) -> None:
        self.query_one("#participant-search", Input).focus()

    def action_enrol(self) -> None:
        def done(participant: Optional[Participant]) -> None:
            if participant is not None:
                self.notify(f"Enrolled {participant.code}. Give them this code for their paper forms.", title="Enrolled")
                self.load()

        self.app.push_screen(EnrolDialog(self.study), done)

    def action_open(self) -> None:
        row = self.current()
        if row is not None:
            self.app.push_screen(ParticipantDetailScreen(self.study_id, row.id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_paper_form(self) -> None:
        row = self.current()
        open_paper_form(self, self.study, row.code if row else "")

    def action_withdraw(self) -> None:
        row = self.current()
        if row is None:
            return
        participant = self.study.repo.participant(row.id)
        if participant is not None:
            open_withdrawal(self, self.study, participant)


def open_paper_form(screen: Screen, study, code: str) -> None:
    def done(contribution: Optional[Contribution]) -> None:
        if contribution is not None:
            screen.notify("The paper form is saved; it waits for review.", title="Saved")

    screen.app.push_screen(ContributionDialog(study, code), done)


def open_withdrawal(screen: Screen, study, participant: Participant) -> None:
    def done(result: Optional[str]) -> None:
        if result is not None:
            what = "what they gave is removed" if result == "removed" else "what they gave is kept"
            screen.notify(f"{participant.code} has withdrawn; {what}.", title="Withdrawal recorded")

    screen.app.push_screen(WithdrawDialog(study, participant), done)


class ParticipantDetailScreen(StudyScreenBase):
    """One participant: consent state, contact (if given) and every consent event."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("d", "paper_form", "Paper"),
        Binding("w", "withdraw", "Withdraw"),
        Binding("l", "relink", "New link"),
    ]

    def __init__(self, study_id: str, participant_id: str):
        super().__init__(study_id)
        self.participant_id = participant_id
        self.detail: Optional[ParticipantDetail] = None

    def compose(self) -> ComposeResult:
        yield from app_header()
        with VerticalScroll():
            yield Static("", id="participant-title", classes="title")
            yield Static("", id="participant-facts")
            yield Static("Consent history", classes="hint")
            yield RowTable(id="consent-history", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Time", "Kind", "v", "Method", "Witness", "Granted", "Declined")
        self.follow_changes(self.show)
        self.show()

    def show(self) -> None:
        try:
            d = self.detail = participant_detail(self.study, self.participant_id)
        except NotFound as exc:
            self.query_one("#participant-title", Static).update(plain(str(exc)))
            return
        p = d.participant
        self.sub_title = f"Participant {p.code}"
        self.query_one("#participant-title", Static).update(plain(f"Participant {p.code}"))
        facts = [
            f"Enrolled: {local_time(p.enrolled_at)} ({p.route.value})    Status: {d.status}",
            f"Consent: {('version ' + str(d.state.document_version) + ', ') if d.state.document_version else ''}"
            f"{d.consent}    Contributions: {d.contributions}",
            "Granted: " + (", ".join(sorted(d.state.granted)) or "-"),
        ]
        if d.contact is not None:
            c = d.contact
            facts.append("Contact: " + ", ".join(x for x in (c.name, c.phone, c.email) if x))
        self.query_one("#participant-facts", Static).update(plain("\n".join(facts)))
        table = self.query_one(DataTable)
        table.clear()
        for e in d.events:
            kind = e.kind.value + (" (remove data)" if e.remove_data else "")
            table.add_row(
                local_time(e.at),
                kind,
                str(e.document_version),
                e.method.value,
                plain(e.witness or "-"),
                plain(", ".join(e.granted) or "-"),
                plain(", ".join(e.declined) or "-"),
            )

    def action_paper_form(self) -> None:
        if self.detail is not None:
            open_paper_form(self, self.study, self.detail.participant.code)

    def action_withdraw(self) -> None:
        if self.detail is not None:
            open_withdrawal(self, self.study, self.detail.participant)

    def action_relink(self) -> None:
        """A new private link (and its QR code) for this participant; the old one stops at once."""
        if self.detail is None:
            return
        code = self.detail.participant.code

        def done(link: Optional[str]) -> None:
            if link:
                self.notify(f"{code} has a new private link; the old one no longer works.", title="New link")

        self.app.push_screen(RelinkDialog(self.study, self.detail.participant, default_url_base()), done)
