"""The phone pages' own words in the study's languages: each English text beside its translation.

For a language no catalogue ships, the study carries the translation itself (a community
translator can add their language without a new release); for a shipped one, the study's words
replace the catalogue's where given. What is still missing is counted and marked, and publishing
waits until nothing is.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from ...domain.words import has_catalogue
from ...services import design
from ...services import page_words as words
from ..dialogs.form import Entry, FormDialog
from ..text import plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage

MISSING = "(missing)"


class PageWordsScreen(StudyPage):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "edit", "Translate"),
        Binding("m", "missing_only", "Missing only"),
        Binding("ctrl+l", "language", "Language"),
    ]

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.language = ""
        self.only_missing = False
        self.rows: list[words.PageWord] = []

    def compose(self) -> ComposeResult:
        yield from app_header()
        yield Static("", id="page-words-summary", classes="hint")
        yield RowTable(id="page-words-table", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#page-words-table", DataTable).add_columns("English", "Translation")
        super().on_mount()

    def refresh_view(self) -> None:
        record = self.study.repo.study()
        self.sub_title = f"{record.title}: the phone pages' words"
        langs = words.translatable_languages(self.study)
        summary = self.query_one("#page-words-summary", Static)
        table = self.query_one("#page-words-table", DataTable)
        row = table.cursor_coordinate.row
        table.clear()
        draft = design.open_draft(self.study)
        if draft is None:
            self.app.pop_screen()
            return
        if not langs:
            self.rows = []
            summary.update("The phone pages are written in English, this study's only language: nothing to translate.")
            return
        if self.language not in langs:
            self.language = langs[0]
        lang = self.language
        every = words.page_words(draft, lang)
        gaps = sum(1 for w in every if w.missing)
        own = sum(1 for w in every if w.own)
        if has_catalogue(lang):
            state = (
                f"A catalogue ships for '{lang}': the pages are complete. The study's own words replace "
                f"the catalogue's where given ({own} of {len(every)})."
            )
        else:
            state = f"No catalogue ships for '{lang}': the study carries the translation. " + (
                f"{gaps} of {len(every)} texts are missing; publishing waits for them."
                if gaps
                else f"All {len(every)} texts are translated."
            )
        more = "; Ctrl+L changes language" if len(langs) > 1 else ""
        toggle = "m shows every text" if self.only_missing else "m shows the missing only"
        summary.update(plain(f"Language: {lang}. {state} (e translates; {toggle}{more}.)"))
        self.rows = [w for w in every if w.missing] if self.only_missing else every
        for w in self.rows:
            if w.own:
                said = w.own
            elif w.shipped:
                said = f"(catalogue) {w.shipped}"
            else:
                said = MISSING
            table.add_row(plain(w.msgid), plain(said))
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def action_language(self) -> None:
        langs = words.translatable_languages(self.study)
        if len(langs) < 2:
            self.notify("There is one language to translate the pages into." if langs else "Nothing to translate.")
            return
        self.language = langs[(langs.index(self.language) + 1) % len(langs)] if self.language in langs else langs[0]
        self.refresh_view()

    def action_missing_only(self) -> None:
        self.only_missing = not self.only_missing
        self.refresh_view()

    def action_edit(self) -> None:
        index = self.cursor_row(self.query_one("#page-words-table", DataTable))
        draft = design.open_draft(self.study)
        if index is None or draft is None or index >= len(self.rows):
            return
        word = self.rows[index]
        lang = self.language
        intro = f"English: {word.msgid}"
        if word.shipped:
            intro += f"\nThe catalogue's words: {word.shipped}"
        empty = "the catalogue's words" if word.shipped else "missing"

        def open_dialog(actor: str) -> None:
            def save(values: dict[str, Any]):
                return words.save_page_word(self.study, draft.id, lang, word.msgid, values["text"], actor)

            self.app.push_screen(
                FormDialog(
                    f"The page text in {lang}",
                    [Entry("text", f"In {lang} (left empty: {empty})", kind="text", value=word.own)],
                    save,
                    intro=intro,
                    dialog_id="page-word-dialog",
                ),
                lambda _r: self.refresh_view(),
            )

        self.with_actor(open_dialog)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit()
