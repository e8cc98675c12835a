"""An export from start to end: plan, check, write, and record who approved it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..services.common import Study
from ..services.exports import record_export
from .files import ExportResult, default_folder, write_export
from .plan import ExportPlan, Progress


def export_data(study: Study, plan: ExportPlan, approved_by: str, out: Optional[Path] = None,
                progress: Optional[Progress] = None) -> ExportResult:
    """Write the planned export (all files or none) and record it in the audit log."""
    folder = out or default_folder(plan.study_id)
    result = write_export(plan, folder, approved_by, progress)
    m = result.manifest
    record_export(study, str(result.folder), {
        "format": plan.options.format.value, "audience": plan.options.audience.value,
        "rows": m["rows"], "excluded": sum(e["count"] for e in m["exclusions"]),
        "identifying": plan.options.identifying, "contacts": plan.options.contacts,
        "hash_codes": plan.options.hash_codes, "shift_dates": plan.options.shift_dates,
    }, approved_by)
    return result
