"""The studies list: every study in the data folder, with its counts and last activity; a new study, one from a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...services.listing import StudySummary, list_studies
from ..text import local_time, plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header

# The first screen the app draws: what it does not show (the study screens, the dialogs, the
# record models behind them) is imported when first asked for, so the app starts sooner.


class StudiesScreen(Screen):
    listed_now = False
    BINDINGS = [
        Binding("enter", "open_study", "Open study"),
        Binding("r", "refresh", "Refresh"),
        Binding("n", "new_study", "New study"),
        Binding("i", "import_study", "Import study"),
        Binding("q", "app.quit", "Quit"),
    ]

    def action_new_study(self) -> None:
        new_study(self.app)

    def action_import_study(self) -> None:
        import_study(self.app)

    def compose(self) -> ComposeResult:
        yield from app_header()
        yield Static("Studies", classes="title")
        yield Static("", id="studies-problem", classes="problem")
        yield RowTable(id="studies-table", zebra_stripes=True)
        yield Static("", id="studies-empty", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Study", "Status", "Participants", "Contributions", "Last activity")
        self.action_refresh()
        self.listed_now = True  # the resume that follows the first mount lists nothing again

    def action_refresh(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.summaries: dict[str, StudySummary] = {}
        problems = []
        for s in list_studies(self.app.data):
            self.summaries[s.id] = s
            if s.problem:
                problems.append(s.problem)
            table.add_row(
                plain(s.title), s.status.value, str(s.participants), str(s.contributions), local_time(s.last_activity), key=s.id
            )
        self.query_one("#studies-problem", Static).update(plain("\n".join(problems)))
        hint = (
            "No studies yet. Press n to design a new one, i to add one from a file, or run `citizen demo` for the demo study."
            if not self.summaries
            else "Enter opens the highlighted study."
        )
        self.query_one("#studies-empty", Static).update(hint)

    def action_open_study(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        summary = self.summaries.get(key)
        if summary is None or summary.problem:
            self.notify("This study cannot be opened; `citizen check` tells what is wrong.", severity="error")
            return
        _open_study(self.app, key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_study()

    def on_screen_resume(self) -> None:
        if not self.listed_now:
            self.action_refresh()
        self.listed_now = False


def _open_study(app: Any, study_id: Any) -> None:
    if study_id:
        from .overview import StudyOverviewScreen  # lazy: a study's screens load when one opens (start-up)

        app.push_screen(StudyOverviewScreen(study_id))


def _opened(app: Any, study: Any) -> None:
    """A study added from a file: what reading the file assumed is said, then the study opens."""
    if study:
        for line in study.notices:
            app.notify(plain(line), title="Consent item roles", severity="warning", timeout=20)
        _open_study(app, study.id)


def new_study(app: Any) -> None:
    # lazy: the dialogs and services load when first used, not for the studies list (start-up time)
    from ..acting import as_actor
    from .study_details import new_study_dialog

    as_actor(app, lambda actor: app.push_screen(new_study_dialog(app, actor), lambda sid: _open_study(app, sid)))


def import_study(app: Any) -> None:
    # lazy: the dialogs and services load when first used, not for the studies list (start-up time)
    from ...services.study_files import open_study_file
    from ..acting import as_actor
    from ..dialogs.form import Entry, FormDialog

    def open_dialog(actor: str) -> None:
        app.push_screen(
            FormDialog(
                "Add a study from a file",
                [
                    Entry("path", "Protocol file (.json) or XLSForm (.xlsx, .xls, .xlsm)", placeholder="/path/to/file"),
                    Entry("id", "Study id for the copy (optional)"),
                ],
                lambda v: open_study_file(app.data, Path(v["path"]).expanduser(), actor, v["id"]),
                save_label="Import",
                dialog_id="import-dialog",
                intro="The copy records the file it came from. An XLSForm's questions arrive as a draft: "
                "write the consent document, then publish.",
            ),
            lambda study: _opened(app, study),
        )

    as_actor(app, open_dialog)
