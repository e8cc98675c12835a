"""The form builder's field editor: every setting of a field, refusals beside each entry."""

from __future__ import annotations

from typing import Any, Optional

from textual import on
from textual.css.query import NoMatches
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from ...domain.design import choices_as_text
from ...domain.models import CHOICE_TYPES, FIELD_TYPE_NAMES, FieldType, FormField
from ...services import ServiceError
from ...services.design import check_field
from ..preview import form_preview
from ..text import plain
from .form import Entry, FormDialog

TYPE_OPTIONS = [(t.value, f"{FIELD_TYPE_NAMES[t]} ({t.value})") for t in FieldType]
CHOICES_FOR = " and ".join(FIELD_TYPE_NAMES[t] for t in FieldType if t in CHOICE_TYPES)  # every type with choices


def _bound(value: Optional[float]) -> str:
    return "" if value is None else f"{value:g}"


def field_entries(field: Optional[FormField], languages: list[str]) -> list[Entry]:
    many = len(languages) > 1
    entries = []
    for lang in languages:
        entries.append(
            Entry(
                f"label_{lang}",
                f"Question ({lang})" if many else "Question (what the volunteer reads)",
                value=field.label.get(lang, "") if field else "",
                error_name="label",
            )
        )
    entries += [
        Entry(
            "type",
            "Type of answer",
            kind="select",
            value=field.type.value if field else FieldType.text.value,
            options=TYPE_OPTIONS,
        ),
        Entry(
            "key",
            "Key (a short code for the data; left empty, it is made from the question)",
            value=field.key if field else "",
            placeholder="e.g. walk_date",
        ),
        Entry("required", "An answer is required", kind="check", value=field.required if field else False),
    ]
    for lang in languages:
        entries.append(
            Entry(
                f"help_{lang}",
                f"Help ({lang})" if many else "Help (optional)",
                value=field.help.get(lang, "") if field else "",
                error_name="help",
            )
        )
    entries += [
        Entry(
            "choices",
            f"Choices ({CHOICES_FOR} fields only)",
            kind="text",
            value=choices_as_text(field, languages) if field else "",
            hint="One per line: a label, or 'code | label'" + (" | label in the next language" if many else ""),
        ),
        Entry("min", "Lowest value (or shortest text)", value=_bound(field.min) if field else "", placeholder="none"),
        Entry("max", "Highest value (or longest text)", value=_bound(field.max) if field else "", placeholder="none"),
        Entry(
            "identifying",
            "This answer could identify a person (kept out of default exports)",
            kind="check",
            value=field.identifying if field else False,
        ),
    ]
    return entries


def field_values(values: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """What the dialog collected, in the shape the form builder's service takes."""
    return {
        "key": values.get("key", ""),
        "type": values.get("type"),
        "required": values.get("required", False),
        "identifying": values.get("identifying", False),
        "label": {lang: values.get(f"label_{lang}", "") for lang in languages},
        "help": {lang: values.get(f"help_{lang}", "") for lang in languages},
        "choices": values.get("choices", ""),
        "min": values.get("min", ""),
        "max": values.get("max", ""),
    }


class FieldDialog(FormDialog):
    """The field editor, with the field shown as the volunteer will see it while it is typed."""

    def __init__(self, field: Optional[FormField], languages: list[str], save):
        super().__init__(
            "Change the field" if field else "Add a field",
            field_entries(field, languages),
            lambda values: save(field_values(values, languages)),
            dialog_id="field-dialog",
        )
        self.languages = languages

    def on_mount(self) -> None:
        super().on_mount()
        box = Static("", id="field-preview")
        box.border_title = "Preview"
        self.query_one(".dialog").mount(box, before=self.query_one(".dialog-buttons"))
        self.update_preview()

    def update_preview(self) -> None:
        try:
            preview = self.query_one("#field-preview", Static)
        except NoMatches:
            return
        try:
            field = check_field(field_values(self.values(), self.languages), self.languages)
        except ServiceError as exc:
            errors = getattr(exc, "errors", {}) or {}
            preview.update(plain("Not yet a working field: " + (next(iter(errors.values()), "") or str(exc))))
            self.call_after_refresh(self.fit_body)
            return
        text = form_preview([field], self.languages[0])
        text.right_crop(len("\n[ Send ]"))
        text.rstrip()
        preview.update(text)
        self.call_after_refresh(self.fit_body)  # the preview grew or shrank: the body has what is left

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    def _typed(self) -> None:
        self.update_preview()
