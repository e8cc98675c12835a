"""A study's form: the kinds of question, their choices, and a field definition that is coherent on its own."""

from __future__ import annotations

from enum import Enum
from typing import Optional

from pydantic import Field, field_validator, model_validator

from .base import (
    KEY,
    Localised,
    Record,
    _check_localised,
    pick,
)


class FieldType(str, Enum):
    text = "text"
    long_text = "long_text"
    integer = "integer"
    decimal = "decimal"
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    yes_no = "yes_no"
    date = "date"
    time = "time"
    rating = "rating"
    place = "place"


CHOICE_TYPES = {FieldType.single_choice, FieldType.multiple_choice}
NUMERIC_TYPES = {FieldType.integer, FieldType.decimal}
FREE_TEXT_TYPES = {FieldType.text, FieldType.long_text, FieldType.place}

FIELD_TYPE_NAMES = {
    FieldType.text: "short text",
    FieldType.long_text: "long text",
    FieldType.integer: "whole number",
    FieldType.decimal: "number",
    FieldType.single_choice: "one choice",
    FieldType.multiple_choice: "several choices",
    FieldType.yes_no: "yes or no",
    FieldType.date: "date",
    FieldType.time: "time of day",
    FieldType.rating: "rating 1 to 5",
    FieldType.place: "place",
}


class Choice(Record):
    value: str
    label: Localised

    @field_validator("value")
    @classmethod
    def _code(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("a choice code is lower-case letters, digits or '_', starting with a letter")
        return value

    @field_validator("label")
    @classmethod
    def _label(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "a choice")


class FormField(Record):
    key: str
    label: Localised
    type: FieldType
    required: bool = False
    help: Localised = Field(default_factory=dict)
    choices: list[Choice] = Field(default_factory=list)
    min: Optional[float] = None
    max: Optional[float] = None
    identifying: bool = False

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("a field key is lower-case letters, digits or '_', starting with a letter (at most 63)")
        return value

    @field_validator("label")
    @classmethod
    def _label(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "a field's label")

    @field_validator("help")
    @classmethod
    def _help(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "help", required=False)

    @model_validator(mode="after")
    def _coherent(self) -> FormField:
        if self.type in CHOICE_TYPES:
            if not self.choices:
                raise ValueError(f"'{self.key}' asks for a choice but has no choices to pick from")
            codes = [c.value for c in self.choices]
            if len(set(codes)) != len(codes):
                raise ValueError(f"'{self.key}' has the same choice code twice")
        elif self.choices:
            raise ValueError(f"'{self.key}' is a {FIELD_TYPE_NAMES[self.type]} field and cannot have choices")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'{self.key}': the lowest value ({self.min:g}) is above the highest ({self.max:g})")
        if (self.min is not None or self.max is not None) and self.type not in NUMERIC_TYPES | {
            FieldType.text,
            FieldType.long_text,
        }:
            raise ValueError(f"'{self.key}': bounds apply to numbers (or text length) only")
        if self.type is FieldType.integer:
            for bound in (self.min, self.max):
                if bound is not None and bound != int(bound):
                    raise ValueError(f"'{self.key}': bounds of a whole-number field must be whole numbers")
        return self

    def text(self, language: str) -> str:
        return pick(self.label, language)


def _unique_keys(fields: list[FormField]) -> list[FormField]:
    keys = [f.key for f in fields]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"these field keys are used twice: {', '.join(dupes)}")
    return fields
