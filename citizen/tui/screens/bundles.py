"""Bundles: carry this study to another laptop, or merge another laptop's copy into this one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, ProgressBar, Static

from ...domain.plural import count
from ...export.bundle import default_name, export_bundle
from ...export.bundle_file import BundleFile, open_bundle
from ...export.files import study_exports
from ...services.common import ServiceError
from ...services.merge import MergeReport, merge_stream, plan_stream
from ...store import StoreError
from ..text import plain
from ..widgets.serving_line import app_header
from .base import WorkPage

BUNDLE_STEPS = ("checking", "reading", "comparing", "merging", "writing")


class BundlesScreen(WorkPage):
    """Export a bundle; read one, see the merge report, confirm, and merge it a batch at a time."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back to the study")]
    STATUS, PROGRESS = "#bundle-status", "#bundle-progress"

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.bundle: Optional[BundleFile] = None  # read and checked, kept open until merged or put aside

    def compose(self) -> ComposeResult:
        yield from app_header()
        with VerticalScroll():
            yield Static("Bundles: one study on several laptops", classes="title")
            yield Static(
                "Export this laptop's copy to a file (a USB stick, a shared folder), or merge a bundle "
                "from another laptop: nothing is written until you confirm the report.",
                classes="hint",
            )
            yield Static("Export to file", classes="title")
            with Horizontal(classes="bundle-row"):
                yield Input(id="export-path", placeholder="where to write the bundle")
                yield Button("Export", id="export", variant="primary")
            yield Static("Merge a bundle from another laptop", classes="title")
            with Horizontal(classes="bundle-row"):
                yield Input(id="import-path", placeholder="path of the .citizen-bundle file")
                yield Button("Read bundle", id="read")
            yield Static("", id="bundle-report")
            with Horizontal(classes="bundle-row"):
                yield Button("Merge into this laptop", id="merge", variant="warning", disabled=True)
                yield Button("Cancel", id="cancel", disabled=True)
            yield ProgressBar(id="bundle-progress", show_eta=False)
            yield Static("", id="bundle-status", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Bundles of {self.study_id}"
        self.query_one("#export-path", Input).value = str(study_exports(self.study.store.folder) / default_name(self.study))
        self.query_one("#bundle-progress", ProgressBar).update(total=1, progress=0)

    # -- helpers called on the app's thread ----------------------------------------------------------
    def _show_progress(self, done: int, total: int, what: str) -> None:
        super()._show_progress(done, total, "" if what in BUNDLE_STEPS else what)
        if self.busy and what in BUNDLE_STEPS:  # a bundle read, compared or merged
            self._status(f"{what.capitalize()} the bundle: {done:,} of {count(total, 'record')}...")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button_id in ("#export", "#read"):
            self.query_one(button_id, Button).disabled = busy

    # -- export ----------------------------------------------------------------------------------------
    @on(Button.Pressed, "#export")
    def start_export(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self._status("Type where the bundle should be written.", problem=True)
            return
        self._set_busy(True)
        self._status("Exporting...")
        self.export_worker(Path(path).expanduser())

    @work(thread=True, exclusive=True, group="bundle")
    def export_worker(self, path: Path) -> None:
        try:
            info = export_bundle(self.study, path, progress=self._progress)
        except (ServiceError, StoreError) as exc:
            self.app.call_from_thread(self._finished, str(exc), True)
            return
        text = (
            f"Exported {count(info.counts.get('participants', 0), 'participant')} and "
            f"{count(info.counts.get('contributions', 0), 'contribution')} to {info.path}."
        )
        self.app.call_from_thread(self._finished, text, False)

    def _finished(self, text: str, problem: bool) -> None:
        self._set_busy(False)
        bar = self.query_one("#bundle-progress", ProgressBar)
        bar.update(total=1, progress=1)
        self._status(text, problem)

    # -- import: read, report, confirm, merge --------------------------------------------------------------
    @on(Button.Pressed, "#read")
    @on(Input.Submitted, "#import-path")
    def start_read(self) -> None:
        path = self.query_one("#import-path", Input).value.strip()
        if not path:
            self._status("Type the path of the bundle file to merge.", problem=True)
            return
        self._set_busy(True)
        self._forget_bundle()
        self._status("Reading the bundle...")
        self.read_worker(Path(path).expanduser())

    @work(thread=True, exclusive=True, group="bundle")
    def read_worker(self, path: Path) -> None:
        try:
            bundle = open_bundle(path)
        except ServiceError as exc:
            self.app.call_from_thread(self._finished, str(exc), True)
            return
        try:
            report = plan_stream(self.app.data, bundle, into=self.study_id, progress=self._progress)
        except (ServiceError, StoreError) as exc:
            bundle.close()
            self.app.call_from_thread(self._finished, str(exc), True)
            return
        self.app.call_from_thread(self._show_report, bundle, report)

    def _show_report(self, bundle: BundleFile, report: MergeReport) -> None:
        self._set_busy(False)
        self.query_one("#bundle-report", Static).update(plain("\n".join(report.lines())))
        if report.nothing_to_merge:
            bundle.close()
            self._status("Nothing to merge.")
            return
        self.bundle = bundle
        self.query_one("#merge", Button).disabled = False
        self.query_one("#cancel", Button).disabled = False
        self.query_one("#merge", Button).focus()
        self._status("Read the report, then merge (or cancel: nothing has been written).")

    def _forget_bundle(self, close: bool = True) -> None:
        if self.bundle is not None and close:
            self.bundle.close()
        self.bundle = None
        self.query_one("#merge", Button).disabled = True
        self.query_one("#cancel", Button).disabled = True

    @on(Button.Pressed, "#cancel")
    def cancel(self) -> None:
        self._forget_bundle()
        self.query_one("#bundle-report", Static).update("")
        self._status("Not merged; nothing was changed.")

    @on(Button.Pressed, "#merge")
    def start_merge(self) -> None:
        if self.bundle is None:
            return
        bundle = self.bundle
        self._forget_bundle(close=False)
        self._set_busy(True)
        self._status("Merging...")
        self.merge_worker(bundle)

    @work(thread=True, exclusive=True, group="bundle")
    def merge_worker(self, bundle: BundleFile) -> None:
        try:
            report = merge_stream(self.app.data, bundle, self.app.actor, into=self.study_id, progress=self._progress)
        except (ServiceError, StoreError) as exc:
            self.app.call_from_thread(self._finished, str(exc), True)
            return
        finally:
            bundle.close()
        text = (
            f"Merged: {report.changes} records written in {count(report.writes, 'durable change')}, "
            f"{len(report.conflicts)} conflicts resolved."
        )
        self.app.call_from_thread(self._finished, text, False)

    def on_unmount(self) -> None:
        if self.bundle is not None:
            self.bundle.close()
