"""The one yes/no question of the app ("Remove the field ...?", "Discard this draft?", ...).

It opens in the middle of the screen in a warning frame, with its keys written under the question.
It takes only its own keys: y answers yes; n and Escape answer no; Tab, the arrows and Enter work its
two buttons (the focus starts on the safe answer). A key typed before it opened is never taken as the
answer (it was meant for what was on the screen then), and any other key closes the question
unanswered (nothing is done) and goes on to the screen beneath, as if no question had been asked.
"""

from __future__ import annotations

import sys
import time

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from ..text import plain

# The clock Textual stamps each event with (time.monotonic; perf_counter on Windows).
get_time = time.perf_counter if sys.platform == "win32" else time.monotonic
BUTTON_KEYS = {"enter", "tab", "shift+tab", "left", "right"}


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; answers True only on an explicit yes."""

    # y, n and Escape are read in on_key, not bound: a binding answers any key that reaches the app
    # while the question is open, even one typed before it and handed to the screen beneath ("x" then
    # "y" typed together removed the field unasked). Only keys that pass through the question answer it.
    BINDINGS = [
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]
    AUTO_FOCUS = "#no"  # Enter on a question just opened keeps things as they are

    def __init__(self, question: str, yes: str = "Yes", no: str = "No"):
        super().__init__(classes="confirm-screen")
        self.question = question
        self.yes = yes
        self.no = no
        self.opened_at = get_time()  # renewed when it shows; a key from before then is not an answer

    def compose(self) -> ComposeResult:
        with Vertical(classes="confirm"):
            yield Static(plain(self.question), classes="confirm-question")
            yield Static(plain(f"y: {self.yes}    n or Escape: {self.no}"), classes="hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="warning", id="yes", compact=True)
                yield Button(self.no, id="no", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.opened_at = get_time()

    def on_key(self, event: events.Key) -> None:
        if event.key in BUTTON_KEYS and event.time >= self.opened_at:
            return  # Tab, the arrows and Enter work the buttons
        event.stop()
        event.prevent_default()
        if event.time < self.opened_at:  # typed before the question showed: not its answer
            return
        if event.key == "y":
            self.dismiss(True)
        elif event.key in ("n", "escape"):
            self.dismiss(False)
        else:  # meant for something else: no answer, and the key goes on to the screen beneath
            self.dismiss(False)
            self.app.post_message(events.Key(event.key, event.character))

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
