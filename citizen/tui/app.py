"""The terminal app: the main door for coordinators and community researchers."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme

from ..store import DataFolder, StoreError
from ..store.crash_log import write_crash_log
from .screens.studies import StudiesScreen
from .serving import PhoneServing

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from ..services.common import Study

HIGH_CONTRAST = Theme(
    name="citizen-high-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#ffff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#000000",
    boost="#1a1a1a",
    warning="#ffaf00",
    error="#ff5f5f",
    success="#5fff5f",
    dark=True,
    text_alpha=1.0,
    luminosity_spread=0.0,
)


class CitizenApp(App[int]):
    """Opens on the studies list; every study screen is pushed from there."""

    CSS_PATH = "app.tcss"
    TITLE = "citizen"
    SUB_TITLE = "co-produced health studies"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f2", "your_name", "Your name"),
        Binding("f3", "toggle_contrast", "High contrast"),
        Binding("question_mark", "keys", "Keys"),
    ]
    serving_line: reactive[str] = reactive("")  # what the header line under each screen's title says while serving

    def __init__(self, data: DataFolder, study_id: Optional[str] = None, actor: Optional[str] = None):
        super().__init__()
        self.data = data
        self.actor = actor or "coordinator"
        self.actor_named = bool(actor)  # asked once per session, before the first change
        self.start_study = study_id
        self._studies: dict[str, Study] = {}
        self.register_theme(HIGH_CONTRAST)
        self._normal_theme = self.theme
        self.crash_message = ""
        self.served_on: Optional[tuple[str, str]] = None  # host and port the Enrolment screen served on last
        self.ui_thread = 0  # the thread the app runs on, known from its first event (see live.on_ui_thread)
        self.serving = PhoneServing(self)  # the phone pages: the app's, whatever screen is open

    def _handle_exception(self, error: Exception) -> None:
        # An unexpected failure (a worker, a handler): the details go to the data folder's log and
        # the person gets one plain line once the terminal is restored; the app stops with code 1.
        from textual.worker import WorkerFailed

        if not self.crash_message:
            cause = error.error if isinstance(error, WorkerFailed) and isinstance(error.error, Exception) else error
            log = write_crash_log(self.data.path, cause)
            self.crash_message = f"citizen: something went wrong ({type(cause).__name__}: {cause}). Details: {log}"
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        from rich.text import Text  # lazy: only on a crash (start-up time)

        self.bell()
        self._exit_renderables.append(Text(self.crash_message or "citizen: something went wrong."))
        self._close_messages_no_wait()

    def notify(
        self,
        message: object,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: Optional[float] = None,
        markup: bool = False,
    ) -> None:
        """Every notice is shown as written: a label, a title or an error that holds '[' (typed by a
        person) is never read as markup, so '[/x]' shows as '[/x]' instead of stopping the app."""
        super().notify(str(message), title=str(title), severity=severity, timeout=timeout, markup=False)

    def study(self, study_id: str) -> Study:
        """One handle per study for the app's life, so listeners and caches are shared."""
        if study_id not in self._studies:
            from ..services import open_study  # the record models load with the first study opened

            study = self._studies[study_id] = open_study(self.data, study_id)
            for notice in study.notices:  # what opening it changed (older data brought up to date)
                self.notify(notice, timeout=20)
        return self._studies[study_id]

    async def action_quit(self) -> None:
        """Quit; while phones are served, ask first (Escape keeps serving)."""
        if not self.serving.running:
            self.exit()
            return
        from .dialogs.confirm import ConfirmDialog  # lazy: loads when first asked for (start-up time)

        if isinstance(self.screen, ConfirmDialog) and self.screen.id == "quit-dialog":
            return  # asked already

        async def answered(yes: Optional[bool]) -> None:
            if yes:
                await self.serving.stop()
                self.exit()

        dialog = ConfirmDialog(
            f"Phones are being served at {self.serving.base_url}. Stop serving them and quit?", yes="Stop serving and quit"
        )
        dialog.id = "quit-dialog"
        self.push_screen(dialog, answered)

    async def on_unmount(self) -> None:
        await self.serving.stop(show=False)  # however the app ends, the port is let go

    def action_toggle_contrast(self) -> None:
        """White on black with yellow highlights, for bright rooms and low vision."""
        self.theme = self._normal_theme if self.theme == HIGH_CONTRAST.name else HIGH_CONTRAST.name

    def action_keys(self) -> None:
        """Every key of the screen in view (`?`), whatever the footer has room for."""
        from .keys import KeysScreen  # lazy: the screen loads when first asked for (start-up time)

        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.screen))

    def action_your_name(self) -> None:
        from .acting import ask_name  # lazy: loads when first asked for (start-up time)

        ask_name(self)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every binding of the screen in view, so each action has an entry."""
        yield from super().get_system_commands(screen)
        seen = set()
        for key, (node, binding, enabled, _tooltip) in screen.active_bindings.items():
            if not binding.show or not binding.description or not enabled or binding.description in seen:
                continue
            if node is self and binding.action == "quit":
                continue
            seen.add(binding.description)
            yield SystemCommand(
                binding.description,
                f"key: {binding.key_display or key}",
                lambda n=node, a=binding.action: self.call_later(n.run_action, a),
            )

    def on_load(self) -> None:
        self.ui_thread = threading.get_ident()

    def get_default_screen(self) -> Screen:
        return StudiesScreen()  # the first screen itself, not a blank one beneath it

    def on_mount(self) -> None:
        if self.start_study:
            from .screens.overview import StudyOverviewScreen  # lazy: a study's screens load when one opens

            self.push_screen(StudyOverviewScreen(self.start_study))


def make_app(data_path: Path, study_id: Optional[str] = None, actor: Optional[str] = None) -> CitizenApp:
    """The app on a data folder (the command line and the tests both build it here)."""
    return CitizenApp(DataFolder(data_path), study_id=study_id, actor=actor)


def run_app(data_path: Path, study_id: Optional[str] = None, actor: Optional[str] = None) -> int:
    from ..services import notices  # lazy: the services load after the first screen (start-up time)

    notices.say_notice = None  # the app shows them itself: nothing is printed over its screen
    try:
        app = make_app(data_path, study_id, actor)
    except StoreError as exc:
        print(f"citizen: {exc}", file=sys.stderr)
        return 1
    try:
        result = app.run()
    finally:
        app.data.close()
    return app.return_code or int(result or 0)  # a crash ends with code 1, after its plain line
