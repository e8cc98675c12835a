"""XLSForm, the wider field's form standard (ODK, KoboToolbox and others): read and write the form.

Reading goes through pyxform (``read.py``), so a workbook means here what it means to ODK; writing
(``write.py``) produces a workbook pyxform converts without a warning. What a citizen form cannot
hold (groups, repeats, calculations, skip logic, complex constraints, files) is not carried over,
and the report says so plainly, question by question.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ...domain.design import Draft, study_id_from
from ...domain.models import to_doc, utcnow
from ...store import DataFolder
from ..common import Refused, ServiceError, Study, audit, change, row_of
from ..design import new_study, start_draft
from ..drafts import editable_draft, open_draft
from ..opening import open_study
from .read import SUFFIXES, read_xlsform
from .report import LANGUAGE_NAMES, XLSFormReport, language_code
from .write import write_xlsform


def is_xlsform(path: Path) -> bool:
    """Whether a file is taken as an XLSForm (by its suffix) rather than a protocol file."""
    return path.suffix.lower() in SUFFIXES


def _add_fields(study: Study, draft: Draft, report: XLSFormReport, actor: str, source: str) -> Draft:
    fields = list(draft.fields)
    keys = {f.key for f in fields}
    for f in report.fields:
        key, n = f.key, 2
        while key in keys:
            key = f"{f.key}_{n}"[:63]
            n += 1
        keys.add(key)
        fields.append(f if key == f.key else f.model_copy(update={"key": key}))
    updated = draft.model_copy(update={"fields": fields, "updated_at": utcnow()})
    with change(study) as tx:
        tx.put("drafts", row_of(study, "drafts", draft.id), to_doc(updated))
        audit(
            tx,
            actor,
            "XLSForm imported",
            source,
            {"questions": len(report.fields), "not_carried_over": report.not_carried_over},
            laptop=study.laptop,
        )
    return updated


def import_xlsform(
    data: DataFolder, path: Path, actor: str, study_id: str = "", shared_aim: str = ""
) -> tuple[Study, XLSFormReport]:
    """A new study whose draft holds the workbook's questions; consent is written before publishing.

    A draft workbook citizen wrote for a study in this data folder becomes that study's open draft
    instead (its consent document is the study's own), never a published version.
    """
    report = read_xlsform(path)
    if report.draft and not study_id and data.has_study(report.form_id):
        return _draft_into_study(open_study(data, report.form_id), report, actor, path.name), report
    source = f"imported from the XLSForm {path.name}" + (f" (form id {report.form_id})" if report.form_id else "")
    aim = shared_aim.strip() or f"To be agreed with the community (started from the XLSForm {path.name})."
    study = new_study(
        data,
        report.title[:200] or path.stem,
        aim,
        actor,
        languages=report.languages,
        study_id=study_id or study_id_from(report.form_id or report.title or path.stem),
        source=source,
    )
    draft = start_draft(study, actor)
    _add_fields(study, draft, report, actor, path.name)
    return study, report


def _draft_into_study(study: Study, report: XLSFormReport, actor: str, source: str) -> Study:
    if open_draft(study) is not None:
        msg = f"The study '{study.id}' already has an open draft: publish or discard it before taking in the draft from {source}."
        raise Refused(msg, {"path": msg})
    draft = start_draft(study, actor)
    _add_fields(study, draft.model_copy(update={"fields": []}), report, actor, source)
    return study


def import_xlsform_into_draft(study: Study, draft_id: str, path: Path, actor: str) -> XLSFormReport:
    """Add a workbook's questions after the open draft's fields (keys already used get a suffix)."""
    _row, draft = editable_draft(study, draft_id)
    report = read_xlsform(path)
    _add_fields(study, draft, report, actor, path.name)
    return report


def export_xlsform(study: Study, path: Path, version: Optional[int] = None, draft: bool = False) -> XLSFormReport:
    """Write a published protocol version's form, or the open draft's, as an XLSForm workbook."""
    record = study.repo.study()
    if draft:
        current = open_draft(study)
        if current is None:
            raise ServiceError("This study has no open draft to export.")
        if not current.fields:
            raise ServiceError("The open draft has no question yet, so there is no form to export.")
        report = XLSFormReport(
            title=record.title,
            form_id=record.id,
            languages=record.languages,
            fields=current.fields,
            draft=True,
            draft_of=current.based_on,
        )
        write_xlsform(path, report, version=f"draft-{current.based_on or 0}", draft_of=current.based_on, draft=True)
        report.note(
            "The consent document is not part of an XLSForm; share the protocol file (.json) for it",
            "the draft's consent document",
        )
        return report
    protocol = study.repo.protocol_version(version) if version else study.repo.current_protocol()
    if protocol is None:
        raise ServiceError(
            "This study has no published protocol to export." if version is None else f"There is no protocol version {version}."
        )
    report = XLSFormReport(title=record.title, form_id=record.id, languages=record.languages, fields=protocol.fields)
    write_xlsform(path, report, version=str(protocol.number))
    report.note(
        "The consent document is not part of an XLSForm; share the protocol file (.json) for it",
        f"consent version {protocol.consent.version}",
    )
    return report


__all__ = [
    "LANGUAGE_NAMES",
    "XLSFormReport",
    "export_xlsform",
    "import_xlsform",
    "import_xlsform_into_draft",
    "is_xlsform",
    "language_code",
    "read_xlsform",
    "write_xlsform",
]
