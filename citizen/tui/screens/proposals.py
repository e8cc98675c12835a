"""Co-design proposals: proposed with a rationale, discussed, decided with a reason, made a draft."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from ...domain.models import Proposal
from ...services import add_proposal_note, decide_proposal
from ...services.design import draft_from_proposal
from ...services.proposals import propose
from ..dialogs.form import Entry, FormDialog
from ..text import local_time, plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage
from .design import DesignScreen


class ProposalsScreen(StudyPage):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("p", "propose", "Propose"),
        Binding("n", "note", "Add note"),
        Binding("a", "decide(True)", "Accept"),
        Binding("x", "decide(False)", "Decline"),
        Binding("d", "draft", "Make draft"),
    ]

    def compose(self) -> ComposeResult:
        yield from app_header()
        yield RowTable(id="proposals-table", zebra_stripes=True)
        with VerticalScroll(id="proposal-detail-box"):
            yield Static("", id="proposal-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#proposals-table", DataTable).add_columns("Proposal", "By", "Status", "Decided by", "Version")
        self.query_one("#proposal-detail-box").border_title = "The proposal"
        super().on_mount()

    def refresh_view(self) -> None:
        self.sub_title = f"{self.study.repo.study().title}: proposals"
        self.proposals = sorted(self.study.repo.proposals(), key=lambda p: p.created_at, reverse=True)
        table = self.query_one("#proposals-table", DataTable)
        row = table.cursor_coordinate.row
        table.clear()
        for p in self.proposals:
            table.add_row(
                plain(p.title),
                plain(p.proposed_by),
                p.status.value,
                plain(p.decided_by or "-"),
                str(p.protocol_version or "-"),
                key=p.id,
            )
        if self.proposals:
            table.move_cursor(row=min(row, len(self.proposals) - 1))
            self.show(self.selected())
        else:
            self.query_one("#proposal-detail", Static).update("No proposals yet. Press p to propose a change.")

    def selected(self) -> Proposal | None:
        row = self.cursor_row(self.query_one("#proposals-table", DataTable))
        return None if row is None else self.proposals[row]

    def show(self, p: Proposal | None) -> None:
        if p is None:
            return
        out = Text()
        out.append(p.title, style="bold")
        who = p.proposed_by + (" (a participant)" if p.participant_id else "")
        out.append(f"\nProposed by {who}, {local_time(p.created_at)}\n\n")
        out.append(p.rationale + "\n")
        for note in p.notes:
            out.append(f"\n{note.by}, {local_time(note.at)}: ", style="dim")
            out.append(note.text)
        out.append("\n\n")
        if p.status.value == "open":
            out.append("Open: not decided yet.")
        else:
            out.append(f"{p.status.value.capitalize()} by {p.decided_by}, {local_time(p.decided_at)}: ", style="bold")
            out.append(p.decision_reason)
            if p.protocol_version:
                out.append(f"\nIn force as protocol version {p.protocol_version}.")
        self.query_one("#proposal-detail", Static).update(out)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if getattr(self, "proposals", None) and event.cursor_row < len(self.proposals):
            self.show(self.proposals[event.cursor_row])

    def action_propose(self) -> None:
        def open_dialog(actor: str) -> None:
            def save(values: dict[str, Any]):
                return propose(
                    self.study, values["title"], values["rationale"], values["proposed_by"], values["participant_code"]
                )

            self.app.push_screen(
                FormDialog(
                    "Propose a change",
                    [
                        Entry("title", "The change, in a few words"),
                        Entry("rationale", "Why (the rationale)", kind="text"),
                        Entry("proposed_by", "Proposed by (a team member, or the participant it came from)", value=actor),
                        Entry(
                            "participant_code",
                            "The participant's code, if a participant proposed it (optional)",
                            placeholder="e.g. K7-MXQP",
                        ),
                    ],
                    save,
                    save_label="Propose",
                    dialog_id="propose-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def action_note(self) -> None:
        p = self.selected()
        if p is None:
            return

        def open_dialog(actor: str) -> None:
            self.app.push_screen(
                FormDialog(
                    f"A note on: {p.title}",
                    [Entry("text", "Note", kind="text")],
                    lambda values: add_proposal_note(self.study, p.id, values["text"], actor),
                    save_label="Add note",
                    dialog_id="note-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def action_decide(self, accepted: bool) -> None:
        p = self.selected()
        if p is None:
            return
        if p.status.value != "open":
            self.notify(f"This proposal was already {p.status.value} by {p.decided_by}.", severity="warning")
            return

        def open_dialog(actor: str) -> None:
            def save(values: dict[str, Any]):
                return decide_proposal(self.study, p.id, accepted, values["reason"], values["decided_by"])

            self.app.push_screen(
                FormDialog(
                    ("Accept: " if accepted else "Decline: ") + p.title,
                    [
                        Entry("reason", "The reason (the community will read it)", kind="text"),
                        Entry("decided_by", "Decided by", value=actor),
                    ],
                    save,
                    save_label="Accept" if accepted else "Decline",
                    dialog_id="decide-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def action_draft(self) -> None:
        p = self.selected()
        if p is None:
            return

        def make(actor: str) -> None:
            draft_from_proposal(self.study, p.id, actor)
            self.app.push_screen(DesignScreen(self.study_id))

        self.act(make, "A draft was made from the proposal: change the form, then publish it.")
