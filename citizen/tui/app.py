"""The terminal app: the main door for coordinators and community researchers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from textual.app import App
from textual.binding import Binding

from ..services import open_study
from ..services.common import Study
from ..store import DataFolder, StoreError
from .screens.studies import StudiesScreen


class CitizenApp(App[int]):
    """Opens on the studies list; every study screen is pushed from there."""

    CSS_PATH = "app.tcss"
    TITLE = "citizen"
    SUB_TITLE = "co-produced health studies"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, data: DataFolder, study_id: Optional[str] = None, actor: str = "coordinator"):
        super().__init__()
        self.data = data
        self.actor = actor
        self.start_study = study_id
        self._studies: dict[str, Study] = {}
        self.crash_message = ""

    def _handle_exception(self, error: Exception) -> None:
        # An unexpected failure (a worker, a handler): the details go to the data folder's log and
        # the person gets one plain line once the terminal is restored; the app stops with code 1.
        from textual.worker import WorkerFailed

        from ..cli import write_crash_log

        if not self.crash_message:
            cause = error.error if isinstance(error, WorkerFailed) and isinstance(error.error, Exception) else error
            log = write_crash_log(self.data.path, cause)
            self.crash_message = (f"citizen: something went wrong ({type(cause).__name__}: {cause}). "
                                  f"Details: {log}")
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        from rich.text import Text

        self.bell()
        self._exit_renderables.append(Text(self.crash_message or "citizen: something went wrong."))
        self._close_messages_no_wait()

    def study(self, study_id: str) -> Study:
        """One handle per study for the app's life, so listeners and caches are shared."""
        if study_id not in self._studies:
            self._studies[study_id] = open_study(self.data, study_id)
        return self._studies[study_id]

    def on_mount(self) -> None:
        self.push_screen(StudiesScreen())
        if self.start_study:
            from .screens.overview import StudyScreen

            self.push_screen(StudyScreen(self.start_study))


def make_app(data_path: Path, study_id: Optional[str] = None) -> CitizenApp:
    """The app on a data folder (the command line and the tests both build it here)."""
    return CitizenApp(DataFolder(data_path), study_id=study_id)


def run_app(data_path: Path, study_id: Optional[str] = None) -> int:
    try:
        app = make_app(data_path, study_id)
    except StoreError as exc:
        print(f"citizen: {exc}", file=sys.stderr)
        return 1
    try:
        result = app.run()
    finally:
        app.data.close()
    return app.return_code or int(result or 0)  # a crash ends with code 1, after its plain line
