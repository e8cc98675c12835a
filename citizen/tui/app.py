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
    return int(result or 0)
