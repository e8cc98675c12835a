"""Syncs with a hub while the terminal app is open: on request, and every few minutes if asked.

A sync runs in a worker thread with its own event loop, one at a time per study, so no screen
waits for it. The password is kept in memory for the app's life only (the periodic sync needs it);
the Sync screen listens for progress and the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from ..services.common import ServiceError
from ..store import StoreError
from ..sync.client import HubError
from ..sync.replicate import SyncReport
from ..sync.run import HubLogin, sync_study
from ..sync.state import Settings

SECONDS_PER_MINUTE = 60.0


@dataclass
class Listener:
    progress: Callable[[int, int, str], None]
    finished: Callable[[Optional[SyncReport], str], None]


@dataclass
class StudySync:
    login: Optional[HubLogin] = None
    include_contacts: bool = False
    every_minutes: int = 0
    timer: Any = None
    running: bool = False
    last_error: str = ""
    listeners: list[Listener] = field(default_factory=list)


class BackgroundSync:
    """The app's syncs, per study."""

    def __init__(self, app: Any):
        self.app = app
        self.studies: dict[str, StudySync] = {}

    def of(self, study_id: str) -> StudySync:
        return self.studies.setdefault(study_id, StudySync())

    def configure(self, study_id: str, login: HubLogin, include_contacts: bool, every_minutes: int) -> None:
        """Remember how to reach the hub (the password in memory only) and (re)start the timer."""
        entry = self.of(study_id)
        entry.login, entry.include_contacts, entry.every_minutes = login, include_contacts, every_minutes
        if entry.timer is not None:
            entry.timer.stop()
            entry.timer = None
        if every_minutes > 0:
            entry.timer = self.app.set_interval(every_minutes * SECONDS_PER_MINUTE, lambda: self.start(study_id))

    def start(self, study_id: str) -> bool:
        """Begin a sync unless one of this study is running; False when it could not begin."""
        entry = self.of(study_id)
        if entry.running or entry.login is None:
            return False
        entry.running = True
        self.app.run_worker(lambda: self._run(study_id, entry), thread=True, group=f"sync-{study_id}", exit_on_error=False)
        return True

    def _run(self, study_id: str, entry: StudySync) -> None:
        assert entry.login is not None

        def progress(done: int, total: int, what: str) -> None:
            for listener in list(entry.listeners):
                self.app.call_from_thread(listener.progress, done, total, what)

        report: Optional[SyncReport] = None
        error = ""
        try:
            report = asyncio.run(
                sync_study(self.app.data, study_id, entry.login, "both", entry.include_contacts, self.app.actor, progress)
            )
            settings = Settings.load(self.app.data.path, study_id)
            settings.every_minutes = entry.every_minutes
            settings.save(self.app.data.path, study_id)
        except (HubError, ServiceError, StoreError) as exc:
            error = str(exc)
        except OSError as exc:
            error = f"The sync could not go on: {exc.strerror or exc}."
        self.app.call_from_thread(self._done, study_id, entry, report, error)

    def _done(self, study_id: str, entry: StudySync, report: Optional[SyncReport], error: str) -> None:
        entry.running = False
        entry.last_error = error
        for listener in list(entry.listeners):
            listener.finished(report, error)
        if error and not entry.listeners:
            self.app.notify(f"Sync of {study_id}: {error}", severity="error", timeout=10)

    def stop_all(self) -> None:
        for entry in self.studies.values():
            if entry.timer is not None:
                entry.timer.stop()
                entry.timer = None


def background_sync(app: Any) -> BackgroundSync:
    found = getattr(app, "_background_sync", None)
    if found is None:
        found = BackgroundSync(app)
        app._background_sync = found
    return found
