"""The form builder: the open draft's fields, a live preview of the form, publishing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from ...domain.design import Draft, draft_as_version, draft_problems, missing_translations, role_meanings
from ...domain.models import FIELD_TYPE_NAMES, pick
from ...domain.plural import count
from ...domain.rules import protocol_changes
from ...domain.words import page_word_gaps
from ...services import design
from ...services.xlsform import import_xlsform_into_draft
from ..dialogs.confirm import ConfirmDialog
from ..dialogs.field import FieldDialog
from ..dialogs.form import Entry, FormDialog
from ..preview import form_preview
from ..text import plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage
from .consent import ConsentEditorScreen
from .page_words import PageWordsScreen


def describe_changes(diff: dict[str, list[str]]) -> str:
    parts = []
    for key, what in (
        ("added", "Fields added"),
        ("removed", "Fields removed"),
        ("relabelled", "Fields relabelled"),
        ("changed", "Fields changed (type, choices, bounds or settings)"),
    ):
        if diff.get(key):
            parts.append(f"{what}: {', '.join(diff[key])}")
    if diff.get("consent"):
        parts.append("Consent changed: " + "; ".join(diff["consent"]))
    return "\n".join(parts) or "No change to the form or the consent document."


class DesignScreen(StudyPage):
    """Build the form field by field; the right side shows it as a volunteer will fill it."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "start", "Start draft"),
        Binding("a", "add", "Add field"),
        Binding("e", "edit", "Edit field"),
        Binding("x", "remove", "Remove field"),
        Binding("left_square_bracket", "move(-1)", "Move up", key_display="["),
        Binding("right_square_bracket", "move(1)", "Move down", key_display="]"),
        Binding("c", "consent", "Consent"),
        Binding("w", "page_words", "Page words"),
        Binding("p", "publish", "Publish"),
        Binding("i", "import_form", "Import XLSForm"),
        Binding("l", "language", "Language"),
        Binding("D", "discard", "Discard draft", key_display="D"),
    ]

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.draft: Draft | None = None
        self.language = ""

    def compose(self) -> ComposeResult:
        yield from app_header()
        yield Static("", id="draft-status", classes="hint")
        yield Static("", id="draft-problems", classes="problem")
        with Horizontal(id="design-body"):
            yield RowTable(id="fields-table", zebra_stripes=True)
            with VerticalScroll(id="preview-box"):
                yield Static("", id="form-preview")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#fields-table", DataTable).add_columns("#", "Question", "Type", "Key")
        self.query_one("#preview-box").border_title = "As a volunteer sees it"
        super().on_mount()

    def refresh_view(self) -> None:
        record = self.study.repo.study()
        self.sub_title = f"{record.title}: design"
        if self.language not in record.languages:
            self.language = record.main_language
        self.draft = design.open_draft(self.study)
        table = self.query_one("#fields-table", DataTable)
        row = table.cursor_coordinate.row
        table.clear()
        status = self.query_one("#draft-status", Static)
        problems = self.query_one("#draft-problems", Static)
        if self.draft is None:
            current = self.study.repo.current_protocol()
            start = f"from version {current.number}" if current else "for the first version"
            status.update(f"No draft is open. Press s to start a draft {start}.")
            problems.update("")
            problems.display = False
            self.query_one("#form-preview", Static).update(
                form_preview(current.fields, self.language, current.page_words) if current else plain("")
            )
            return
        d = self.draft
        origin = f"based on version {d.based_on}" if d.based_on else "a new protocol"
        if d.proposal_id:
            proposal = self.study.repo.proposal(d.proposal_id)
            origin += f', from the proposal "{proposal.title if proposal else d.proposal_id}"'
        status.update(
            plain(
                f"Draft ({origin}) started by {d.created_by}. {count(len(d.fields), 'field')}, "
                f"{count(len(d.consent_items), 'consent item')}. Language: {self.language}."
            )
        )
        missing = missing_translations(d, record.languages)
        lines = draft_problems(d) + (["Translations missing: " + "; ".join(missing) + "."] if missing else [])
        lines += [gap + "." for gap in page_word_gaps(record.languages, d.page_words)]
        problems.update(plain(" ".join(lines)))
        problems.display = bool(lines)
        for n, f in enumerate(d.fields, 1):
            flags = (" *" if f.required else "") + (" (identifying)" if f.identifying else "")
            table.add_row(str(n), plain(pick(f.label, self.language) + flags), FIELD_TYPE_NAMES[f.type], f.key)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self.query_one("#form-preview", Static).update(form_preview(d.fields, self.language, d.page_words))

    def _need_draft(self) -> Draft | None:
        if self.draft is None:
            self.notify("No draft is open: press s to start one.", severity="warning")
        return self.draft

    def _selected(self) -> int | None:
        return self.cursor_row(self.query_one("#fields-table", DataTable))

    def action_start(self) -> None:
        if self.draft is not None:
            self.notify("A draft is already open.")
            return
        self.act(lambda actor: design.start_draft(self.study, actor), "Draft started.")

    def _field_dialog(self, index: int | None) -> None:
        draft = self._need_draft()
        if draft is None:
            return
        languages = self.study.repo.study().languages
        field = draft.fields[index] if index is not None else None

        def open_dialog(actor: str) -> None:
            def save(values: dict[str, Any]):
                return design.save_draft_field(self.study, draft.id, values, actor, index=index)

            self.app.push_screen(FieldDialog(field, languages, save), lambda _r: self.refresh_view())

        self.with_actor(open_dialog)

    def action_add(self) -> None:
        self._field_dialog(None)

    def action_edit(self) -> None:
        index = self._selected()
        if index is not None:
            self._field_dialog(index)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit()

    def action_remove(self) -> None:
        draft, index = self._need_draft(), self._selected()
        if draft is None or index is None:
            return
        field = draft.fields[index]

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(
                    lambda actor: design.remove_draft_field(self.study, draft.id, index, actor), f"Field '{field.key}' removed."
                )

        self.app.push_screen(
            ConfirmDialog(f'Remove the field "{pick(field.label, self.language)}" from the draft?', "Remove"), answered
        )

    def action_move(self, delta: int) -> None:
        draft, index = self._need_draft(), self._selected()
        if draft is None or index is None:
            return
        target = index + delta
        if not 0 <= target < len(draft.fields):
            return

        def moved(actor: str) -> None:
            design.move_draft_field(self.study, draft.id, index, delta, actor)
            self.refresh_view()
            self.query_one("#fields-table", DataTable).move_cursor(row=target)

        self.act(moved)

    def action_consent(self) -> None:
        if self._need_draft() is None:
            return
        self.app.push_screen(ConsentEditorScreen(self.study_id))

    def action_page_words(self) -> None:
        if self._need_draft() is None:
            return
        self.app.push_screen(PageWordsScreen(self.study_id))

    def action_language(self) -> None:
        langs = self.study.repo.study().languages
        self.language = langs[(langs.index(self.language) + 1) % len(langs)] if self.language in langs else langs[0]
        self.refresh_view()

    def action_publish(self) -> None:
        draft = self._need_draft()
        if draft is None:
            return
        current = self.study.repo.current_protocol()
        languages = self.study.repo.study().languages
        problems = draft_problems(draft) + [f"Translation missing: {m}." for m in missing_translations(draft, languages)]
        problems += [gap + "." for gap in page_word_gaps(languages, draft.page_words)]
        candidate = draft_as_version(draft, current)
        number = 1 if current is None else current.number + 1
        if problems:
            intro = "Not ready yet:\n" + "\n".join(f"- {p}" for p in problems)
        else:
            intro = (
                describe_changes(protocol_changes(current, candidate))
                if current
                else (
                    f"The first version: {count(len(draft.fields), 'field')}, {count(len(draft.consent_items), 'consent item')}."
                )
            )
            if current and candidate and candidate.consent.version != current.consent.version:
                intro += (
                    f"\nThe consent document becomes version {candidate.consent.version}: participants "
                    "on the older one will be asked to re-consent."
                )
            intro += "\n" + "\n".join(role_meanings(draft.consent_items))

        def open_dialog(actor: str) -> None:
            def publish(values: dict[str, Any]):
                return design.publish_draft(self.study, draft.id, values["change_summary"], values["approved_by"])

            def done(version: Any) -> None:
                if version:
                    self.notify(f"Version {version.number} published.")
                self.refresh_view()

            self.app.push_screen(
                FormDialog(
                    f"Publish version {number}",
                    [
                        Entry(
                            "change_summary",
                            "What changed, in a sentence" if current else "Summary (optional)",
                            kind="text",
                            value="",
                        ),
                        Entry("approved_by", "Approved by", value=actor),
                    ],
                    publish,
                    save_label="Publish",
                    intro=intro,
                    dialog_id="publish-dialog",
                ),
                done,
            )

        self.with_actor(open_dialog)

    def action_import_form(self) -> None:
        draft = self._need_draft()
        if draft is None:
            return

        def open_dialog(actor: str) -> None:
            def load(values: dict[str, Any]):
                return import_xlsform_into_draft(self.study, draft.id, Path(values["path"]).expanduser(), actor)

            def done(report: Any) -> None:
                if report:
                    self.notify(plain(report.summary()), timeout=12)
                self.refresh_view()

            self.app.push_screen(
                FormDialog(
                    "Add the questions of an XLSForm to this draft",
                    [Entry("path", "XLSForm (.xlsx, .xls, .xlsm)", placeholder="/path/to/form.xlsx")],
                    load,
                    save_label="Import",
                    dialog_id="xlsform-dialog",
                    intro="Its questions are added after the draft's fields; what cannot be carried over is listed.",
                ),
                done,
            )

        self.with_actor(open_dialog)

    def action_discard(self) -> None:
        draft = self._need_draft()
        if draft is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(lambda actor: design.discard_draft(self.study, draft.id, actor), "Draft discarded.")

        self.app.push_screen(ConfirmDialog("Discard this draft? Published versions are not touched.", "Discard"), answered)
