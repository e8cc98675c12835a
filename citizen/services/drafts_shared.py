"""Drafts shared for review: written as a protocol file marked as a draft, and taken back as a draft.

Co-design means sending a proposed form to the community partner before it is published. A draft
file says it is a draft and which published version it was based on; importing it never publishes
anything: into the same study it becomes that study's open draft, into a new study its first draft.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pydantic import ValidationError

from ..domain.design import Draft
from ..domain.models import ConsentItem, StudyStatus, to_doc
from ..domain.models import Study as StudyRecord
from ..domain.protocol_file import ConsentPart, DraftMark, ProtocolFile, explain, protocol_file_dict
from ..store import DataFolder, StoreError
from ..store.durable import atomic_write
from .common import Refused, ServiceError, Study, audit, change
from .drafts import open_draft
from .opening import open_study


@dataclass
class DraftImport:
    """Where an imported draft went, and what the person should know about it."""

    study: Study
    draft: Draft
    new_study: bool
    based_on: Optional[int]  # the version the file was based on
    current: Optional[int]  # the study's published version now

    def summary(self) -> str:
        where = f"a new study '{self.study.id}'" if self.new_study else f"the study '{self.study.id}'"
        line = f"The draft is now the open draft of {where}; nothing was published."
        if not self.new_study and self.based_on != self.current:
            line += (
                f" It was based on version {self.based_on or 'none'}; the study is now at version "
                f"{self.current or 'none'}: check what changed since before publishing it."
            )
        return line


def export_draft_protocol(study: Study, path: Path) -> Draft:
    """Write the open draft as a protocol file marked as a draft, with the version it is based on."""
    draft = open_draft(study)
    if draft is None:
        raise ServiceError("This study has no open draft to share; start one in the form builder (d).")
    if not draft.fields:
        raise ServiceError("The open draft has no question yet, so there is no form to share.")
    record = study.repo.study()
    consent = ConsentPart(text=draft.consent_text, items=[to_doc(i) for i in draft.consent_items])
    doc = protocol_file_dict(
        record,
        draft.fields,
        consent,
        approved_by="",
        change_summary="",
        source=f"{record.title} (citizen study '{record.id}', draft)",
        draft=DraftMark(based_on=draft.based_on),
        page_words=draft.page_words,
    )
    payload = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    try:
        atomic_write(path, payload)
    except StoreError as exc:
        raise ServiceError(str(exc)) from None
    return draft


def _consent_items(pf: ProtocolFile) -> list[ConsentItem]:
    try:
        return [ConsentItem.model_validate(item) for item in pf.protocol.consent.items]
    except ValidationError as exc:
        msg = "The draft's consent items cannot be used: " + "; ".join(explain(exc))
        raise Refused(msg, {"path": msg}) from None


def import_draft_file(data: DataFolder, pf: ProtocolFile, name: str, actor: str, study_id: Optional[str] = None) -> DraftImport:
    """A draft file: into its own study (same id) as the open draft, or a new study whose first draft it is."""
    assert pf.draft is not None
    based_on = pf.draft.based_on
    items = _consent_items(pf)
    if not study_id and data.has_study(pf.study.id):
        study = open_study(data, pf.study.id)
        return _into_study(study, pf, items, name, actor, based_on)
    record = pf.to_study(source=f"draft imported from {name}")
    try:
        record = StudyRecord.model_validate(record.model_dump() | {"id": study_id or record.id, "status": StudyStatus.draft})
    except ValidationError as exc:
        raise Refused("; ".join(explain(exc))) from None
    if data.has_study(record.id):
        raise Refused(f"A study '{record.id}' already exists; choose another id.")
    try:
        store = data.new_study_folder(record.id)
    except StoreError as exc:
        raise ServiceError(str(exc)) from None
    study = Study(store, data.laptop_id)
    draft = Draft(
        created_by=actor or "unknown",
        fields=pf.protocol.fields,
        consent_text=pf.protocol.consent.text,
        consent_items=items,
        page_words=pf.protocol.page_words,
    )
    try:
        with change(study) as tx:
            tx.insert("study", to_doc(record))
            tx.insert("drafts", to_doc(draft))
            audit(tx, actor, "study created", record.id, {"title": record.title, "source": record.source}, laptop=data.laptop_id)
            audit(tx, actor, "draft imported", name, {"based_on_in_file": based_on}, laptop=data.laptop_id)
    except StoreError:
        data.discard_study_folder(record.id)
        raise
    return DraftImport(study, draft, True, based_on, None)


def _into_study(
    study: Study, pf: ProtocolFile, items: list[ConsentItem], name: str, actor: str, based_on: Optional[int]
) -> DraftImport:
    if open_draft(study) is not None:
        msg = f"The study '{study.id}' already has an open draft: publish or discard it before taking in the draft from {name}."
        raise Refused(msg, {"path": msg})
    current = study.repo.current_protocol()
    draft = Draft(
        created_by=actor or "unknown",
        based_on=current.number if current else None,
        fields=pf.protocol.fields,
        consent_text=pf.protocol.consent.text,
        consent_items=items,
        page_words=pf.protocol.page_words,
    )
    with change(study) as tx:
        tx.insert("drafts", to_doc(draft))
        audit(
            tx,
            actor,
            "draft imported",
            name,
            {"based_on_in_file": based_on, "current_version": current.number if current else None},
            laptop=study.laptop,
        )
    return DraftImport(study, draft, False, based_on, current.number if current else None)
