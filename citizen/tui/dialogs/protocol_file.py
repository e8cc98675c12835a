"""Sharing a study's protocol as a file: a protocol file (.json) or an XLSForm (.xlsx)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...services import Study
from ...services.study_files import write_study_file
from .form import Entry, FormDialog


def share_protocol_dialog(study: Study) -> FormDialog:
    """Write the study's protocol (or its open draft, for review) as a protocol file or an XLSForm."""
    record = study.repo.study()

    def write(values: dict[str, Any]) -> str:
        path = Path(values["path"]).expanduser()
        write_study_file(study, path, draft=bool(values.get("draft")))
        return str(path)

    return FormDialog(
        "Share the protocol",
        [
            Entry("path", "Write to (.json for a protocol file, .xlsx for an XLSForm)", value=f"{record.id}.json"),
            Entry(
                "draft",
                "The open draft, for review (marked as a draft, not a published version)",
                kind="check",
                error_name="path",
            ),
        ],
        write,
        save_label="Export",
        dialog_id="export-dialog",
        intro="A draft file imported into this study becomes its open draft again; into a new study, that "
        "study's first draft. Nothing is published by importing it.",
    )
