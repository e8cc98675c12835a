"""The entities of a co-produced study, as pydantic models.

Every record that is stored or received passes through one of these models. The models hold the
rules that belong to a single record (a field definition is coherent, a consent document has a
required item); rules that span records live in ``rules.py``.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any, Optional

from pydantic import BaseModel, Field, field_validator, model_validator

from .base import (  # noqa: F401 (re-exported: the records' shared parts are imported from here)
    KEY,
    LANG,
    SLUG,
    Localised,
    LocalText,
    Record,
    _check_localised,
    _utc,
    new_id,
    pick,
    utcnow,
)
from .consent import (  # noqa: F401 (re-exported: the consent records are imported from here)
    LEGACY_ROLE_IDS,
    ROLE_NAMES,
    ConsentDocument,
    ConsentItem,
    ConsentRole,
    assign_roles,
    role_problems,
)
from .contribution import (  # noqa: F401 (re-exported: the contribution records are imported from here)
    REPLY_MAX,
    Contribution,
    ContributionSource,
    Feedback,
    Reply,
    ReviewNote,
    ReviewState,
    Revision,
)
from .form import (  # noqa: F401 (re-exported: the form's parts are imported from here)
    CHOICE_TYPES,
    FIELD_TYPE_NAMES,
    FREE_TEXT_TYPES,
    NUMERIC_TYPES,
    Choice,
    FieldType,
    FormField,
    _unique_keys,
)
from .links import (  # noqa: F401 (re-exported: links and invites are imported from here)
    LINK_FINGERPRINT,
    UNLINKED,
    Invite,
    InviteState,
    fingerprinted,
    link_fingerprint,
    stored_invite,
)
from .values import StudyStatus  # noqa: F401 (re-exported: the records' states are imported from here)
from .words import PLACEHOLDER, placeholders

PageWords = dict[str, dict[str, str]]  # language -> the pages' English words (msgid) -> their translation
PAGE_TEXT_MAX = 1000


def _check_page_words(value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """A study's own translation of the phone pages' words: per language code, blank entries dropped."""
    clean: dict[str, dict[str, str]] = {}
    for lang, texts in value.items():
        if not LANG.match(lang):
            raise ValueError(f"'{lang}' is not a language code such as 'en', 'zh' or 'ar'")
        kept = {}
        for msgid, text in texts.items():
            text = (text or "").strip()
            if len(text) > PAGE_TEXT_MAX:
                raise ValueError(f"a page text in '{lang}' is longer than {PAGE_TEXT_MAX} characters")
            if text and (placeholders(text) != placeholders(msgid) or PLACEHOLDER.sub("", text).count("%")):
                wanted = ", ".join(sorted(placeholders(msgid))) or "none"
                raise ValueError(
                    f"the '{lang}' words for \"{msgid[:60]}\" must keep the same places for values "
                    f"as the English ({wanted}), and no other '%' sign"
                )
            if text:
                kept[msgid] = text
        if kept:
            clean[lang] = kept
    return clean


class Role(str, Enum):
    coordinator = "coordinator"
    co_researcher = "co-researcher"
    partner_organisation = "partner organisation"


class TeamMember(Record):
    name: str = Field(min_length=1, max_length=120)
    role: Role
    organisation: str = Field(default="", max_length=200)


class Study(Record):
    id: str
    title: str = Field(min_length=1, max_length=200)
    shared_aim: str = Field(min_length=1, max_length=1000)
    summary: Localised = Field(default_factory=dict)
    shared_aim_text: Localised = Field(default_factory=dict)
    status: StudyStatus = StudyStatus.draft
    team: list[TeamMember] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    created_at: datetime = Field(default_factory=utcnow)
    source: str = Field(default="", max_length=500)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("a study id is 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("languages")
    @classmethod
    def _langs(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a study needs at least one language")
        for lang in value:
            if not LANG.match(lang):
                raise ValueError(f"'{lang}' is not a language code such as 'en', 'zh' or 'ar'")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @field_validator("summary", "shared_aim_text")
    @classmethod
    def _summary(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "the summary", required=False)

    @field_validator("created_at")
    @classmethod
    def _created(cls, value: datetime) -> datetime:
        return _utc(value)

    @property
    def open_to_volunteers(self) -> bool:
        """Whether volunteers may join or send something new from their phones now.

        A paused or closed study takes nothing new from them (changing consent and withdrawing
        always stay open); the team can still record what was brought to the desk.
        """
        return self.status not in (StudyStatus.paused, StudyStatus.closed)

    def aim(self, language: str) -> str:
        return self.shared_aim_text.get(language) or self.shared_aim

    @property
    def main_language(self) -> str:
        return self.languages[0]


class ProtocolChecks(Record):
    """What a protocol holds to, stored as a version or written in a protocol file: at least one
    field, each key once, the study's page words well formed."""

    @field_validator("page_words", check_fields=False)
    @classmethod
    def _page_words(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return _check_page_words(value)

    @field_validator("fields", check_fields=False)
    @classmethod
    def _fields(cls, value: list[FormField]) -> list[FormField]:
        if not value:
            raise ValueError("a protocol needs at least one form field")
        return _unique_keys(value)


class ProtocolVersion(ProtocolChecks):
    number: int = Field(ge=1)
    fields: list[FormField]
    consent: ConsentDocument
    change_summary: str = Field(default="", max_length=2000)
    proposal_id: Optional[str] = None
    approved_by: str = Field(min_length=1, max_length=120)
    effective_at: datetime = Field(default_factory=utcnow)
    page_words: PageWords = Field(default_factory=dict)

    @field_validator("effective_at")
    @classmethod
    def _when(cls, value: datetime) -> datetime:
        return _utc(value)

    def field(self, key: str) -> Optional[FormField]:
        for f in self.fields:
            if f.key == key:
                return f
        return None


class ConsentMethod(str, Enum):
    phone = "phone"
    desk = "desk"
    paper = "paper"


class ConsentKind(str, Enum):
    enrol = "enrol"
    change = "change"
    reconsent = "reconsent"
    withdraw = "withdraw"


class ConsentEvent(Record):
    id: str = Field(default_factory=new_id)
    participant_id: str
    kind: ConsentKind
    document_version: int = Field(ge=1)
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    language: str = "en"
    granted: list[str] = Field(default_factory=list)
    declined: list[str] = Field(default_factory=list)
    method: ConsentMethod
    witness: str = Field(default="", max_length=120)
    remove_data: bool = False
    at: datetime = Field(default_factory=utcnow)
    laptop: str = ""

    @field_validator("at")
    @classmethod
    def _when(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _coherent(self) -> ConsentEvent:
        if set(self.granted) & set(self.declined):
            raise ValueError("an item cannot be both granted and declined")
        if self.method is ConsentMethod.desk and self.kind is not ConsentKind.withdraw and not self.witness:
            raise ValueError("consent given at the desk needs the name of a witness")
        return self


class ParticipantRoute(str, Enum):
    phone = "phone"
    desk = "desk"
    paper = "paper"


class Participant(Record):
    id: str = Field(default_factory=new_id)
    code: str = Field(pattern=r"^[A-Z0-9]{2}-[A-Z0-9]{4}$")
    token: str = Field(min_length=22)  # the private link's fingerprint (link_fingerprint), never the link
    link: Optional[str] = Field(default=None, exclude=True, repr=False)  # the link's token, just made: never stored
    enrolled_at: datetime = Field(default_factory=utcnow)
    route: ParticipantRoute
    invite_id: Optional[str] = None
    laptop: str = ""

    @field_validator("token")
    @classmethod
    def _fingerprint(cls, value: str) -> str:
        return link_fingerprint(value)

    @field_validator("enrolled_at")
    @classmethod
    def _when(cls, value: datetime) -> datetime:
        return _utc(value)


class Contact(Record):
    """Contact details, kept apart from the participant and never in a default export."""

    participant_id: str
    name: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)
    # When they last gave, changed or removed it (a bundle merge keeps the latest); none on a
    # withdrawal's deletion, which always wins, and on records kept before this was recorded.
    changed_at: Optional[datetime] = None

    @field_validator("changed_at")
    @classmethod
    def _when(cls, value: Optional[datetime]) -> Optional[datetime]:
        return _utc(value) if value is not None else None


class ProposalStatus(str, Enum):
    open = "open"
    accepted = "accepted"
    declined = "declined"


class ProposalNote(Record):
    text: str = Field(min_length=1, max_length=4000)
    by: str = Field(min_length=1, max_length=120)
    at: datetime = Field(default_factory=utcnow)


class Proposal(Record):
    id: str = Field(default_factory=new_id)
    title: str = Field(min_length=1, max_length=200)
    rationale: str = Field(min_length=1, max_length=4000)
    proposed_by: str = Field(min_length=1, max_length=120)
    participant_id: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)
    notes: list[ProposalNote] = Field(default_factory=list)
    status: ProposalStatus = ProposalStatus.open
    decision_reason: str = Field(default="", max_length=4000)
    decided_by: str = Field(default="", max_length=120)
    decided_at: Optional[datetime] = None
    protocol_version: Optional[int] = None


class Update(Record):
    id: str = Field(default_factory=new_id)
    title: str = Field(min_length=1, max_length=200)  # in the study's main language
    body: Localised
    author: str = Field(min_length=1, max_length=120)
    posted_at: datetime = Field(default_factory=utcnow)
    title_text: Localised = Field(default_factory=dict)  # the title in the study's other languages

    @field_validator("body")
    @classmethod
    def _body(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_localised(value, "an update")

    @field_validator("title_text")
    @classmethod
    def _titles(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, text in value.items():
            if len(text.strip()) > 200:
                raise ValueError(f"the title in '{lang}' is longer than 200 characters")
        return _check_localised(value, "the title", required=False)

    def title_in(self, language: str) -> str:
        return self.title_text.get(language) or self.title


class AuditEvent(Record):
    id: str = Field(default_factory=new_id)
    actor: str = Field(min_length=1, max_length=120)
    action: str = Field(min_length=1, max_length=60)
    target: str = Field(default="", max_length=200)
    at: datetime = Field(default_factory=utcnow)
    details: dict[str, Any] = Field(default_factory=dict)
    laptop: str = ""


def to_doc(model: BaseModel) -> dict[str, Any]:
    """A record as the JSON-ready dict that the store keeps."""
    return model.model_dump(mode="json")


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, Unicode kept (digests and merge order rest on it)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
