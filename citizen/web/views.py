"""What each phone page shows: one frozen dataclass per template, built by its route (issue 14).

A page's template reads only the fields of its view (and what ``server.render`` adds to every
page: the language, the study, the language links and the form token). A missing or misspelt
field fails where the view is made, and the templates run with ``StrictUndefined``, so a name
a template reads but no view gives stops the page loudly instead of showing an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Optional

from markupsafe import Markup

from ..domain.models import Participant
from ..domain.reach import MAX_REACH
from .forms import ConsentItemView, FieldView

# An update from the team as a page shows it: title, body and when it was posted.
Update = tuple[str, str, datetime]


@dataclass(frozen=True)
class PageView:
    """A page's own fields; ``template`` is the file that shows them."""

    template: ClassVar[str]

    def context(self) -> dict[str, Any]:
        """The fields as the template's names (shallow: the views inside keep their methods)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ReachView:
    """The box for how to reach them, shaped like a consent item's view so that the error summary can point to it."""

    item: str
    text: str
    value: str = ""
    error: str = ""
    id: str = "reach"
    maxlength: int = MAX_REACH


@dataclass(frozen=True)
class ReachSection:
    """What their page says about how the team can reach them: the way kept, or "" for none yet."""

    shown: str


@dataclass(frozen=True)
class FeedbackView:
    """One feedback from the team on a contribution, with the contributor's replies to it."""

    text: str
    key: str  # the time it was given, as its reply form names it
    replies: Sequence[str]


@dataclass(frozen=True)
class ContributionView:
    id: str
    at: datetime
    answers: Sequence[tuple[str, str]]
    revised: bool
    state: str
    conversation: Sequence[FeedbackView]


@dataclass(frozen=True)
class ProposalDraft:
    """What they typed in the proposal form, shown again when it was refused."""

    title: str = ""
    rationale: str = ""


@dataclass(frozen=True)
class PlainView(PageView):
    template: ClassVar[str] = "plain.html"
    heading: str
    message: str


@dataclass(frozen=True)
class JoinView(PageView):
    template: ClassVar[str] = "join.html"
    action: str
    aim: str
    summary: str
    consent_text: str
    items: list[ConsentItemView]  # a list: the template adds the reach box to it for the error summary
    reach: Optional[ReachView]


@dataclass(frozen=True)
class ReceiptView(PageView):
    template: ClassVar[str] = "receipt.html"
    participant: Participant
    link: str
    qr: Markup


@dataclass(frozen=True)
class CorrectView(PageView):
    template: ClassVar[str] = "correct.html"
    token: str
    fields: Sequence[FieldView]
    problem: str = ""


@dataclass(frozen=True)
class ContactView(PageView):
    template: ClassVar[str] = "contact.html"
    token: str
    participant: Participant
    shown: str
    reach: ReachView


@dataclass(frozen=True)
class LeaveView(PageView):
    template: ClassVar[str] = "leave.html"
    token: str
    participant: Participant
    choice: str  # "remove" or "keep"
    count: int
    proposals: int


@dataclass(frozen=True)
class LeftView(PageView):
    template: ClassVar[str] = "left.html"
    participant: Participant
    removed: bool
    kept: int
    deleted: int
    proposals: int
    left_at: Optional[datetime]
    updates: Sequence[Update]
    notice: str = ""
    problem: str = ""


@dataclass(frozen=True)
class ParticipantView(PageView):
    template: ClassVar[str] = "participant.html"
    token: str
    participant: Participant
    reconsent: bool
    can_contribute: bool
    contributions: Sequence[ContributionView]
    start: int
    earlier: int
    older: Optional[int]
    newer: Optional[int]
    updates: Sequence[Update]
    reach: Optional[ReachView]
    reach_section: Optional[ReachSection]
    notice: str = ""
    problem: str = ""
    section: str = ""  # the form a refusal is shown beside: contribute, consent, reply, propose or withdraw
    errors: Mapping[str, str] = field(default_factory=dict)
    proposal: ProposalDraft = ProposalDraft()
    reply_to: Optional[tuple[str, str]] = None
    reply_text: str = ""
    fields: Sequence[FieldView] = ()
    blank_form: Optional[Markup] = None
    optional: list[ConsentItemView] = field(default_factory=list)
    items: list[ConsentItemView] = field(default_factory=list)
    consent_text: str = ""
    changes: Mapping[str, Sequence[str]] = field(default_factory=dict)
