"""What the study's design screens share: the study handle and acting under the person's name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.screen import Screen
from textual.widgets import DataTable, ProgressBar, Static

from ...services import ServiceError
from ..acting import as_actor
from ..live import on_ui_thread
from ..text import plain


class StudyScreenBase(Screen):
    """A screen about one study: its handle, and a redraw after each change to it from any thread."""

    def __init__(self, study_id: str):
        super().__init__()
        self.study_id = study_id
        self._follower: Callable[[Any], None] | None = None

    @property
    def study(self):
        return self.app.study(self.study_id)

    def follow_changes(self, redraw: Callable[[], Any], tables: Iterable[str] = ()) -> None:
        """Call ``redraw`` on the app's thread after every committed change (touching ``tables``, if named)."""
        watched = frozenset(tables)

        def changed(ops: Any) -> None:
            if not watched or any(table in watched for table, _row, _doc in ops):
                on_ui_thread(self, redraw)

        self._follower = changed
        self.study.on_change(changed)

    def on_unmount(self) -> None:  # Textual calls this besides any subclass's own on_unmount
        if self._follower is not None and self.study_id in self.app._studies:
            self.study.remove_listener(self._follower)


class StudyPage(StudyScreenBase):
    """A screen about one study; refreshes itself after every change it makes."""

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


class WorkPage(StudyScreenBase):
    """A study screen that runs long work in a worker: one status line and one progress bar, named
    by ``STATUS`` and ``PROGRESS``; ``busy`` while the work runs."""

    STATUS = "#status"
    PROGRESS = "#progress"

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.busy = False

    def _status(self, text: str, problem: bool = False) -> None:
        status = self.query_one(self.STATUS, Static)
        status.set_class(problem, "problem")
        status.update(plain(text))

    def _progress(self, done: int, total: int, what: str = "") -> None:
        # Queued without waiting: the worker may hold the study's lock, which a refresh on the app's
        # thread could be waiting for.
        self.call_later(self._show_progress, done, total, what)

    def _show_progress(self, done: int, total: int, what: str) -> None:
        if not self.busy:  # queued before the work ended, shown after: the final word stays
            return
        self.query_one(self.PROGRESS, ProgressBar).update(total=max(total, done, 1), progress=done)
        if what:
            self._status(f"Working: {what}...")
