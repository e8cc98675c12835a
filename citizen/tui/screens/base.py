"""What the study's design screens share: the study handle and acting under the person's name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen
from textual.widgets import DataTable

from ...services import ServiceError
from ..acting import as_actor


class StudyPage(Screen):
    """A screen about one study; refreshes itself after every change it makes."""

    def __init__(self, study_id: str):
        super().__init__()
        self.study_id = study_id

    @property
    def study(self):
        return self.app.study(self.study_id)

    def refresh_view(self) -> None:  # each screen fills itself here
        pass

    def on_mount(self) -> None:
        self.refresh_view()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def act(self, work: Callable[[str], Any], done: str = "") -> None:
        """Do one change as the named person: a refusal is shown plainly and nothing is stored."""

        def run(actor: str) -> None:
            try:
                work(actor)
            except ServiceError as exc:
                self.notify(str(exc), severity="error", timeout=8)
                return
            if done:
                self.notify(done)
            self.refresh_view()

        as_actor(self.app, run)

    def with_actor(self, then: Callable[[str], None]) -> None:
        as_actor(self.app, then)

    @staticmethod
    def cursor_row(table: DataTable) -> int | None:
        if table.row_count == 0:
            return None
        return table.cursor_coordinate.row
