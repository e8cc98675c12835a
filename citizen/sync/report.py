"""What a sync did, in plain lines for the person who asked and as data for the activity log."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SyncReport:
    study_id: str
    hub: str
    direction: str = "both"
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    finished_at: str = ""

    def lines(self) -> list[str]:
        out = [
            f"Synced '{self.study_id}' with {self.hub} in {self.seconds:.1f} s: {self.pushed} documents sent, "
            f"{self.pulled} received, {self.conflicts} conflicts resolved."
        ]
        if self.conflicts:
            out.append("Each conflict was resolved by the bundle merge rules; the value that lost is in the activity log.")
        if self.skipped:
            out.append(f"{len(self.skipped)} documents on the hub are not citizen records and were left out:")
            out += ["  " + s for s in self.skipped[:10]]
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
