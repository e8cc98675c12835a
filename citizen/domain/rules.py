"""Pure rules that span records: consent state, value validation, what a contribution needs."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any, Optional, Union

from .contribution import REPLY_MAX
from .models import (
    ConsentDocument,
    ConsentEvent,
    ConsentItem,
    ConsentKind,
    ConsentRole,
    FieldType,
    FormField,
    ProtocolVersion,
    pick,
)
from .words import Said

TEXT_MAX = 500
LONG_TEXT_MAX = 20_000
PLACE_MAX = 200


Documents = Union[ConsentDocument, Mapping[int, ConsentDocument]]

# What a study whose consent document has no item with a role means for that role.
ROLE_ABSENT = {
    ConsentRole.take_part: False,
    ConsentRole.share_partners: False,  # nobody agreed to sharing: nothing goes to partners
    ConsentRole.quote_words: True,  # nobody was asked: free-text answers are exported
    ConsentRole.contact_later: False,  # nobody was asked: no contact is ever exported
    ConsentRole.plain: False,
}


def _document_of(documents: Documents, version: Optional[int]) -> Optional[ConsentDocument]:
    if isinstance(documents, ConsentDocument):
        return documents if version == documents.version else None
    return documents.get(version) if version is not None else None


@dataclass(frozen=True)
class ConsentState:
    """Where a participant stands, folded from their consent events (never stored)."""

    enrolled: bool = False
    document_version: Optional[int] = None
    granted: frozenset[str] = frozenset()
    declined: frozenset[str] = frozenset()
    withdrawn: bool = False
    remove_data: bool = False
    language: str = "en"
    events: int = 0

    def needs_reconsent(self, current: ConsentDocument) -> bool:
        return self.enrolled and not self.withdrawn and self.document_version != current.version

    def covers(self, current: ConsentDocument) -> bool:
        """True when this consent lets the participant contribute under the current document."""
        return (
            self.enrolled
            and not self.withdrawn
            and self.document_version == current.version
            and current.required_ids <= self.granted
        )

    def allows(self, item_id: str) -> bool:
        return item_id in self.granted and not self.withdrawn

    def item_in_force(self, role: ConsentRole, documents: Documents) -> Optional[ConsentItem]:
        """The item with this role in the consent document this participant last agreed to."""
        document = _document_of(documents, self.document_version)
        return document.item_for(role) if document is not None else None

    def allows_role(self, role: ConsentRole, documents: Documents, absent: Optional[bool] = None) -> bool:
        """Whether this participant allows what ``role`` stands for, asked by role, never by id.

        The item is looked up in the document the participant agreed to (``documents``: one
        document, or the study's documents by version). When that document has no item with the
        role, the answer is ``absent`` (default ``ROLE_ABSENT``): a study without a quoting item
        exports free text, one without a contact item never gives out contacts, one without a
        sharing item shares nothing with partners. A withdrawn participant allows nothing that has
        an item.
        """
        if not self.enrolled:
            return False
        item = self.item_in_force(role, documents)
        if item is None:
            return ROLE_ABSENT[role] if absent is None else absent
        return self.allows(item.id)

    @property
    def status(self) -> str:
        if not self.enrolled:
            return "not enrolled"
        if self.withdrawn:
            return "withdrawn (data removed)" if self.remove_data else "withdrawn"
        return "active"


def fold_consent(events: Iterable[ConsentEvent]) -> ConsentState:
    """Fold a participant's consent events, oldest first, into their present state."""
    state = ConsentState()
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        if event.kind is ConsentKind.withdraw:
            state = ConsentState(
                enrolled=state.enrolled,
                document_version=state.document_version,
                granted=frozenset(),
                declined=state.granted | state.declined,
                withdrawn=True,
                remove_data=state.remove_data or event.remove_data,
                language=state.language,
                events=state.events + 1,
            )
            continue
        if state.withdrawn:
            # Nothing undoes a withdrawal; a later event is kept in the log but changes nothing.
            state = ConsentState(**{**state.__dict__, "events": state.events + 1})
            continue
        state = ConsentState(
            enrolled=True,
            document_version=event.document_version,
            granted=frozenset(event.granted),
            declined=frozenset(event.declined),
            withdrawn=False,
            remove_data=False,
            language=event.language,
            events=state.events + 1,
        )
    return state


@dataclass
class ConsentDecision:
    """What a person decided on each item of a consent document, checked against it."""

    granted: list[str] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)


def decide_consent(document: ConsentDocument, answers: Mapping[str, Optional[bool]]) -> tuple[ConsentDecision, dict[str, str]]:
    """Check a person's answers to each consent item; nothing is assumed for an item left open.

    Returns the decision and, per item, a plain-language reason it cannot be accepted.
    """
    errors: dict[str, str] = {}
    decision = ConsentDecision()
    unknown = set(answers) - set(document.item_ids)
    for item_id in sorted(unknown):
        errors[item_id] = Said("This item is not part of the consent document.")
    for item in document.items:
        answer = answers.get(item.id)
        if answer is not True and answer is not False:  # only a clear yes or no is a decision
            errors[item.id] = Said("Please choose yes or no for this item.")
        elif answer:
            decision.granted.append(item.id)
        else:
            decision.declined.append(item.id)
            if item.required:
                errors[item.id] = Said("Taking part needs a yes here. You can stop at any time later.")
    return decision, errors


def consent_changes(old: ConsentDocument, new: ConsentDocument, language: str) -> dict[str, list[str]]:
    """What changed between two consent documents, as re-consent shows it."""
    old_items = {i.id: i for i in old.items}
    new_items = {i.id: i for i in new.items}
    added = [pick(new_items[i].text, language) for i in new_items if i not in old_items]
    removed = [pick(old_items[i].text, language) for i in old_items if i not in new_items]
    reworded = [
        pick(new_items[i].text, language)
        for i in new_items
        if i in old_items
        and (
            new_items[i].text != old_items[i].text
            or new_items[i].required != old_items[i].required
            or new_items[i].role != old_items[i].role
        )
    ]
    text_changed = old.text != new.text
    return {
        "added": added,
        "removed": removed,
        "reworded": reworded,
        "text": [pick(new.text, language)] if text_changed else [],
    }


def protocol_changes(old: Optional[ProtocolVersion], new: ProtocolVersion) -> dict[str, list[str]]:
    """Fields added, removed and relabelled, and consent items changed, between two versions."""
    if old is None:
        return {"added": [f.key for f in new.fields], "removed": [], "relabelled": [], "changed": [], "consent": []}
    old_f = {f.key: f for f in old.fields}
    new_f = {f.key: f for f in new.fields}
    changed = [
        k for k in new_f if k in old_f and new_f[k].model_dump(exclude={"label"}) != old_f[k].model_dump(exclude={"label"})
    ]
    consent = []
    if old.consent.version != new.consent.version:
        diff = consent_changes(old.consent, new.consent, "en")
        consent = [f"{kind}: {text}" for kind, texts in diff.items() for text in texts]
    return {
        "added": [k for k in new_f if k not in old_f],
        "removed": [k for k in old_f if k not in new_f],
        "relabelled": [k for k in new_f if k in old_f and new_f[k].label != old_f[k].label],
        "changed": changed,
        "consent": consent,
    }


_INT = re.compile(r"^[+-]?\d{1,15}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
YES = {"yes", "y", "true", "1", "on"}
NO = {"no", "n", "false", "0", "off"}


def _as_text(raw: Any) -> Optional[str]:
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return str(raw).strip()


def _number_bounds(f: FormField, value: float, fmt: str) -> Optional[str]:
    if f.min is not None and value < f.min:
        return Said("Please enter %(n)s or more.", n=fmt.format(f.min))
    if f.max is not None and value > f.max:
        return Said("Please enter %(n)s or less.", n=fmt.format(f.max))
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a character: it cannot be written as UTF-8


Checked = tuple[Any, Optional[str]]


def _choices_value(f: FormField, raw: Any) -> Checked:
    if raw is None or raw == "":
        items: list[str] = []
    elif isinstance(raw, str):
        items = [p.strip() for p in raw.split(",") if p.strip()]
    elif isinstance(raw, (list, tuple)):
        items = [str(p).strip() for p in raw if str(p).strip()]
    else:
        return None, Said("Please pick from the choices shown.")
    codes = [c.value for c in f.choices]
    unknown = [i for i in items if i not in codes]
    if unknown:
        return None, Said("Please pick only from the choices shown.")
    if not items:
        return None, (Said("Please pick at least one.") if f.required else None)
    return [c for c in codes if c in items], None


def _text_value(f: FormField, text: str) -> Checked:
    limit = {FieldType.text: TEXT_MAX, FieldType.long_text: LONG_TEXT_MAX, FieldType.place: PLACE_MAX}[f.type]
    if f.max is not None:
        limit = min(limit, int(f.max))
    if len(text) > limit:
        return None, Said("Please keep this to %(limit)s characters or fewer (it has %(count)s).", limit=limit, count=len(text))
    if f.min is not None and len(text) < f.min:
        return None, Said("Please write at least %(n)s characters.", n=int(f.min))
    if "\x00" in text or (not text.isascii() and _SURROGATE.search(text)):
        return None, Said("This answer contains a character that cannot be kept.")
    return text, None


def _integer_value(f: FormField, text: str) -> Checked:
    if not _INT.match(text):
        return None, Said("Please enter a whole number, like 42.")
    value = int(text)
    return (None, msg) if (msg := _number_bounds(f, value, "{:g}")) else (value, None)


def _decimal_value(f: FormField, text: str) -> Checked:
    try:
        number = Decimal(text.replace(",", ".") if text.count(",") == 1 and "." not in text else text)
    except InvalidOperation:
        return None, Said("Please enter a number, like 3.5.")
    if not number.is_finite() or abs(number) > Decimal("1e15"):
        return None, Said("Please enter a number, like 3.5.")
    value_f = float(number)
    if math.isnan(value_f):
        return None, Said("Please enter a number, like 3.5.")
    return (None, msg) if (msg := _number_bounds(f, value_f, "{:g}")) else (value_f, None)


def _rating_value(f: FormField, text: str) -> Checked:
    if text not in {"1", "2", "3", "4", "5"}:
        return None, Said("Please choose a rating from 1 to 5.")
    return int(text), None


def _yes_no_value(f: FormField, text: str) -> Checked:
    low = text.lower()
    if low in YES:
        return True, None
    if low in NO:
        return False, None
    return None, Said("Please answer yes or no.")


def _single_choice_value(f: FormField, text: str) -> Checked:
    if text not in {c.value for c in f.choices}:
        return None, Said("Please pick one of the choices shown.")
    return text, None


def _date_value(f: FormField, text: str) -> Checked:
    try:
        return date.fromisoformat(text).isoformat(), None
    except ValueError:
        return None, Said("Please enter a date as year-month-day, like 2026-05-31.")


def _time_value(f: FormField, text: str) -> Checked:
    m = _TIME.match(text)
    if not m:
        return None, Said("Please enter a time as hours:minutes, like 14:30.")
    return time(int(m.group(1)), int(m.group(2))).strftime("%H:%M"), None


# How an answer given as text is checked, by the type of its question (multiple choice apart).
_CHECKS: dict[FieldType, Callable[[FormField, str], Checked]] = {
    FieldType.text: _text_value,
    FieldType.long_text: _text_value,
    FieldType.place: _text_value,
    FieldType.integer: _integer_value,
    FieldType.decimal: _decimal_value,
    FieldType.rating: _rating_value,
    FieldType.yes_no: _yes_no_value,
    FieldType.single_choice: _single_choice_value,
    FieldType.date: _date_value,
    FieldType.time: _time_value,
}


def validate_value(f: FormField, raw: Any) -> Checked:
    """Turn one answer (as typed, or as stored) into its stored value, or a plain message."""
    if f.type is FieldType.multiple_choice:
        return _choices_value(f, raw)
    text = _as_text(raw)
    if text is None or text == "":
        return None, (Said("This question needs an answer.") if f.required else None)
    check = _CHECKS.get(f.type)
    if check is None:  # pragma: no cover - every type handled
        return None, Said("This kind of question is not known.")
    return check(f, text)


def validate_values(fields: list[FormField], raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a whole form's answers against a protocol version's fields.

    Returns the values to store (only answered fields) and, per field key, a plain message.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    known = {f.key for f in fields}
    for key in raw:
        if key not in known:
            errors[key] = Said("This question is not part of the form.")
    for f in fields:
        value, message = validate_value(f, raw.get(f.key))
        if message:
            errors[f.key] = message
        elif value is not None:
            values[f.key] = value
    return values, errors


def reply_problem(text: str) -> Optional[Said]:
    """What keeps a contributor's reply to feedback from being kept (None: it can be kept as it is)."""
    if not text.strip():
        return Said("This cannot be left empty.")
    if len(text) > REPLY_MAX:
        return Said("Please keep this to %(limit)s characters or fewer (it has %(count)s).", limit=REPLY_MAX, count=len(text))
    if "\x00" in text or (not text.isascii() and _SURROGATE.search(text)):
        return Said("This answer contains a character that cannot be kept.")
    return None
