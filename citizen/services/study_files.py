"""A study's files: adding a study from a protocol file or an XLSForm someone hands over, and writing one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..domain.protocol_file import ProtocolFileError
from ..store import DataFolder
from .common import Refused, Study
from .studies import export_protocol, import_protocol
from .xlsform import XLSFormReport, export_xlsform, import_xlsform, is_xlsform


def open_study_file(data: DataFolder, path: Path, actor: str, study_id: str = "") -> Study:
    """Add a study from a protocol file (.json) or an XLSForm (.xlsx, .xls, .xlsm, .csv, .md), by its suffix."""
    if not str(path).strip() or path == Path("."):
        raise Refused("Please give the file's path.", {"path": "Please give the file's path."})
    try:
        if is_xlsform(path):
            return import_xlsform(data, path, actor, study_id=study_id)[0]
        return import_protocol(data, path, actor, study_id=study_id or None)
    except ProtocolFileError as exc:
        msg = f"{path.name} cannot be used: " + "; ".join(exc.problems)
        raise Refused(msg, {"path": msg}) from None


def write_study_file(study: Study, path: Path, draft: bool = False) -> Optional[XLSFormReport]:
    """Write the protocol (or the open draft) as an XLSForm when the path ends in .xlsx, else as a
    protocol file; for an XLSForm, the report of what the workbook could not carry."""
    if path.suffix.lower() == ".xlsx":
        return export_xlsform(study, path, draft=draft)
    export_protocol(study, path, draft=draft)
    return None
