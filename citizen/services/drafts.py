"""Reading a study's drafts: the one being worked on, and a draft that may still change."""

from __future__ import annotations

from typing import Optional

from ..domain.design import Draft
from .common import Refused, Study, row_of


def drafts(study: Study) -> list[Draft]:
    return [Draft.model_validate(d) for d in study.store.table("drafts")]


def open_draft(study: Study) -> Optional[Draft]:
    """The draft being worked on (a study has at most one open at a time)."""
    for draft in reversed(drafts(study)):
        if draft.is_open:
            return draft
    return None


def editable_draft(study: Study, draft_id: str) -> tuple[int, Draft]:
    """The draft's row and record; refused once it was published or discarded."""
    row = row_of(study, "drafts", draft_id)
    draft = Draft.model_validate(study.store.table("drafts").get(row))
    if draft.published_as is not None:
        raise Refused(f"This draft was published as version {draft.published_as} and can no longer change.")
    if draft.discarded:
        raise Refused("This draft was discarded.")
    return row, draft
