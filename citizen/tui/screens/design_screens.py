"""Opening the study design screens, and the small file dialogs (new, import, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...services import export_protocol
from ...services.study_files import open_study_file
from ..acting import as_actor
from ..dialogs.form import Entry, FormDialog
from ..text import plain


def open_design_screen(app: Any, name: str, study_id: str) -> None:
    from .activity import ActivityScreen
    from .design import DesignScreen
    from .proposals import ProposalsScreen
    from .study_details import StudyDetailsScreen
    from .versions import VersionsScreen

    screens = {"details": StudyDetailsScreen, "design": DesignScreen, "versions": VersionsScreen,
               "proposals": ProposalsScreen, "activity": ActivityScreen}
    app.push_screen(screens[name](study_id))


def _open_study(app: Any, study_id: Any) -> None:
    if study_id:
        from .overview import StudyScreen

        app.push_screen(StudyScreen(study_id))


def _opened(app: Any, study: Any) -> None:
    """A study added from a file: what reading the file assumed is said, then the study opens."""
    if study:
        for line in study.notices:
            app.notify(plain(line), title="Consent item roles", severity="warning", timeout=20)
        _open_study(app, study.id)


def new_study(app: Any) -> None:
    from .study_details import new_study_dialog

    as_actor(app, lambda actor: app.push_screen(new_study_dialog(app, actor), lambda sid: _open_study(app, sid)))


def import_study(app: Any) -> None:
    def open_dialog(actor: str) -> None:
        app.push_screen(FormDialog(
            "Add a study from a file",
            [Entry("path", "Protocol file (.json) or XLSForm (.xlsx, .xls, .xlsm)", placeholder="/path/to/file"),
             Entry("id", "Study id for the copy (optional)")],
            lambda v: open_study_file(app.data, Path(v["path"]).expanduser(), actor, v["id"]),
            save_label="Import", dialog_id="import-dialog",
            intro="The copy records the file it came from. An XLSForm's questions arrive as a draft: "
                  "write the consent document, then publish."),
            lambda study: _opened(app, study))

    as_actor(app, open_dialog)


def export_dialog(study: Any) -> FormDialog:
    record = study.repo.study()

    def write(values: dict[str, Any]) -> str:
        path = Path(values["path"]).expanduser()
        draft = bool(values.get("draft"))
        if path.suffix.lower() == ".xlsx":
            from ...services.xlsform import export_xlsform

            export_xlsform(study, path, draft=draft)
        else:
            export_protocol(study, path, draft=draft)
        return str(path)

    return FormDialog(
        "Share the protocol",
        [Entry("path", "Write to (.json for a protocol file, .xlsx for an XLSForm)", value=f"{record.id}.json"),
         Entry("draft", "The open draft, for review (marked as a draft, not a published version)", kind="check",
               error_name="path")],
        write, save_label="Export", dialog_id="export-dialog",
        intro="A draft file imported into this study becomes its open draft again; into a new study, that "
              "study's first draft. Nothing is published by importing it.")
