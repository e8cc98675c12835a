"""A study made from nothing in the terminal app, its details, its team and its status."""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import ValidationError

from ..domain.design import (
    locate_errors,
    study_id_from,
)
from ..domain.models import Study as StudyRecord
from ..domain.models import (
    StudyStatus,
    TeamMember,
    to_doc,
)
from ..store import DataFolder, StoreError
from .common import NotFound, Refused, ServiceError, Study, audit, change
from .drafts import drafts as drafts  # read through this module by the design screens
from .drafts import open_draft as open_draft


def _languages(value: Union[str, list[str]]) -> list[str]:
    if isinstance(value, str):
        value = [p.strip() for p in value.replace(";", ",").split(",")]
    return [p for p in value if p]


def _summary(value: Union[str, dict[str, str]], language: str) -> dict[str, str]:
    return {language: value} if isinstance(value, str) else dict(value)


def _study_record(values: dict[str, Any]) -> StudyRecord:
    try:
        return StudyRecord.model_validate(values)
    except ValidationError as exc:
        errors = locate_errors(exc)
        raise Refused("Please correct the entries marked.", errors) from None


def new_study(
    data: DataFolder,
    title: str,
    shared_aim: str,
    actor: str,
    summary: Union[str, dict[str, str]] = "",
    languages: Union[str, list[str]] = "en",
    team: Optional[list[dict[str, Any]]] = None,
    study_id: str = "",
    source: str = "designed in citizen",
) -> Study:
    """Start a study from nothing: its title, shared aim, summary, languages and team; no protocol yet."""
    langs = _languages(languages) or ["en"]
    study_id = study_id.strip() or study_id_from(title)
    record = _study_record(
        {
            "id": study_id,
            "title": title,
            "shared_aim": shared_aim,
            "summary": _summary(summary, langs[0]) if summary else {},
            "languages": langs,
            "team": team or [],
            "status": StudyStatus.draft,
            "source": source[:500],
        }
    )
    if data.has_study(record.id):
        raise Refused(
            f"A study '{record.id}' already exists; choose another id.",
            {"id": f"A study '{record.id}' already exists; choose another id."},
        )
    try:
        store = data.new_study_folder(record.id)
    except StoreError as exc:
        raise ServiceError(str(exc)) from None
    study = Study(store, data.laptop_id)
    try:
        with change(study) as tx:
            tx.insert("study", to_doc(record))
            audit(tx, actor, "study created", record.id, {"title": record.title, "source": record.source}, laptop=data.laptop_id)
    except StoreError:
        data.discard_study_folder(record.id)
        raise
    return study


def edit_study(
    study: Study,
    actor: str,
    title: str,
    shared_aim: str,
    summary: Union[str, dict[str, str]],
    languages: Union[str, list[str]],
    shared_aim_text: Optional[dict[str, str]] = None,
) -> StudyRecord:
    """Change the study's title, shared aim, summary (in its first language, or per language) and languages.

    ``shared_aim_text`` gives the shared aim in further languages (empty entries are dropped).
    """
    old = study.repo.study()
    aims = dict(old.shared_aim_text) if shared_aim_text is None else {k: v for k, v in shared_aim_text.items() if v and v.strip()}
    langs = _languages(languages)
    new_summary = dict(old.summary)
    if isinstance(summary, str):
        lang = (langs or old.languages)[0]
        if summary.strip():
            new_summary[lang] = summary
        else:
            new_summary.pop(lang, None)
    else:
        new_summary = {k: v for k, v in summary.items() if v and v.strip()}
    record = _study_record(
        old.model_dump()
        | {"title": title, "shared_aim": shared_aim, "summary": new_summary, "languages": langs, "shared_aim_text": aims}
    )
    changed = [
        k for k in ("title", "shared_aim", "summary", "languages", "shared_aim_text") if getattr(record, k) != getattr(old, k)
    ]
    if not changed:
        return old
    with change(study) as tx:
        tx.put("study", 1, to_doc(record))
        audit(tx, actor, "study details changed", record.id, {"changed": changed}, laptop=study.laptop)
    return record


def save_team_member(
    study: Study, actor: str, name: str, role: str, organisation: str = "", index: Optional[int] = None
) -> StudyRecord:
    """Add a team member (index None) or change the one at ``index``."""
    old = study.repo.study()
    try:
        member = TeamMember(name=name, role=role, organisation=organisation)
    except ValidationError as exc:
        raise Refused("Please correct the entries marked.", locate_errors(exc)) from None
    team = list(old.team)
    others = [m for i, m in enumerate(team) if i != index]
    if any(m.name.casefold() == member.name.casefold() for m in others):
        raise Refused(f"{member.name} is already on the team.", {"name": f"{member.name} is already on the team."})
    if index is None:
        team.append(member)
        action = "team member added"
    else:
        if not 0 <= index < len(team):
            raise NotFound("That team member is no longer listed.")
        team[index] = member
        action = "team member changed"
    record = old.model_copy(update={"team": team})
    with change(study) as tx:
        tx.put("study", 1, to_doc(record))
        audit(tx, actor, action, member.name, {"role": member.role.value}, laptop=study.laptop)
    return record


def remove_team_member(study: Study, actor: str, index: int) -> StudyRecord:
    old = study.repo.study()
    if not 0 <= index < len(old.team):
        raise NotFound("That team member is no longer listed.")
    gone = old.team[index]
    record = old.model_copy(update={"team": [m for i, m in enumerate(old.team) if i != index]})
    with change(study) as tx:
        tx.put("study", 1, to_doc(record))
        audit(tx, actor, "team member removed", gone.name, {"role": gone.role.value}, laptop=study.laptop)
    return record


def change_status(study: Study, status: Union[str, StudyStatus], actor: str) -> StudyRecord:
    """Move the study to another status; nobody can be recruited before a protocol is published."""
    try:
        status = StudyStatus(status)
    except ValueError:
        raise Refused(f"'{status}' is not a study status.") from None
    record = study.repo.study()
    if status is record.status:
        return record
    if status in (StudyStatus.recruiting, StudyStatus.active) and study.repo.current_protocol() is None:
        raise Refused("Publish the first protocol version before the study recruits or runs.")
    with change(study) as tx:
        updated = record.model_copy(update={"status": status})
        tx.put("study", 1, to_doc(updated))
        audit(
            tx, actor, "study status changed", record.id, {"from": record.status.value, "to": status.value}, laptop=study.laptop
        )
    return updated
