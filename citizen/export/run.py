"""An export from start to end: plan, check, write, and record who approved it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..services.common import Refused, Study, audit, change, serialised
from .files import ExportResult, default_folder, write_export
from .plan import ExportPlan, Progress


def write_planned(plan: ExportPlan, approved_by: str, out: Path, progress: Optional[Progress] = None) -> ExportResult:
    """Write the planned export (all files or none) into ``out``; reads only."""
    return write_export(plan, out, approved_by, progress)


@serialised
def record_export(study: Study, folder: str, summary: dict[str, Any], actor: str) -> None:
    """Record that data left the laptop: where to, with which options, and who approved it."""
    if not (actor or "").strip():
        raise Refused("An export needs the name of the person who approved it.")
    with change(study) as tx:
        audit(tx, actor, "data exported", folder[-200:], dict(summary, approved_by=actor.strip()), laptop=study.laptop)


def record_written(study: Study, plan: ExportPlan, result: ExportResult, approved_by: str) -> None:
    """Record in the audit log that this export left the laptop, and who approved it."""
    m = result.manifest
    record_export(
        study,
        str(result.folder),
        {
            "format": plan.options.format.value,
            "audience": plan.options.audience.value,
            "rows": m["rows"],
            "excluded": sum(e["count"] for e in m["exclusions"]),
            "identifying": plan.options.identifying,
            "contacts": plan.options.contacts,
            "hash_codes": plan.options.hash_codes,
            "shift_dates": plan.options.shift_dates,
        },
        approved_by,
    )


def export_data(
    study: Study, plan: ExportPlan, approved_by: str, out: Optional[Path] = None, progress: Optional[Progress] = None
) -> ExportResult:
    """Write the planned export and record it in the audit log."""
    result = write_planned(plan, approved_by, out or default_folder(study.store.folder), progress)
    record_written(study, plan, result, approved_by)
    return result
