"""A paper form entered at the desk, with the current protocol version's questions."""

from __future__ import annotations

from typing import Any, Optional

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Label, Select, SelectionList, Static, TextArea

from ...domain.models import Contribution, ContributionSource, FieldType, FormField, pick
from ...services import NotFound, Refused, ServiceError, add_contribution
from ...services.browse import participant_by_code
from ...services.common import Study
from ..text import plain
from ..widgets.tick_box import TickList
from .base import Dialog

PLACEHOLDERS = {
    FieldType.integer: "a whole number",
    FieldType.decimal: "a number, like 3.5",
    FieldType.date: "year-month-day, like 2026-05-31",
    FieldType.time: "hours:minutes, like 14:30",
}


def field_widget(f: FormField, language: str) -> Widget:
    """One input per question, chosen by its type."""
    wid = f"field-{f.key}"
    if f.type is FieldType.long_text:
        return TextArea(id=wid, classes="long-answer", soft_wrap=True, compact=True)
    if f.type is FieldType.single_choice:
        return Select([(pick(c.label, language), c.value) for c in f.choices], id=wid, prompt="choose one", compact=True)
    if f.type is FieldType.multiple_choice:
        return TickList(*[(pick(c.label, language), c.value) for c in f.choices], id=wid, classes="choices", compact=True)
    if f.type is FieldType.yes_no:
        return Select([("Yes", "yes"), ("No", "no")], id=wid, prompt="yes or no", compact=True)
    if f.type is FieldType.rating:
        return Select([(str(i), str(i)) for i in range(1, 6)], id=wid, prompt="1 to 5", compact=True)
    return Input(id=wid, placeholder=PLACEHOLDERS.get(f.type, ""), compact=True)


def field_value(widget: Widget) -> Any:
    """What was entered, as the services expect it (empty when nothing was)."""
    if isinstance(widget, TextArea):
        return widget.text
    if isinstance(widget, Select):
        return "" if widget.value is Select.NULL else widget.value
    if isinstance(widget, SelectionList):
        return list(widget.selected)
    if isinstance(widget, Input):
        return widget.value
    return ""  # pragma: no cover - every widget above


class ContributionDialog(Dialog[Optional[Contribution]]):
    """Enter a contribution brought in on paper; each answer checked, consent checked first."""

    SAVE_LABEL = "Save contribution"

    def __init__(self, study: Study, code: str = ""):
        super().__init__()
        self.study = study
        self.code = code
        self.protocol = study.repo.current_protocol()
        self.language = study.repo.study().main_language

    def heading(self) -> str:
        version = f" (form version {self.protocol.number})" if self.protocol else ""
        return f"Enter a paper form{version}"

    def body(self) -> ComposeResult:
        yield Label("Participant code")
        yield Input(value=self.code, id="participant-code", placeholder="like AB-C3D4", compact=True)
        yield self.error_slot("participant")
        if self.protocol is None:
            yield Static("This study has no published protocol yet.", classes="problem")
            return
        for f in self.protocol.fields:
            yield Label(plain(f.text(self.language) + (" *" if f.required else "")))
            if f.help:
                yield Static(plain(pick(f.help, self.language)), classes="hint")
            yield field_widget(f, self.language)
            yield self.error_slot(f.key)

    def first_focus(self) -> Widget:
        if self.code and self.protocol is not None:  # the participant is known: straight to the first answer
            return self.query_one(f"#field-{self.protocol.fields[0].key}")
        return self.query_one("#participant-code", Input)

    def values(self) -> dict[str, Any]:
        assert self.protocol is not None
        return {f.key: field_value(self.query_one(f"#field-{f.key}")) for f in self.protocol.fields}

    def action_save(self) -> None:
        if self.protocol is None:
            self.show_errors("This study has no published protocol yet.")
            return
        try:
            participant = participant_by_code(self.study, self.query_one("#participant-code", Input).value)
        except NotFound as exc:
            self.show_errors("Check the participant code.", {"participant": str(exc)})
            return
        try:
            contribution = add_contribution(self.study, participant.id, self.values(), ContributionSource.desk, self.actor)
        except Refused as exc:
            self.show_errors(str(exc), exc.errors)
            return
        except ServiceError as exc:
            self.show_errors(str(exc))
            return
        self.dismiss(contribution)
