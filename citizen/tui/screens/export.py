"""Export data: choose what and how, read the data-sharing check, confirm, and watch it written.

The check and the export run in thread workers with a progress bar, so the keyboard never waits
on the disk. Nothing is written before the person confirms the check they were shown.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Optional

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, ProgressBar, Select, SelectionList, Static

from ...domain.models import ReviewState
from ...domain.plural import count
from ...export.files import ExportResult, default_folder
from ...export.plan import ExportPlan, make_options, prepare_export
from ...export.report import default_report_path, write_report
from ...export.run import record_written, write_planned
from ...services.common import ServiceError
from ...store import StoreError
from ..acting import as_actor
from ..text import plain
from ..widgets.serving_line import app_header
from ..widgets.tick_box import TickList
from .base import WorkPage

OPTIONS = [
    ("Include identifying fields", "identifying"),
    ("Include contact details (of those who agreed)", "contacts"),
    ("Leave out free-text answers", "drop_free_text"),
    ("Hash participant codes (salt made for this export)", "hash_codes"),
    ("Shift each participant's dates by a secret offset", "shift_dates"),
    ("Choice labels instead of codes", "labels"),
    ("Byte-order mark, for spreadsheets", "bom"),
    ("Consent log as FHIR R5 (consent.fhir.json)", "fhir"),
]


class ExportScreen(WorkPage):
    """Export the study's data (CSV or REDCap) or write the study report."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+t", "check", "Check what leaves"),
        Binding("ctrl+s", "confirm", "Confirm & export"),
        Binding("ctrl+r", "report", "Study report"),
    ]
    STATUS, PROGRESS = "#export-status", "#export-progress"

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.plan: Optional[ExportPlan] = None

    def compose(self) -> ComposeResult:
        yield from app_header()
        with VerticalScroll(id="export-body"):
            yield Static("Choose what and how; Ctrl+T checks what would leave; Ctrl+S confirms.", classes="hint")
            with Horizontal(classes="export-row"):
                yield Select(
                    [("CSV files", "csv"), ("REDCap dictionary + records", "redcap")],
                    value="csv",
                    allow_blank=False,
                    id="export-format",
                    compact=True,
                )
                yield Select(
                    [("for the study team", "team"), ("for partner organisations", "partners")],
                    value="team",
                    allow_blank=False,
                    id="export-audience",
                    compact=True,
                )
            yield TickList(*[(label, value, False) for label, value in OPTIONS], id="export-options")
            yield TickList(*[(f"Review state: {s.value}", s.value, True) for s in ReviewState], id="export-review")
            with Horizontal(classes="export-row"):
                yield Input(id="export-from", placeholder="from YYYY-MM-DD", compact=True)
                yield Input(id="export-to", placeholder="to YYYY-MM-DD", compact=True)
                yield Input(id="export-versions", placeholder="versions, e.g. 1,2 (all)", compact=True)
            with Horizontal(classes="export-row"):
                yield Input(id="export-out", placeholder="folder to create", compact=True)
            yield Static("", id="export-check")
            yield ProgressBar(id="export-progress", show_eta=False)
            yield Static("", id="export-status", classes="hint")
            with Horizontal(classes="export-row"):
                yield Button("Check", id="check", compact=True)
                yield Button("Confirm & export", id="confirm", variant="warning", disabled=True, compact=True)
                yield Button("Study report", id="report", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Export data of {self.study_id}"
        self.query_one("#export-out", Input).value = str(default_folder(self.study.store.folder))
        self.query_one("#export-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#export-options", SelectionList).focus()

    # -- reading the choices ------------------------------------------------------------------------
    def options_values(self) -> dict[str, Any]:
        chosen = set(self.query_one("#export-options", SelectionList).selected)
        values: dict[str, Any] = {value: value in chosen for _, value in OPTIONS}
        values["format"] = self.query_one("#export-format", Select).value
        values["audience"] = self.query_one("#export-audience", Select).value
        values["review_states"] = list(self.query_one("#export-review", SelectionList).selected)
        for key, widget in (("date_from", "#export-from"), ("date_to", "#export-to")):
            text = self.query_one(widget, Input).value.strip()
            if text:
                try:
                    values[key] = date.fromisoformat(text)
                except ValueError:
                    raise ServiceError(f"'{text}' is not a date as year-month-day, like 2026-05-31.") from None
        versions = self.query_one("#export-versions", Input).value.replace(",", " ").split()
        try:
            values["versions"] = [int(v) for v in versions]
        except ValueError:
            raise ServiceError("Versions are numbers separated by commas, like 1,2.") from None
        return values

    @on(SelectionList.SelectedChanged)
    @on(Select.Changed)
    @on(Input.Changed, "#export-from, #export-to, #export-versions")
    def options_changed(self) -> None:
        if self.plan is not None:
            self.plan = None
            self.query_one("#confirm", Button).disabled = True
            self._status("The choices changed: check again (Ctrl+T) before exporting.")

    # -- helpers on the app's thread ----------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.query_one("#check", Button).disabled = busy
        self.query_one("#report", Button).disabled = busy
        if busy:
            self.query_one("#confirm", Button).disabled = True

    # -- the check ------------------------------------------------------------------------------------
    @on(Button.Pressed, "#check")
    def action_check(self) -> None:
        if self.busy:
            return
        try:
            options = make_options(**self.options_values())
        except ServiceError as exc:
            self._status(str(exc), problem=True)
            return
        self._set_busy(True)
        self.plan = None
        self._status("Checking what would leave this laptop...")
        self.check_worker(options)

    @work(thread=True, exclusive=True, group="export")
    def check_worker(self, options) -> None:
        try:
            plan = prepare_export(self.study, options, progress=self._progress)
        except (ServiceError, StoreError) as exc:
            self.app.call_from_thread(self._finished, str(exc), True)
            return
        self.app.call_from_thread(self._show_check, plan)

    def _show_check(self, plan: ExportPlan) -> None:
        self._set_busy(False)
        self.plan = plan
        self.query_one("#export-check", Static).update(plain("\n".join(plan.check.lines())))
        confirm = self.query_one("#confirm", Button)
        confirm.disabled = False
        self.query_one("#export-progress", ProgressBar).update(total=1, progress=0)
        self._status("Read the check above. Confirm & export (Ctrl+S) writes the files; nothing is written before.")
        confirm.focus()
        self.query_one("#export-check", Static).scroll_visible()

    # -- the export -----------------------------------------------------------------------------------
    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.busy:
            return
        if self.plan is None:
            self._status("Check what will leave this laptop first (Ctrl+T).", problem=True)
            return
        plan = self.plan
        out_text = self.query_one("#export-out", Input).value.strip()
        out = Path(out_text).expanduser() if out_text else default_folder(self.study.store.folder)

        def start(name: str) -> None:
            self._set_busy(True)
            self._status(f"Exporting, approved by {name}...")
            self.export_worker(plan, name, out)

        as_actor(self.app, start)

    @work(thread=True, exclusive=True, group="export")
    def export_worker(self, plan: ExportPlan, approved_by: str, out: Path) -> None:
        try:
            result = write_planned(plan, approved_by, out, progress=self._progress)
        except (ServiceError, StoreError) as exc:
            self.app.call_from_thread(self._finished, str(exc), True)
            return
        rows = result.manifest["rows"]
        text = (
            f"Written to {result.folder}: "
            + ", ".join(f"{name} ({count(n, 'row')})" for name, n in rows.items())
            + f", datapackage.json. Approved by {approved_by}."
        )
        self.app.call_from_thread(self._exported, plan, result, approved_by, text)

    def _exported(self, plan: ExportPlan, result: ExportResult, approved_by: str, text: str) -> None:
        # Recorded here, on the app's thread: a change tells the open screens, which refresh on this thread.
        try:
            record_written(self.study, plan, result, approved_by)
        except (ServiceError, StoreError) as exc:
            text += f" It could not be recorded in the activity log: {exc}"
        folder = result.folder
        self.plan = None
        self.query_one("#export-out", Input).value = str(default_folder(self.study.store.folder))
        self._finished(text, False)
        self.notify(f"Export written to {folder}.")

    def _finished(self, text: str, problem: bool) -> None:
        self._set_busy(False)
        self.query_one("#export-progress", ProgressBar).update(total=1, progress=1)
        self._status(text, problem)
        # Where it was written (or why not) in sight, below a long check at 80x24 too.
        self.call_after_refresh(self.query_one(self.STATUS, Static).scroll_visible, animate=False)

    # -- the study report -----------------------------------------------------------------------------
    @on(Button.Pressed, "#report")
    def action_report(self) -> None:
        if self.busy:
            return
        self._set_busy(True)
        self._status("Writing the study report...")
        self.report_worker(default_report_path(self.study))

    @work(thread=True, exclusive=True, group="export")
    def report_worker(self, path: Path) -> None:
        try:
            written = write_report(self.study, path)
        except (ServiceError, StoreError) as exc:
            self.app.call_from_thread(self._finished, str(exc), True)
            return
        self.app.call_from_thread(self._finished, f"Study report written to {written} (no personal data).", False)
