"""Exports leave the laptop: each one is recorded in the audit log with who approved it."""

from __future__ import annotations

from typing import Any

from .common import Refused, Study, audit, change, serialised


@serialised
def record_export(study: Study, folder: str, summary: dict[str, Any], actor: str) -> None:
    """Record that data left the laptop: where to, with which options, and who approved it."""
    if not (actor or "").strip():
        raise Refused("An export needs the name of the person who approved it.")
    with change(study) as tx:
        audit(tx, actor, "data exported", folder[-200:], dict(summary, approved_by=actor.strip()), laptop=study.laptop)
