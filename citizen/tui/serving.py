"""Serving the phone pages is a state of the app, not of a screen.

Started on a study's Enrolment screen, the server runs in the app's own event loop, whatever screen
is open, until it is stopped there or the app quits (which asks first). The phone pages and the
app share one process and one study handle, so every write goes through the same study lock, one
after the other: a review, a new protocol version or an update made while phones contribute is
neither lost nor doubled. Every screen's header line says where it serves, how many invites are
open and how many arrivals came today; the screens that list arrivals or counts follow the study's
changes themselves.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Optional

from ..domain.plural import count
from ..services.arrivals import Arrival, arrivals_in, arrivals_since, start_of_today
from ..store.serving_note import clear_serving_note, note_serving

if TYPE_CHECKING:
    from ..web.server import EnrolmentServer
    from .app import CitizenApp


def local_day(at: str) -> Optional[date]:
    try:
        return datetime.fromisoformat(at).astimezone().date()
    except ValueError:
        return None


class PhoneServing:
    """The app's one enrolment server (one study at a time), its arrivals today and open invites."""

    def __init__(self, app: CitizenApp):
        self.app = app
        self.server: Optional[EnrolmentServer] = None
        self.study_id = ""
        self.arrivals: list[Arrival] = []  # today's, oldest first
        self.invites_open = 0
        self.day = date.today()

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    @property
    def base_url(self) -> str:
        return self.server.base_url if self.server is not None else ""

    def serves(self, study_id: str) -> bool:
        return self.running and self.study_id == study_id

    async def start(self, study_id: str, host: str, port: int) -> None:
        """Serve ``study_id`` on ``host``:``port``; a port in use or a wrong address is a ServiceError."""
        from ..web.server import EnrolmentServer  # lazy: aiohttp and Jinja2 load only when phones are served

        study = self.app.study(study_id)
        server = EnrolmentServer(study, host, port, log_dir=self.app.data.path / "logs")
        await server.start()
        self.server, self.study_id = server, study_id
        study.on_change(self._changed)
        self.day = date.today()
        self.arrivals = arrivals_since(study, start_of_today())
        self._count_invites()
        note_serving(self.app.data.path, "the terminal app", study_id, server.base_url)
        self._show()

    async def stop(self, show: bool = True) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        if self.study_id in self.app._studies:
            self.app.study(self.study_id).remove_listener(self._changed)
        await server.stop()
        clear_serving_note(self.app.data.path)
        if show:
            self._show()

    def line(self, named: bool = True) -> str:
        """What every screen's header line says while serving (nothing when not); ``named``: with the study's id."""
        if not self.running:
            return ""
        which = f" {self.study_id}" if named else ""
        return (
            f"Serving{which} at {self.base_url} · {count(self.invites_open, 'invite')} open · "
            f"{count(len(self.arrivals), 'arrival')} today"
        )

    # -- changes, from any thread ------------------------------------------------------------------
    def _changed(self, ops: list[Any]) -> None:
        # Runs on whichever thread committed (the phone pages write from worker threads), after the
        # study's lock is let go; never wait for the app's thread here.
        arrivals = arrivals_in(ops)
        invites_changed = any(table == "invites" for table, _row, _doc in ops)
        if not arrivals and not invites_changed:
            return
        if self.app.ui_thread == threading.get_ident():
            self._took(arrivals, invites_changed)
        else:
            self.app.call_later(self._took, arrivals, invites_changed)

    def _took(self, arrivals: list[Arrival], invites_changed: bool) -> None:
        if not self.running:
            return
        today = date.today()
        if today != self.day:  # past midnight: yesterday's arrivals no longer count
            self.day = today
            self.arrivals = [a for a in self.arrivals if local_day(a.at) == today]
        self.arrivals.extend(arrivals)
        if invites_changed or arrivals:
            self._count_invites()
        self._show()

    def _count_invites(self) -> None:
        # start-up time: the invites load the record models, which the app's first screen does without
        from ..services.invites import invite_rows

        if self.study_id in self.app._studies:
            self.invites_open = sum(1 for row in invite_rows(self.app.study(self.study_id)) if row.is_open)

    def _show(self) -> None:
        self.app.serving_line = self.line()
