"""Every published protocol version, and what changed from the one before."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from ...domain.rules import protocol_changes
from ..text import local_time
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage
from .design import describe_changes


class VersionsScreen(StudyPage):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield from app_header()
        yield RowTable(id="versions-table", zebra_stripes=True)
        with VerticalScroll(id="version-detail-box"):
            yield Static("", id="version-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#versions-table", DataTable).add_columns("Version", "In force from", "Approved by", "Consent", "Fields")
        self.query_one("#version-detail-box").border_title = "What changed"
        super().on_mount()

    def refresh_view(self) -> None:
        self.sub_title = f"{self.study.repo.study().title}: versions"
        self.versions = self.study.repo.protocol_versions()
        table = self.query_one("#versions-table", DataTable)
        table.clear()
        for v in reversed(self.versions):
            table.add_row(
                str(v.number),
                local_time(v.effective_at),
                Text(v.approved_by),
                f"v{v.consent.version}",
                str(len(v.fields)),
                key=str(v.number),
            )
        if not self.versions:
            self.query_one("#version-detail", Static).update("No version has been published yet.")
        else:
            self.show(self.versions[-1].number)

    def show(self, number: int) -> None:
        by_number = {v.number: v for v in self.versions}
        v = by_number[number]
        previous = by_number.get(number - 1)
        out = Text()
        out.append(f"Version {v.number}", style="bold")
        out.append(f", approved by {v.approved_by}, in force from {local_time(v.effective_at)}\n")
        if v.proposal_id:
            proposal = self.study.repo.proposal(v.proposal_id)
            out.append(f"From the proposal: {proposal.title if proposal else v.proposal_id}\n")
        out.append(f"Summary: {v.change_summary or '-'}\n\n")
        out.append(
            describe_changes(protocol_changes(previous, v))
            if previous
            else "The first version: " + ", ".join(f.key for f in v.fields)
        )
        self.query_one("#version-detail", Static).update(out)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self.show(int(event.row_key.value))
