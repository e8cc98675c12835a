"""The study's details and team: title, shared aim, summary, languages, status, who is on the team."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from ...domain.models import Role, StudyStatus
from ...services import design
from ..dialogs.confirm import ConfirmDialog
from ..dialogs.form import Entry, FormDialog
from ..text import local_time, plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage

ROLE_OPTIONS = [(r.value, r.value) for r in Role]


def study_entries(record: Any = None) -> list[Entry]:
    lang = record.main_language if record else "en"
    return [
        Entry("title", "Title", value=record.title if record else "", placeholder="e.g. Safe Crossings"),
        Entry(
            "shared_aim",
            "Shared aim (the one sentence the community agreed on)",
            kind="text",
            value=record.shared_aim if record else "",
        ),
        Entry("summary", "Plain-language summary", kind="text", value=record.summary.get(lang, "") if record else ""),
        Entry(
            "languages",
            "Languages (codes, first is the main one)",
            value=", ".join(record.languages) if record else "en",
            placeholder="en, fr",
        ),
        *translation_entries(record),
    ]


def translation_entries(record: Any) -> list[Entry]:
    """The shared aim and summary in each further language of the study."""
    entries: list[Entry] = []
    for lang in record.languages[1:] if record else []:
        entries.append(Entry(f"aim_{lang}", f"Shared aim in {lang}", kind="text", value=record.shared_aim_text.get(lang, "")))
        entries.append(Entry(f"summary_{lang}", f"Summary in {lang}", kind="text", value=record.summary.get(lang, "")))
    return entries


def save_details(study: Any, actor: str, record: Any, v: dict[str, Any]) -> Any:
    # The boxes were shown in the study's languages as they stood; empty ones are dropped by the service.
    further = record.languages[1:]
    summary = dict(record.summary) | {record.main_language: v["summary"]}
    summary |= {lang: v.get(f"summary_{lang}", "") for lang in further}
    aims = {lang: v.get(f"aim_{lang}", "") for lang in further}
    return design.edit_study(study, actor, v["title"], v["shared_aim"], summary, v["languages"], shared_aim_text=aims)


class StudyDetailsScreen(StudyPage):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "edit", "Edit details"),
        Binding("s", "status", "Status"),
        Binding("t", "add_member", "Add member"),
        Binding("m", "edit_member", "Change member"),
        Binding("x", "remove_member", "Remove member"),
    ]

    def compose(self) -> ComposeResult:
        yield from app_header()
        yield Static("", id="details-facts")
        yield Static("Team", classes="title")
        yield RowTable(id="team-table", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#team-table", DataTable).add_columns("Name", "Role", "Organisation")
        super().on_mount()

    def refresh_view(self) -> None:
        r = self.study.repo.study()
        self.sub_title = f"{r.title}: details"
        out = Text()
        out.append(r.title, style="bold")
        out.append(f"  ({r.id}, {r.status.value})\n")
        out.append(f"Shared aim: {r.shared_aim}\n")
        out.append(f"Summary: {r.summary.get(r.main_language, '-')}\n")
        for lang in r.languages[1:]:
            out.append(f"In {lang}: {r.shared_aim_text.get(lang) or '(shared aim not translated yet)'}\n")
        out.append(f"Languages: {', '.join(r.languages)}    Created: {local_time(r.created_at)}\n")
        out.append(f"Came from: {r.source or '-'}")
        self.query_one("#details-facts", Static).update(out)
        table = self.query_one("#team-table", DataTable)
        table.clear()
        for m in r.team:
            table.add_row(plain(m.name), m.role.value, plain(m.organisation or "-"))
        if not r.team:
            table.add_row("(nobody yet: press t to add a team member)", "", "")

    def action_edit(self) -> None:
        record = self.study.repo.study()

        def open_dialog(actor: str) -> None:
            self.app.push_screen(
                FormDialog(
                    "The study's details",
                    study_entries(record),
                    lambda v: save_details(self.study, actor, record, v),
                    dialog_id="details-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def action_status(self) -> None:
        record = self.study.repo.study()

        def open_dialog(actor: str) -> None:
            self.app.push_screen(
                FormDialog(
                    "Change the study's status",
                    [
                        Entry(
                            "status",
                            "Status",
                            kind="select",
                            value=record.status.value,
                            options=[(s.value, s.value) for s in StudyStatus],
                        )
                    ],
                    lambda v: design.change_status(self.study, v["status"], actor),
                    intro="draft: being designed; recruiting: enrolling volunteers; active: collecting; "
                    "paused: nothing new accepted for now; closed: finished.",
                    dialog_id="status-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def _member_dialog(self, index: int | None) -> None:
        team = self.study.repo.study().team
        member = team[index] if index is not None else None

        def open_dialog(actor: str) -> None:
            self.app.push_screen(
                FormDialog(
                    "Change the team member" if member else "Add a team member",
                    [
                        Entry("name", "Name", value=member.name if member else ""),
                        Entry(
                            "role",
                            "Role",
                            kind="select",
                            value=member.role.value if member else Role.co_researcher.value,
                            options=ROLE_OPTIONS,
                        ),
                        Entry("organisation", "Organisation (optional)", value=member.organisation if member else ""),
                    ],
                    lambda v: design.save_team_member(self.study, actor, v["name"], v["role"], v["organisation"], index=index),
                    dialog_id="member-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def _member_index(self) -> int | None:
        index = self.cursor_row(self.query_one("#team-table", DataTable))
        if index is None or index >= len(self.study.repo.study().team):
            return None
        return index

    def action_add_member(self) -> None:
        self._member_dialog(None)

    def action_edit_member(self) -> None:
        index = self._member_index()
        if index is not None:
            self._member_dialog(index)

    def action_remove_member(self) -> None:
        index = self._member_index()
        if index is None:
            return
        name = self.study.repo.study().team[index].name

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(lambda actor: design.remove_team_member(self.study, actor, index), f"{name} removed.")

        self.app.push_screen(ConfirmDialog(f"Remove {name} from the team?", "Remove"), answered)


def new_study_dialog(app: Any, actor: str) -> FormDialog:
    """The dialog that starts a study from nothing; its answer is the new study's id."""
    entries = [
        Entry(
            "id", "Study id (short, for folders and commands; left empty, made from the title)", placeholder="e.g. safe-crossings"
        ),
        *study_entries(),
    ]

    def create(v: dict[str, Any]) -> str:
        study = design.new_study(
            app.data,
            v["title"],
            v["shared_aim"],
            actor,
            summary=v["summary"],
            languages=v["languages"],
            study_id=v["id"],
            team=[{"name": actor, "role": "coordinator"}],
        )
        return study.id

    return FormDialog(
        "A new study",
        entries,
        create,
        save_label="Create",
        dialog_id="new-study-dialog",
        intro="You are added to the team as its coordinator; change the team later (e on the study).",
    )
