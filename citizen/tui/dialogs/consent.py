"""Consent at the desk: enrolling someone in person or from a paper form, and a withdrawal."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.widgets import Input, Label, RadioSet, Select, Static

from ...domain.models import ConsentMethod, Participant, pick
from ...services import Refused, ServiceError, enrol_participant, withdraw
from ...services.common import Study
from ..text import plain
from .base import Dialog

METHODS = [("At the desk, in person", ConsentMethod.desk.value), ("On a paper form", ConsentMethod.paper.value)]


def answer_of(radio: RadioSet) -> Optional[bool]:
    """Yes, no, or None when the person has not chosen (nothing is assumed)."""
    return {0: True, 1: False}.get(radio.pressed_index)


class EnrolDialog(Dialog[Optional[Participant]]):
    """The consent document read out or on paper; each item decided; a witness named."""

    SAVE_LABEL = "Enrol"

    def __init__(self, study: Study):
        super().__init__()
        self.study = study
        self.protocol = study.repo.current_protocol()
        self.language = study.repo.study().main_language

    def heading(self) -> str:
        return "Enrol a participant at the desk"

    def body(self) -> ComposeResult:
        if self.protocol is None:
            yield Static("This study has no published protocol yet, so no one can enrol.", classes="problem")
            return
        consent = self.protocol.consent
        yield Static(plain(f"Consent document, version {consent.version}:"), classes="hint")
        yield Static(plain(pick(consent.text, self.language)), classes="consent-text")
        for item in consent.items:
            required = " (needed to take part)" if item.required else " (optional)"
            yield Label(plain(pick(item.text, self.language) + required))
            yield RadioSet("Yes", "No", id=f"item-{item.id}", classes="yes-no", compact=True)
            yield self.error_slot(item.id)
        yield Label("How was consent given?")
        yield Select(METHODS, value=ConsentMethod.desk.value, allow_blank=False, id="method", compact=True)
        yield Label("Witness: the team member who saw consent given")
        yield Input(id="witness", placeholder="full name", compact=True)
        yield self.error_slot("witness")
        yield Static("Contact details (optional; kept apart, never in a default export)", classes="hint")
        yield Input(id="contact-name", placeholder="name", compact=True)
        yield Input(id="contact-phone", placeholder="phone", compact=True)
        yield Input(id="contact-email", placeholder="email", compact=True)
        yield self.error_slot("contact")

    def action_save(self) -> None:
        if self.protocol is None:
            self.show_errors("This study has no published protocol yet, so no one can enrol.")
            return
        answers = {item.id: answer_of(self.query_one(f"#item-{item.id}", RadioSet)) for item in self.protocol.consent.items}
        method = ConsentMethod(self.query_one("#method", Select).value)
        contact = {key: self.query_one(f"#contact-{key}", Input).value.strip() for key in ("name", "phone", "email")}
        try:
            participant = enrol_participant(
                self.study,
                answers,
                method,
                self.actor,
                language=self.language,
                witness=self.query_one("#witness", Input).value.strip(),
                contact=contact if any(contact.values()) else None,
            )
        except Refused as exc:
            self.show_errors(str(exc), exc.errors)
            return
        except ServiceError as exc:
            self.show_errors(str(exc))
            return
        self.dismiss(participant)


class WithdrawDialog(Dialog[Optional[str]]):
    """A withdrawal given at the desk: remove what they gave, or keep it and stop here."""

    SAVE_LABEL = "Record withdrawal"

    def __init__(self, study: Study, participant: Participant):
        super().__init__()
        self.study = study
        self.participant = participant

    def heading(self) -> str:
        return f"Withdraw {self.participant.code}"

    def body(self) -> ComposeResult:
        yield Label("What should happen to what they gave?")
        yield RadioSet("Remove what I gave", "Keep what I gave, stop here", id="remove", compact=True)
        yield self.error_slot("remove")
        yield Static(
            "Either way their contact details are deleted and their consent log is kept, as the record "
            "of what they decided. This cannot be undone.",
            id="withdraw-effects",
            classes="hint",
        )
        yield Label("How was it asked?")
        yield Select(METHODS, value=ConsentMethod.desk.value, allow_blank=False, id="method", compact=True)
        yield Label("Witness (the team member who heard it)")
        yield Input(id="witness", placeholder="full name", compact=True)

    def action_save(self) -> None:
        choice = self.query_one("#remove", RadioSet).pressed_index
        if choice not in (0, 1):
            self.show_errors("Please choose whether what they gave is removed or kept.", {"remove": "Please choose one."})
            return
        method = ConsentMethod(self.query_one("#method", Select).value)
        try:
            withdraw(
                self.study,
                self.participant.id,
                choice == 0,
                method,
                self.actor,
                witness=self.query_one("#witness", Input).value.strip(),
            )
        except ServiceError as exc:
            self.show_errors(str(exc), getattr(exc, "errors", None))
            return
        self.dismiss("removed" if choice == 0 else "kept")


__all__ = ["EnrolDialog", "WithdrawDialog", "answer_of"]
