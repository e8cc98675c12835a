"""Creating studies, publishing protocol versions, reading and writing protocol files."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Optional

from pydantic import ValidationError

from ..domain.models import (
    ConsentDocument,
    FormField,
    PageWords,
    ProtocolVersion,
    StudyStatus,
    to_doc,
    utcnow,
)
from ..domain.models import (
    Study as StudyRecord,
)
from ..domain.protocol_file import (
    ProtocolFile,
    ProtocolFileError,
    explain,
    parse_protocol_file,
    protocol_file_dict,
)
from ..domain.rules import protocol_changes
from ..domain.words import page_word_gaps
from ..store import DataFolder, StoreError, Transaction
from ..store.durable import atomic_write
from .common import Refused, ServiceError, Study, audit, change, row_of, serialised
from .drafts_shared import export_draft_protocol, import_draft_file


def load_protocol_file(path: Path) -> ProtocolFile:
    """Read and check a protocol file; ProtocolFileError says what is wrong, where."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProtocolFileError(str(path), ["there is no such file"]) from None
    except IsADirectoryError:
        raise ProtocolFileError(str(path), ["this is a folder, not a protocol file"]) from None
    except OSError as exc:
        raise ProtocolFileError(str(path), [f"it cannot be read ({exc.strerror})"]) from None
    return parse_protocol_file(data, str(path))


def create_study(
    data: DataFolder,
    pf: ProtocolFile,
    actor: str,
    study_id: Optional[str] = None,
    source: str = "",
    at: Optional[datetime] = None,
) -> Study:
    """Add a study from a protocol file, with its first protocol version already published."""
    record = pf.to_study(source=source)
    if study_id:
        try:
            record = StudyRecord.model_validate(record.model_dump() | {"id": study_id})
        except ValidationError as exc:
            raise Refused("; ".join(explain(exc))) from None
    if at is not None:
        record = record.model_copy(update={"created_at": at})
    if data.has_study(record.id):
        raise ServiceError(
            f"A study '{record.id}' already exists in {data.path}; choose another id (--id) or remove the old one."
        )
    gaps = page_word_gaps(record.languages, pf.protocol.page_words)
    if gaps:
        raise Refused(
            f"The study '{record.id}' cannot be added: its phone pages cannot speak every one of its "
            "languages. " + "; ".join(gaps) + "."
        )
    store = data.new_study_folder(record.id)
    study = Study(store, data.laptop_id)
    study.notices = pf.role_notes()
    try:
        version = ProtocolVersion(
            number=1,
            fields=pf.protocol.fields,
            consent=pf.consent_document(1),
            change_summary=pf.protocol.change_summary or "First version.",
            approved_by=pf.protocol.approved_by,
            effective_at=at or utcnow(),
            page_words=pf.protocol.page_words,
        )
        with change(study) as tx:
            tx.insert("study", to_doc(record))
            tx.insert("protocol_versions", to_doc(version))
            audit(
                tx,
                actor,
                "study created",
                record.id,
                {"title": record.title, "source": record.source} | ({"notices": study.notices} if study.notices else {}),
                at=at,
                laptop=data.laptop_id,
            )
            audit(
                tx,
                actor,
                "protocol published",
                "version 1",
                {"approved_by": version.approved_by, "consent_version": 1},
                at=at,
                laptop=data.laptop_id,
            )
    except (StoreError, ValidationError):
        data.discard_study_folder(record.id)
        raise
    return study


def import_protocol(data: DataFolder, path: Path, actor: str, study_id: Optional[str] = None) -> Study:
    """Add a study from a protocol file; a draft file arrives as a draft (see drafts_shared)."""
    pf = load_protocol_file(path)
    if pf.draft is not None:
        return import_draft_file(data, pf, path.name, actor, study_id=study_id).study
    source = pf.source or f"imported from {path.name}"
    if pf.source:
        source = f"{pf.source}; imported from {path.name}"
    return create_study(data, pf, actor, study_id=study_id, source=source)


def export_protocol(study: Study, path: Path, draft: bool = False) -> None:
    """Write the study's current protocol (or its open draft, marked as one) as a shareable protocol file."""
    if draft:
        export_draft_protocol(study, path)
        return
    current = study.repo.current_protocol()
    if current is None:
        raise ServiceError("This study has no published protocol yet.")
    record = study.repo.study()
    doc = protocol_file_dict(
        record,
        current.fields,
        current.consent,
        current.approved_by,
        current.change_summary,
        source=f"{record.title} (citizen study '{record.id}')",
        page_words=current.page_words,
    )
    payload = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    try:
        atomic_write(path, payload)
    except StoreError as exc:
        raise ServiceError(str(exc)) from None


@serialised
def publish_protocol_version(
    study: Study,
    fields: list[FormField],
    consent_text: dict[str, str],
    consent_items: list[dict],
    change_summary: str,
    approved_by: str,
    proposal_id: Optional[str] = None,
    at: Optional[datetime] = None,
    also: Optional[Callable[[Transaction, ProtocolVersion], None]] = None,
    page_words: Optional[PageWords] = None,
) -> ProtocolVersion:
    """Publish a new, immutable protocol version; the consent version moves on only if it changed.

    ``also`` writes more in the same change (the draft it came from is marked published with it).
    """
    current = study.repo.current_protocol()
    number = 1 if current is None else current.number + 1
    try:
        candidate = ConsentDocument(
            version=1 if current is None else current.consent.version, text=consent_text, items=consent_items
        )
        if current is not None and (candidate.text != current.consent.text or candidate.items != current.consent.items):
            candidate = candidate.model_copy(update={"version": current.consent.version + 1})
        version = ProtocolVersion(
            number=number,
            fields=fields,
            consent=candidate,
            change_summary=change_summary,
            proposal_id=proposal_id,
            approved_by=approved_by,
            effective_at=at or utcnow(),
            page_words=current.page_words if page_words is None and current else page_words or {},
        )
    except ValidationError as exc:
        raise Refused("This protocol cannot be published: " + "; ".join(explain(exc))) from None
    if current is not None and not change_summary.strip():
        raise Refused("Please say in a sentence what changed in this version.")
    diff = protocol_changes(current, version)
    with change(study) as tx:
        tx.insert("protocol_versions", to_doc(version))
        audit(
            tx,
            approved_by,
            "protocol published",
            f"version {number}",
            {"consent_version": version.consent.version, "changes": diff, "proposal": proposal_id},
            at=at,
            laptop=study.laptop,
        )
        if proposal_id:
            proposal = study.repo.proposal(proposal_id)
            if proposal is not None:
                tx.put(
                    "proposals",
                    row_of(study, "proposals", proposal_id),
                    to_doc(proposal.model_copy(update={"protocol_version": number})),
                )
        if also is not None:
            also(tx, version)
    return version


@serialised
def set_study_status(study: Study, status: StudyStatus, actor: str) -> StudyRecord:
    record = study.repo.study()
    updated = record.model_copy(update={"status": status})
    with change(study) as tx:
        tx.put("study", 1, to_doc(updated))
        audit(
            tx, actor, "study status changed", record.id, {"from": record.status.value, "to": status.value}, laptop=study.laptop
        )
    return updated
