"""A study's figures read as stored, with no record model: what the studies list shows (its title,
status, counts and last change), so the first screen parses no record and loads no pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from .durable import StoreDamaged
from .store import StudyStore


class StoredStudy:
    """Plain reads of one study; ``StudyRepo`` adds the typed records on top."""

    def __init__(self, store: StudyStore):
        self.store = store

    def _t(self, name: str):
        return self.store.table(name)

    def study_doc(self) -> dict[str, Any]:
        """The study record as stored (for lists that show a few of its fields)."""
        doc = self._t("study").get(1)
        if doc is None:
            raise StoreDamaged(self.store.folder / "study", "the study record is missing")
        return doc

    def current_numbers(self) -> tuple[Optional[int], Optional[int]]:
        """The protocol and consent version numbers in force, read without parsing the protocol."""
        table = self._t("protocol_versions")
        count = table.count_rows()
        doc = table.get(count) if count else None
        if doc is None:
            return None, None
        consent = doc.get("consent")
        return doc.get("number"), consent.get("version") if isinstance(consent, dict) else None

    def participant_count(self) -> int:
        return self._t("participants").count_rows()

    def contribution_count(self) -> int:
        """Contributions kept (tombstones of removed ones are not counted)."""
        return self.contribution_counts().get("live", 0)

    def contribution_counts(self) -> dict[str, int]:
        """Counts over every contribution without reading them all: ``rows`` (tombstones too),
        ``live``, ``removed``, ``review:<state>`` and ``week:<ISO week>`` (of the live ones)."""
        summary = self._t("contributions").summary
        assert summary is not None
        return summary.totals()

    def last_activity(self) -> Optional[datetime]:
        """When the study last changed: the time of its newest audit event, as stored (ValueError
        when that event is not of the expected shape; ``StudyRepo`` then says what is wrong)."""
        table = self._t("audit")
        count = table.count_rows()
        doc = table.get(count) if count else None
        try:
            return datetime.fromisoformat(doc["at"]) if doc is not None else None
        except (KeyError, TypeError) as exc:
            raise ValueError("the newest audit event has no time") from exc
