"""What every form dialog shares: a scrollable body, a message per field, Save and Cancel."""

from __future__ import annotations

from typing import Any, Optional, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from ..text import plain

T = TypeVar("T")

# Tab and Shift+Tab move on as soon as they arrive. Unbound, a key climbs from the focused box through
# each container to the screen before it moves the focus, and the boxes' change handlers (a preview
# redrawn per key) run on that way; letters typed straight after a Tab overtook it and landed in the
# box just left ("Abc", Tab, "Xyz" gave "AbcXyz"). Bound with priority, the app moves the focus before
# it hands on the next key.
FOCUS_KEYS = [
    Binding("tab", "app.focus_next", "Next box", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous box", show=False, priority=True),
]


class DeskDialog(ModalScreen[T]):
    """A modal form: ``ctrl+s`` saves, ``escape`` cancels; refusals show beside their field."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
        *FOCUS_KEYS,
    ]
    TITLE_TEXT = ""
    SAVE_LABEL = "Save"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.heading()), classes="dialog-title")
            yield Static("", id="dialog-problem", classes="problem")
            with VerticalScroll(classes="dialog-body") as body:
                body.can_focus = False  # Tab goes from field to field; the body follows the focus
                yield from self.body()
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.SAVE_LABEL, id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    def heading(self) -> str:
        return self.TITLE_TEXT

    def body(self) -> ComposeResult:  # pragma: no cover - every dialog has its own
        yield from ()

    @staticmethod
    def error_slot(key: str) -> Static:
        return Static("", id=f"error-{key}", classes="field-error")

    def show_errors(self, message: str, errors: Optional[dict[str, str]] = None) -> None:
        """The overall message on top and each field's message beside its field."""
        errors = errors or {}
        for slot in self.query(".field-error"):
            slot.update("")
            slot.remove_class("-shown")
        unplaced = []
        for key, text in errors.items():
            found = self.query(f"#error-{key}")
            if found:
                slot = found.first(Static)
                slot.update(plain(text))
                slot.add_class("-shown")
            else:
                unplaced.append(text)
        self.query_one("#dialog-problem", Static).update(plain("\n".join([message, *unplaced]) if message else ""))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:  # pragma: no cover - every dialog has its own
        raise NotImplementedError

    @property
    def actor(self) -> Any:
        return getattr(self.app, "actor", "coordinator")
