"""A contribution and what gathers around it: reviews, feedback, the contributor's replies, corrections."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Optional

from pydantic import Field

from .base import Record, new_id, utcnow
from .values import ReviewState, replied  # noqa: F401 (re-exported: defined without a model, for the store's kept columns)

REPLY_MAX = 2000  # a reply is a few sentences typed on a phone


class ContributionSource(str, Enum):
    phone = "phone"
    desk = "desk"
    import_ = "import"


class ReviewNote(Record):
    state: ReviewState
    note: str = Field(default="", max_length=2000)
    by: str = Field(min_length=1, max_length=120)
    at: datetime = Field(default_factory=utcnow)


class Feedback(Record):
    text: str = Field(min_length=1, max_length=4000)
    by: str = Field(min_length=1, max_length=120)
    at: datetime = Field(default_factory=utcnow)


class Reply(Record):
    """A contributor's answer to the team's feedback, from their own page: conversation, never data."""

    text: str = Field(min_length=1, max_length=REPLY_MAX)
    to: datetime  # when the feedback it answers was given
    at: datetime = Field(default_factory=utcnow)


class Revision(Record):
    """Values a contribution held before a correction, and when they were given."""

    values: dict[str, Any]
    at: datetime


class Contribution(Record):
    id: str = Field(default_factory=new_id)
    participant_id: str
    protocol_version: int = Field(ge=1)
    values: dict[str, Any]
    submitted_at: datetime = Field(default_factory=utcnow)
    source: ContributionSource
    review_state: ReviewState = ReviewState.received
    reviews: list[ReviewNote] = Field(default_factory=list)
    feedback: list[Feedback] = Field(default_factory=list)
    replies: list[Reply] = Field(default_factory=list)
    history: list[Revision] = Field(default_factory=list)
    corrected_at: Optional[datetime] = None  # when the contributor last corrected it (the values now held)
    removed_at: Optional[datetime] = None
    laptop: str = ""

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    @property
    def revised(self) -> bool:
        return bool(self.history)

    @property
    def replied(self) -> bool:
        """The contributor has the last word: a reply came after the team's latest feedback."""
        return replied(self.feedback, self.replies)
