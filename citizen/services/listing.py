"""The studies list: each study's line read from what is stored (the study record, the newest
protocol version and audit event, the counts kept beside the segments), with no record model, so
the terminal app's first screen loads neither pydantic nor any contribution."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..domain.values import StudyStatus
from ..store import DataFolder, StoreError
from ..store.stored import StoredStudy


@dataclass
class StudySummary:
    id: str
    title: str
    status: StudyStatus
    shared_aim: str
    participants: int
    contributions: int
    last_activity: Optional[datetime]
    protocol_version: Optional[int]
    consent_version: Optional[int]
    problem: str = ""


def summarise(stored: StoredStudy) -> StudySummary:
    """A study's line in the studies list; cheap (it reads no contribution and parses no record).

    A record of an odd shape is handed to the typed reader, which says what is wrong with it.
    """
    doc = stored.study_doc()
    try:  # the fields shown, read as stored
        study_id, title, aim = (doc["id"], doc["title"], doc["shared_aim"])
        status = StudyStatus(doc.get("status", StudyStatus.draft.value))
        if not all(isinstance(v, str) and v for v in (study_id, title, aim)):
            raise ValueError
        last_activity = stored.last_activity()
    except (KeyError, TypeError, ValueError):
        from ..store import StudyRepo  # lazy: the record models only for a study read the slow way (start-up)

        repo = StudyRepo(stored.store)
        record = repo.study()
        study_id, title, aim, status = record.id, record.title, record.shared_aim, record.status
        last_activity = repo.last_activity()
    protocol_version, consent_version = stored.current_numbers()
    return StudySummary(
        id=study_id,
        title=title,
        status=status,
        shared_aim=aim,
        participants=stored.participant_count(),
        contributions=stored.contribution_count(),
        last_activity=last_activity,
        protocol_version=protocol_version,
        consent_version=consent_version,
    )


def is_odd_record(exc: BaseException) -> bool:
    """A stored record the models refused (a pydantic ValidationError; none can arise before
    pydantic is loaded, so it is not loaded to ask)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(exc, pydantic.ValidationError)


def list_studies(data: DataFolder) -> list[StudySummary]:
    """Every study in the data folder; a damaged one is listed with its problem, not hidden."""
    out = []
    for study_id in data.study_ids():
        try:
            out.append(summarise(StoredStudy(data.study(study_id))))
        except Exception as exc:
            if not isinstance(exc, StoreError) and not is_odd_record(exc):
                raise
            problem = damage_message(exc, data.studies_folder / study_id)
            out.append(
                StudySummary(
                    id=study_id,
                    title="(cannot be opened)",
                    status=StudyStatus.closed,
                    shared_aim="",
                    participants=0,
                    contributions=0,
                    last_activity=None,
                    protocol_version=None,
                    consent_version=None,
                    problem=problem,
                )
            )
    return out


def damage_message(exc: Exception, where: Path) -> str:
    """A plain sentence for a study that cannot be read (a damaged file, or a record of the wrong shape)."""
    if is_odd_record(exc):
        return (
            f"{where}: a stored record does not have the shape citizen expects. "
            "`citizen check` shows which file; `citizen check --restore` puts back its last good copy."
        )
    return str(exc)
