"""One dialog for every small form: entries, a refusal beside each entry, Save and Cancel.

The dialog hands what was typed to a service call; when the service refuses, its plain
messages are shown beside the entries they are about and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from ...services import Refused, ServiceError
from ..text import plain
from ..widgets.tick_box import TickBox
from .base import Dialog


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


class FormDialog(Dialog[Any]):
    """A form in a box; ``submit(values)`` does the work and its result is the dialog's answer."""

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
        self.SAVE_LABEL = save_label
        self.intro_text = intro

    def heading(self) -> str:
        return self.title_text

    def intro(self) -> str:
        return self.intro_text

    def body(self) -> ComposeResult:
        shown_errors: set[str] = set()
        for e in self.entries:
            with Vertical(classes="entry"):  # a box with its label, hint and message, scrolled into view together
                if e.kind == "check":
                    yield TickBox(e.label, value=bool(e.value), id=f"f-{e.name}", compact=True)
                else:
                    yield Label(e.label, classes="entry-label")
                    yield self.entry_box(e)
                if e.hint:
                    yield Static(plain(e.hint), classes="hint")
                if e.error_key not in shown_errors:
                    shown_errors.add(e.error_key)
                    yield self.error_slot(e.error_key)

    @staticmethod
    def entry_box(e: Entry) -> Widget:
        if e.kind == "text":
            return TextArea(
                str(e.value or ""),
                id=f"f-{e.name}",
                classes="entry-text",
                soft_wrap=True,
                show_line_numbers=False,
                tab_behavior="focus",
                compact=True,
            )
        if e.kind == "select":
            return Select(
                [(label, value) for value, label in e.options], value=e.value, allow_blank=False, id=f"f-{e.name}", compact=True
            )
        return Input(str(e.value if e.value is not None else ""), placeholder=e.placeholder, id=f"f-{e.name}", compact=True)

    def first_focus(self) -> Optional[Widget]:
        return self.query_one(f"#f-{self.entries[0].name}") if self.entries else None

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
