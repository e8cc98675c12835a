"""Pure rules: consent folding, answers checked against a form, protocol files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from citizen.domain.models import (
    ConsentDocument,
    ConsentEvent,
    ConsentKind,
    ConsentMethod,
    FieldType,
    FormField,
)
from citizen.domain.protocol_file import ProtocolFileError, parse_protocol_file
from citizen.domain.rules import consent_changes, decide_consent, fold_consent, validate_value, validate_values

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
SHA = "0" * 64


def doc(version=1, extra_item=False):
    items = [
        {"id": "take_part", "text": {"en": "I take part"}, "required": True},
        {"id": "quotes", "text": {"en": "Quote my words"}, "required": False},
    ]
    if extra_item:
        items.append({"id": "photos", "text": {"en": "Use my photos"}, "required": False})
    return ConsentDocument(version=version, text={"en": "About the study."}, items=items)


def event(kind, minutes, granted=("take_part",), declined=(), version=1, remove=False):
    return ConsentEvent(
        participant_id="p",
        kind=kind,
        document_version=version,
        text_sha256=SHA,
        granted=list(granted),
        declined=list(declined),
        method=ConsentMethod.phone,
        at=T0 + timedelta(minutes=minutes),
        remove_data=remove,
    )


def test_consent_state_is_the_fold_of_events_in_time_order():
    events = [
        event(ConsentKind.change, 10, granted=("take_part", "quotes")),
        event(ConsentKind.enrol, 0, declined=("quotes",)),
    ]
    state = fold_consent(events)
    assert state.enrolled and not state.withdrawn
    assert state.granted == {"take_part", "quotes"}
    assert state.covers(doc())


def test_withdrawal_ends_consent_and_nothing_undoes_it():
    events = [
        event(ConsentKind.enrol, 0, granted=("take_part", "quotes")),
        event(ConsentKind.withdraw, 5, granted=(), remove=True),
        event(ConsentKind.change, 9, granted=("take_part",)),
    ]
    state = fold_consent(events)
    assert state.withdrawn and state.remove_data
    assert not state.covers(doc())
    assert not state.allows("quotes")
    assert state.status == "withdrawn (data removed)"


def test_new_consent_version_needs_reconsent():
    state = fold_consent([event(ConsentKind.enrol, 0)])
    assert state.needs_reconsent(doc(version=2))
    assert not state.covers(doc(version=2))


def test_no_consent_item_is_assumed():
    decision, errors = decide_consent(doc(), {"take_part": True})
    assert errors == {"quotes": "Please choose yes or no for this item."}
    decision, errors = decide_consent(doc(), {"take_part": False, "quotes": True})
    assert "take_part" in errors
    decision, errors = decide_consent(doc(), {"take_part": True, "quotes": False})
    assert errors == {} and decision.granted == ["take_part"] and decision.declined == ["quotes"]


def test_reconsent_shows_only_what_changed():
    new = doc(version=2, extra_item=True)
    diff = consent_changes(doc(), new, "en")
    assert diff["added"] == ["Use my photos"]
    assert diff["reworded"] == [] and diff["removed"] == [] and diff["text"] == []


def test_the_shown_text_is_fingerprinted_per_language():
    d = ConsentDocument(
        version=1,
        text={"en": "About", "ar": "حول"},
        items=[{"id": "take_part", "text": {"en": "Yes", "ar": "نعم"}, "required": True}],
    )
    assert d.text_sha256("en") != d.text_sha256("ar")
    assert len(d.text_sha256("en")) == 64


def test_desk_consent_needs_a_witness():
    with pytest.raises(ValidationError, match="witness"):
        ConsentEvent(
            participant_id="p",
            kind=ConsentKind.enrol,
            document_version=1,
            text_sha256=SHA,
            granted=["take_part"],
            method=ConsentMethod.desk,
        )


def field(type_, **kw):
    return FormField(key="q", label={"en": "Q"}, type=type_, **kw)


@pytest.mark.parametrize(
    "type_, raw, stored",
    [
        (FieldType.integer, " 42 ", 42),
        (FieldType.decimal, "3,5", 3.5),
        (FieldType.decimal, "12.25", 12.25),
        (FieldType.yes_no, "Yes", True),
        (FieldType.yes_no, "no", False),
        (FieldType.date, "2026-05-31", "2026-05-31"),
        (FieldType.time, "9:05", "09:05"),
        (FieldType.rating, "5", 5),
        (FieldType.text, "  hello ", "hello"),
        (FieldType.place, "Canal bridge", "Canal bridge"),
    ],
)
def test_answers_are_stored_in_their_own_type(type_, raw, stored):
    assert validate_value(field(type_), raw) == (stored, None)


@pytest.mark.parametrize(
    "type_, raw, message",
    [
        (FieldType.integer, "4.5", "whole number"),
        (FieldType.integer, "lots", "whole number"),
        (FieldType.decimal, "nan", "number"),
        (FieldType.decimal, "inf", "number"),
        (FieldType.yes_no, "maybe", "yes or no"),
        (FieldType.date, "31/05/2026", "year-month-day"),
        (FieldType.date, "2026-02-30", "year-month-day"),
        (FieldType.time, "25:00", "hours:minutes"),
        (FieldType.rating, "6", "1 to 5"),
        (FieldType.text, "x" * 501, "500 characters"),
    ],
)
def test_wrong_answers_get_a_plain_message(type_, raw, message):
    value, error = validate_value(field(type_), raw)
    assert value is None and message in error


def test_bounds_and_choices():
    f = field(FieldType.integer, min=1, max=300)
    assert validate_value(f, "0")[1] == "Please enter 1 or more."
    assert validate_value(f, "301")[1] == "Please enter 300 or less."
    choices = [{"value": "a", "label": {"en": "A"}}, {"value": "b", "label": {"en": "B"}}]
    single = field(FieldType.single_choice, choices=choices)
    assert validate_value(single, "c")[1] == "Please pick one of the choices shown."
    multi = field(FieldType.multiple_choice, choices=choices, required=True)
    assert validate_value(multi, ["b", "a"]) == (["a", "b"], None)
    assert validate_value(multi, "a,b") == (["a", "b"], None)
    assert validate_value(multi, [])[1] == "Please pick at least one."
    assert validate_value(multi, ["a", "zzz"])[1] == "Please pick only from the choices shown."


def test_a_form_reports_every_field_and_unknown_keys():
    fields = [field(FieldType.integer, required=True), FormField(key="r", label={"en": "R"}, type=FieldType.text)]
    values, errors = validate_values(fields, {"r": "ok", "sneaky": "x"})
    assert values == {"r": "ok"}
    assert errors == {"q": "This question needs an answer.", "sneaky": "This question is not part of the form."}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"type": FieldType.single_choice}, "no choices"),
        ({"type": FieldType.integer, "min": 5, "max": 1}, "above the highest"),
        ({"type": FieldType.yes_no, "choices": [{"value": "a", "label": {"en": "A"}}]}, "cannot have choices"),
        ({"type": FieldType.date, "min": 1}, "bounds apply"),
    ],
)
def test_incoherent_field_definitions_are_refused(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        FormField(key="q", label={"en": "Q"}, **kwargs)


def test_demo_protocol_file_is_valid(demo_file):
    pf = parse_protocol_file(demo_file.read_bytes(), demo_file.name)
    assert 8 <= len(pf.protocol.fields) <= 12
    types = {f.type for f in pf.protocol.fields}
    assert len(types) >= 8
    consent = pf.consent_document()
    assert consent.required_ids == {"take_part"}
    assert any(not i.required for i in consent.items)


def test_protocol_file_errors_name_the_place_and_the_reason(demo_file):
    raw = json.loads(demo_file.read_text())
    raw["protocol"]["fields"][1]["choices"] = []
    raw["study"]["colour"] = "blue"
    with pytest.raises(ProtocolFileError) as info:
        parse_protocol_file(json.dumps(raw).encode(), "walk.json")
    text = str(info.value)
    assert text.startswith("walk.json: ")
    assert "study.colour: this setting is not known" in text
    assert "protocol.fields[2]: 'route' asks for a choice but has no choices" in text
    raw = json.loads(demo_file.read_text())
    raw["protocol"]["fields"].append(dict(raw["protocol"]["fields"][0]))
    with pytest.raises(ProtocolFileError, match="these field keys are used twice: walk_date"):
        parse_protocol_file(json.dumps(raw).encode(), "walk.json")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not valid JSON"),
        (b'{"format": ', "not valid JSON"),
        (b"[1, 2]", "one JSON object"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[" * 100000, "JSON"),
        (b'{"format": "something-else", "schema": 1}', "not a citizen protocol file"),
    ],
)
def test_malformed_protocol_files(data, message):
    with pytest.raises(ProtocolFileError, match=message):
        parse_protocol_file(data, "bad.json")
