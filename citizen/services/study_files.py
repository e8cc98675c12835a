"""Adding a study from a file someone hands over: a protocol file or an XLSForm workbook."""

from __future__ import annotations

from pathlib import Path

from ..domain.protocol_file import ProtocolFileError
from ..store import DataFolder
from .common import Refused, Study
from .studies import import_protocol
from .xlsform import import_xlsform, is_xlsform


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
