"""The form and consent document as a volunteer will meet them, drawn as plain terminal text."""

from __future__ import annotations

from typing import Optional

from rich.text import Text

from ..domain.models import ConsentItem, FieldType, FormField, PageWords, pick
from ..domain.words import StudyWords

_HINTS = {
    FieldType.text: "[ short answer ]",
    FieldType.long_text: "[ longer answer, several lines ]",
    FieldType.date: "[ date, e.g. 2025-03-31 ]",
    FieldType.time: "[ time of day, e.g. 17:30 ]",
    FieldType.place: "[ a place, in your own words ]",
    FieldType.rating: "( ) 1  ( ) 2  ( ) 3  ( ) 4  ( ) 5",
}


def _number_hint(f: FormField) -> str:
    what = "a whole number" if f.type is FieldType.integer else "a number"
    if f.min is not None and f.max is not None:
        return f"[ {what} from {f.min:g} to {f.max:g} ]"
    if f.min is not None:
        return f"[ {what}, {f.min:g} or more ]"
    if f.max is not None:
        return f"[ {what}, {f.max:g} or less ]"
    return f"[ {what} ]"


def form_preview(fields: list[FormField], language: str, page_words: Optional[PageWords] = None) -> Text:
    """The form in ``language``, its page's own words (required, Yes, No, Send) in that language too, as
    the phone page says them (the study's own translation of them first, else the shipped catalogue)."""
    say = StudyWords(language, (page_words or {}).get(language, {})).gettext
    out = Text()
    if not fields:
        out.append("The form is empty. Add a field to see it here.", style="dim")
        return out
    for n, f in enumerate(fields, 1):
        out.append(f"{n}. ")
        out.append(pick(f.label, language), style="bold")
        if f.required:
            out.append(f" ({say('required')})", style="bold")
        out.append("\n")
        help_text = pick(f.help, language)
        if help_text:
            out.append(f"   {help_text}\n", style="dim")
        if f.type in (FieldType.single_choice, FieldType.multiple_choice):
            mark = "( )" if f.type is FieldType.single_choice else "[ ]"  # round: one; square: several
            for c in f.choices:
                out.append(f"   {mark} {pick(c.label, language)}\n")
        elif f.type in (FieldType.integer, FieldType.decimal):
            out.append(f"   {_number_hint(f)}\n")
        elif f.type is FieldType.yes_no:
            out.append(f"   ( ) {say('Yes')}   ( ) {say('No')}\n")
        else:
            hint = _HINTS[f.type]
            if f.type in (FieldType.text, FieldType.long_text) and f.max is not None:
                hint = hint[:-2] + f", up to {f.max:g} characters ]"
            out.append(f"   {hint}\n")
        out.append("\n")
    out.append(f"[ {say('Send')} ]", style="bold")
    return out


def consent_preview(text: dict[str, str], items: list[ConsentItem], language: str) -> Text:
    out = Text()
    out.append(pick(text, language) or "(no consent text yet)")
    out.append("\n\n")
    if not items:
        out.append("(no consent items yet)", style="dim")
    for item in items:
        out.append("( ) Yes  ( ) No   ")
        out.append(pick(item.text, language))
        out.append("  required to take part\n" if item.required else "  optional\n", style="bold" if item.required else "dim")
    return out
