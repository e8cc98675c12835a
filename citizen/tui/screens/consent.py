"""The consent document editor: its plain-language text and its items, each with a role the rules read."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Label, Static, TextArea

from ...domain.design import Draft, role_meanings
from ...domain.models import ROLE_NAMES, ConsentItem, ConsentRole, pick
from ...services import Refused, ServiceError, design
from ..dialogs.confirm import ConfirmDialog
from ..dialogs.form import Entry, FormDialog
from ..preview import consent_preview
from ..text import plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage

ROLE_SHORT = {
    ConsentRole.take_part: "taking part",
    ConsentRole.share_partners: "partners",
    ConsentRole.quote_words: "quoting",
    ConsentRole.contact_later: "contact later",
    ConsentRole.plain: "plain",
}


class ConsentEditorScreen(StudyPage):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save_text", "Save text"),
        Binding("a", "add", "Add item"),
        Binding("e", "edit", "Edit item"),
        Binding("x", "remove", "Remove item"),
        Binding("ctrl+l", "language", "Language"),
    ]

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.draft: Draft | None = None
        self._loaded_text = False
        self.language = ""

    def compose(self) -> ComposeResult:
        yield from app_header()
        with Horizontal(id="consent-body"):
            with Vertical(id="consent-edit"):
                yield Label("Consent text in plain words (Ctrl+S saves)", id="consent-text-label")
                yield TextArea("", id="consent-text", soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
                yield Static("", id="err-consent-text", classes="error")
                yield Label("Items (Tab here; a add, e change, x remove)")
                yield RowTable(id="items-table")
                yield Static("", id="consent-meaning", classes="hint")
            with VerticalScroll(id="consent-preview-box"):
                yield Static("", id="consent-preview")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#items-table", DataTable).add_columns("Id", "Item", "Role", "Needed")
        self.query_one("#consent-preview-box").border_title = "As a volunteer sees it"
        super().on_mount()

    def refresh_view(self) -> None:
        record = self.study.repo.study()
        self.sub_title = f"{record.title}: consent"
        if self.language not in record.languages:
            self.language = record.main_language
        lang = self.language
        many = len(record.languages) > 1
        self.query_one("#consent-text-label", Label).update(
            f"Consent text in plain words, in {lang} (Ctrl+S saves; Ctrl+L changes language)"
            if many
            else "Consent text in plain words (Ctrl+S saves)"
        )
        self.draft = design.open_draft(self.study)
        if self.draft is None:
            self.app.pop_screen()
            return
        if not self._loaded_text:
            self.query_one("#consent-text", TextArea).text = self.draft.consent_text.get(lang, "")
            self._loaded_text = True
        table = self.query_one("#items-table", DataTable)
        table.clear()
        for item in self.draft.consent_items:
            words = item.text.get(lang) or f"(not yet in {lang}) {pick(item.text, lang)}"
            table.add_row(item.id, plain(words), ROLE_SHORT[item.role], "required" if item.required else "optional")
        self.query_one("#consent-meaning", Static).update(plain("\n".join(role_meanings(self.draft.consent_items))))
        self.query_one("#consent-preview", Static).update(
            consent_preview(self.draft.consent_text, self.draft.consent_items, lang)
        )

    def _unsaved(self) -> bool:
        typed = self.query_one("#consent-text", TextArea).text
        return self.draft is not None and typed.strip() != self.draft.consent_text.get(self.language, "").strip()

    def action_language(self) -> None:
        langs = self.study.repo.study().languages
        if len(langs) < 2:
            self.notify("This study has one language.")
            return
        if self._unsaved():
            self.notify("Save the text first (Ctrl+S), or undo the change, then change language.", severity="warning")
            return
        self.language = langs[(langs.index(self.language) + 1) % len(langs)] if self.language in langs else langs[0]
        self._loaded_text = False
        self.refresh_view()

    def action_back(self) -> None:
        if not self._unsaved():
            self.app.pop_screen()
            return
        self.app.push_screen(
            ConfirmDialog("The consent text has changes that are not saved. Leave without them?", "Leave"),
            lambda yes: self.app.pop_screen() if yes else None,
        )

    def action_save_text(self) -> None:
        if self.draft is None:
            return
        text = self.query_one("#consent-text", TextArea).text
        error = self.query_one("#err-consent-text", Static)

        def save(actor: str) -> None:
            try:
                design.save_consent_text(self.study, self.draft.id, text, actor, language=self.language)
            except Refused as exc:
                error.update(plain(exc.errors.get("text", str(exc))))
                return
            except ServiceError as exc:
                error.update(plain(str(exc)))
                return
            error.update("")
            self.notify("Consent text saved.")
            self.refresh_view()

        self.with_actor(save)

    def _item_dialog(self, index: int | None) -> None:
        if self.draft is None:
            return
        draft = self.draft
        lang = self.language
        item: ConsentItem | None = draft.consent_items[index] if index is not None else None
        # The first item of a consent document is nearly always the one about taking part.
        default_role = (
            ConsentRole.plain if any(i.role is ConsentRole.take_part for i in draft.consent_items) else ConsentRole.take_part
        )

        def open_dialog(actor: str) -> None:
            def save(values: dict[str, Any]):
                return design.save_consent_item(self.study, draft.id, values, actor, index=index, language=lang)

            self.app.push_screen(
                FormDialog(
                    "Change the consent item" if item else "Add a consent item",
                    [
                        Entry(
                            "text",
                            f"What the volunteer agrees to ({lang})",
                            kind="text",
                            value=item.text.get(lang, "") if item else "",
                        ),
                        Entry(
                            "id",
                            "Id (a short code; left empty, it is made from the words)",
                            value=item.id if item else "",
                            placeholder="e.g. take_part",
                        ),
                        Entry(
                            "role",
                            "What a yes lets the team do (the rules read this, not the id)",
                            kind="select",
                            value=(item.role if item else default_role).value,
                            options=[(r.value, ROLE_NAMES[r]) for r in ConsentRole],
                            hint="Taking part is always required. Without a quoting item, free-text answers will be "
                            "exported; without a contact item, no contacts are ever exported.",
                        ),
                        Entry(
                            "required",
                            "Required to take part",
                            kind="check",
                            value=item.required if item else default_role is ConsentRole.take_part,
                        ),
                    ],
                    save,
                    dialog_id="consent-item-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def action_add(self) -> None:
        self._item_dialog(None)

    def action_edit(self) -> None:
        index = self.cursor_row(self.query_one("#items-table", DataTable))
        if index is not None:
            self._item_dialog(index)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit()

    def action_remove(self) -> None:
        index = self.cursor_row(self.query_one("#items-table", DataTable))
        if self.draft is None or index is None:
            return
        draft = self.draft
        item = draft.consent_items[index]

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(
                    lambda actor: design.remove_consent_item(self.study, draft.id, index, actor),
                    f"Consent item '{item.id}' removed.",
                )

        self.app.push_screen(ConfirmDialog(f"Remove the consent item '{item.id}'?", "Remove"), answered)
