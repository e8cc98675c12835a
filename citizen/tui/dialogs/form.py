"""One dialog for every small form: entries, a refusal beside each entry, Save and Cancel.

The dialog hands what was typed to a service call; when the service refuses, its plain
messages are shown beside the entries they are about and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from ...services import Refused, ServiceError
from ..text import plain
from ..widgets.tick_box import TickBox
from .base import FOCUS_KEYS


@dataclass
class Entry:
    """One entry of a form: ``kind`` is input, text (several lines), select or check."""

    name: str
    label: str
    kind: str = "input"
    value: Any = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    placeholder: str = ""
    hint: str = ""
    error_name: str = ""  # the refusal key shown under this entry (default: name)

    @property
    def error_key(self) -> str:
        return self.error_name or self.name


class FormDialog(ModalScreen[Any]):
    """A form in a box; ``submit(values)`` does the work and its result is the dialog's answer."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
        *FOCUS_KEYS,
    ]
    AUTO_FOCUS = None

    def __init__(
        self,
        title: str,
        entries: list[Entry],
        submit: Callable[[dict[str, Any]], Any],
        save_label: str = "Save",
        intro: str = "",
        dialog_id: str = "form-dialog",
    ):
        super().__init__(id=dialog_id)
        self.title_text = title
        self.entries = entries
        self.submit = submit
        self.save_label = save_label
        self.intro = intro

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.title_text), classes="dialog-title")
            if self.intro:
                yield Static(plain(self.intro), classes="hint")
            with VerticalScroll(classes="dialog-body"):
                shown_errors: set[str] = set()
                for e in self.entries:
                    if e.kind == "check":
                        yield TickBox(e.label, value=bool(e.value), id=f"f-{e.name}")
                    else:
                        yield Label(e.label, classes="entry-label")
                        if e.kind == "text":
                            area = TextArea(
                                str(e.value or ""),
                                id=f"f-{e.name}",
                                classes="entry-text",
                                soft_wrap=True,
                                show_line_numbers=False,
                                tab_behavior="focus",
                            )
                            yield area
                        elif e.kind == "select":
                            yield Select(
                                [(label, value) for value, label in e.options], value=e.value, allow_blank=False, id=f"f-{e.name}"
                            )
                        else:
                            yield Input(str(e.value if e.value is not None else ""), placeholder=e.placeholder, id=f"f-{e.name}")
                    if e.hint:
                        yield Static(plain(e.hint), classes="hint")
                    if e.error_key not in shown_errors:
                        shown_errors.add(e.error_key)
                        yield Static("", id=f"err-{e.error_key}", classes="error")
                yield Static("", id="err-_", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.save_label, variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        # Focus now, not later: keys typed the moment the dialog shows must land in its first entry.
        self.query_one(".dialog-body").can_focus = False
        for area in self.query(TextArea):  # typing goes after the existing text, not in front of it
            area.move_cursor(area.document.end)
        if self.entries:
            self.set_focus(self.query_one(f"#f-{self.entries[0].name}"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for e in self.entries:
            widget = self.query_one(f"#f-{e.name}")
            if isinstance(widget, TextArea):
                out[e.name] = widget.text
            elif isinstance(widget, (Input, Checkbox)):
                out[e.name] = widget.value
            elif isinstance(widget, Select):
                out[e.name] = widget.value
        return out

    def show_errors(self, message: str, errors: dict[str, str]) -> None:
        names = {e.error_key for e in self.entries}
        for err in self.query(".error").results(Static):
            err.update("")
            err.display = False
        unplaced = []
        for key, text in errors.items():
            if key in names:
                err = self.query_one(f"#err-{key}", Static)
                err.update(plain(text))
                err.display = True
            else:
                unplaced.append(text)
        general = " ".join(unplaced) or (message if not errors else "")
        err = self.query_one("#err-_", Static)
        err.update(plain(general))
        err.display = bool(general)
        first = next((k for k in errors if k in names), None)
        if first is not None:
            target = next(e for e in self.entries if e.error_key == first)
            self.query_one(f"#f-{target.name}").focus()
            self.call_after_refresh(self.query_one(f"#err-{first}").scroll_visible)

    def action_save(self) -> None:
        try:
            result = self.submit(self.values())
        except Refused as exc:
            self.show_errors(str(exc), exc.errors)
            return
        except ServiceError as exc:
            self.show_errors(str(exc), {})
            return
        self.dismiss(result if result is not None else True)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; answers True only on an explicit yes."""

    BINDINGS = [Binding("escape", "no", "No"), Binding("y", "yes", "Yes")]

    def __init__(self, question: str, yes: str = "Yes"):
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.question), classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="warning", id="yes")
                yield Button("No", id="no")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
