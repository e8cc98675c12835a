"""The study's form and consent items as the phone pages show them, and answers read back from a post.

Only shaping happens here: every answer is validated by the services (``validate_values`` through
``add_contribution`` and ``correct_contribution``, ``decide_consent`` through the consent services).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from ..domain.models import ConsentDocument, FieldType, FormField, pick
from ..domain.rules import LONG_TEXT_MAX, PLACE_MAX, TEXT_MAX

INPUT_TYPES = {
    FieldType.text: ("text", None),
    FieldType.place: ("text", None),
    FieldType.integer: ("text", "numeric"),
    FieldType.decimal: ("text", "decimal"),
    FieldType.date: ("date", None),
    FieldType.time: ("time", None),
}
GROUPED = {FieldType.single_choice, FieldType.multiple_choice, FieldType.yes_no, FieldType.rating}


@dataclass
class FieldView:
    key: str
    kind: str  # "input", "textarea", "radio" or "checkbox"
    label: str
    help: str = ""
    required: bool = False
    input_type: str = "text"
    inputmode: Optional[str] = None
    maxlength: Optional[int] = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    error: str = ""

    @property
    def grouped(self) -> bool:
        return self.kind in ("radio", "checkbox")

    def checked(self, code: str) -> bool:
        if isinstance(self.value, list):
            return code in self.value
        return self.value == code


def _shown(f: FormField, value: Any) -> Any:
    """A stored or posted value as the form shows it again."""
    if value is None:
        return [] if f.type is FieldType.multiple_choice else ""
    if f.type is FieldType.multiple_choice:
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if f.type is FieldType.yes_no and isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_views(
    fields: list[FormField],
    language: str,
    gettext,
    values: Optional[Mapping[str, Any]] = None,
    errors: Optional[Mapping[str, str]] = None,
) -> list[FieldView]:
    values = values or {}
    errors = errors or {}
    views = []
    for f in fields:
        view = FieldView(
            key=f.key,
            kind="input",
            label=f.text(language),
            help=pick(f.help, language),
            required=f.required,
            value=_shown(f, values.get(f.key)),
            error=errors.get(f.key, ""),
        )
        if f.type is FieldType.long_text:
            view.kind = "textarea"
            view.maxlength = min(LONG_TEXT_MAX, int(f.max)) if f.max is not None else None
        elif f.type in INPUT_TYPES:
            view.input_type, view.inputmode = INPUT_TYPES[f.type]
            if f.type in (FieldType.text, FieldType.place):
                limit = TEXT_MAX if f.type is FieldType.text else PLACE_MAX
                view.maxlength = min(limit, int(f.max)) if f.max is not None else limit
        elif f.type is FieldType.single_choice:
            view.kind = "radio"
            view.choices = [(c.value, pick(c.label, language)) for c in f.choices]
        elif f.type is FieldType.multiple_choice:
            view.kind = "checkbox"
            view.choices = [(c.value, pick(c.label, language)) for c in f.choices]
        elif f.type is FieldType.yes_no:
            view.kind = "radio"
            view.choices = [("yes", gettext("Yes")), ("no", gettext("No"))]
        elif f.type is FieldType.rating:
            view.kind = "radio"
            view.choices = [(str(n), str(n)) for n in range(1, 6)]
        views.append(view)
    return views


def posted_values(fields: list[FormField], form: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to the form's own questions in a post (anything else in it is ignored)."""
    raw: dict[str, Any] = {}
    for f in fields:
        if f.type is FieldType.multiple_choice:
            raw[f.key] = [v for v in form.getall(f.key, []) if isinstance(v, str)]  # type: ignore[attr-defined]
        else:
            value = form.get(f.key)
            raw[f.key] = value if isinstance(value, str) else None
    return raw


@dataclass
class ConsentItemView:
    id: str
    text: str
    required: bool
    answer: Optional[str] = None  # "yes", "no" or None: nothing is chosen for the person
    error: str = ""


def consent_views(
    document: ConsentDocument,
    language: str,
    answers: Optional[Mapping[str, Optional[bool]]] = None,
    errors: Optional[Mapping[str, str]] = None,
    only_optional: bool = False,
) -> list[ConsentItemView]:
    answers = answers or {}
    errors = errors or {}
    views = []
    for item in document.items:
        if only_optional and item.required:
            continue
        answer = answers.get(item.id)
        views.append(
            ConsentItemView(
                id=item.id,
                text=pick(item.text, language),
                required=item.required,
                answer=None if answer is None else ("yes" if answer else "no"),
                error=errors.get(item.id, ""),
            )
        )
    return views


def posted_answers(document: ConsentDocument, form: Mapping[str, Any]) -> dict[str, Optional[bool]]:
    """Each consent item's answer: yes, no, or None when the person left it open."""
    answers: dict[str, Optional[bool]] = {}
    for item in document.items:
        value = form.get("consent_" + item.id)
        answers[item.id] = True if value == "yes" else False if value == "no" else None
    return answers


def display_value(f: Optional[FormField], value: Any, language: str, gettext) -> str:
    """A stored answer in words, for the contributor's list of what they sent."""
    if value is None or value == "" or value == []:
        return ""
    if f is None:
        return str(value)
    labels = {c.value: pick(c.label, language) for c in f.choices}
    if isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return labels.get(str(value), str(value))
