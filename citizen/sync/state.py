"""What this laptop remembers about its syncs of one study with one hub, beside the study.

    DATA/sync/<study>/settings.json          the hub last used: its address (never a password),
                                             the user name, contacts or not, sync every N minutes
    DATA/sync/<study>/<hub>/state.json       checkpoints and the last sync's summary
    DATA/sync/<study>/<hub>/revs.json        document id -> [revision, content digest, open leaves]
    DATA/sync/<study>/<hub>/revs.log         changes to revs.json since, one fsynced line per batch

The revisions file says which revision of each document the hub holds and what content it has,
so a sync sends only what changed. Losing it costs time, never data: the next sync pulls from the
start and learns it again (revisions are a pure function of content).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..store.durable import atomic_write, fsync_dir

STATE_SCHEMA = 1
# document id -> [revision the hub holds, digest of its content (None: unknown), leaves to close]
Revs = dict[str, list[Any]]


def hub_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _read_json(path: Path) -> Optional[Any]:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


@dataclass
class Settings:
    url: str = ""
    user: str = ""
    include_contacts: bool = False
    every_minutes: int = 0  # 0: only when asked

    @classmethod
    def load(cls, data_path: Path, study_id: str) -> Settings:
        raw = _read_json(data_path / "sync" / study_id / "settings.json")
        if not isinstance(raw, dict):
            return cls()
        return cls(
            url=str(raw.get("url") or ""),
            user=str(raw.get("user") or ""),
            include_contacts=bool(raw.get("include_contacts")),
            every_minutes=int(raw.get("every_minutes") or 0),
        )

    def save(self, data_path: Path, study_id: str) -> None:
        _write_json(
            data_path / "sync" / study_id / "settings.json",
            {
                "schema": STATE_SCHEMA,
                "url": self.url,
                "user": self.user,
                "include_contacts": self.include_contacts,
                "every_minutes": self.every_minutes,
            },
        )


@dataclass
class HubState:
    """Checkpoints and revisions for one study and one hub address."""

    folder: Path
    checkpoints: dict[str, Any] = field(default_factory=dict)  # replication id -> local checkpoint
    last: dict[str, Any] = field(default_factory=dict)  # the last sync's summary
    revs: Revs = field(default_factory=dict)
    _log: Any = None
    _log_lines: int = 0

    @classmethod
    def open(cls, data_path: Path, study_id: str, url: str) -> HubState:
        folder = data_path / "sync" / study_id / hub_key(url)
        state = cls(folder)
        raw = _read_json(folder / "state.json")
        if isinstance(raw, dict) and raw.get("url") == url:
            state.checkpoints = dict(raw.get("checkpoints") or {})
            state.last = dict(raw.get("last") or {})
        revs = _read_json(folder / "revs.json")
        if isinstance(revs, dict):
            state.revs = revs
        state._replay_log()
        return state

    def _replay_log(self) -> None:
        try:
            with open(self.folder / "revs.log", "rb") as fh:
                for line in fh:
                    try:
                        changes = json.loads(line)
                    except ValueError:
                        break  # a line cut short by a crash: everything before it stands
                    if isinstance(changes, dict):
                        self.revs.update(changes)
                        self._log_lines += 1
        except OSError:
            pass

    def record(self, changes: Revs) -> None:
        """Remember revisions the hub now holds, durably, before anything relies on them."""
        if not changes:
            return
        self.revs.update(changes)
        if self._log is None:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.folder / "revs.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._log = os.fdopen(fd, "ab")
        self._log.write(json.dumps(changes, separators=(",", ":")).encode("utf-8") + b"\n")
        self._log.flush()
        os.fsync(self._log.fileno())
        self._log_lines += 1

    def forget_revs(self) -> None:
        """The hub is not the one these revisions were learned from: learn them again."""
        self.revs = {}
        self._close_log()
        for name in ("revs.json", "revs.log"):
            try:
                (self.folder / name).unlink()
            except OSError:
                pass

    def save(self, url: str) -> None:
        _write_json(
            self.folder / "state.json", {"schema": STATE_SCHEMA, "url": url, "checkpoints": self.checkpoints, "last": self.last}
        )

    def compact(self) -> None:
        """Fold the log into revs.json (at the end of a sync)."""
        if not self._log_lines:
            return
        self._close_log()
        _write_json(self.folder / "revs.json", self.revs)
        try:
            (self.folder / "revs.log").unlink()
            fsync_dir(self.folder)
        except OSError:
            pass
        self._log_lines = 0

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self._close_log()


def last_summary(data_path: Path, study_id: str) -> dict[str, Any]:
    """The last sync's summary with the hub in the study's settings (empty when never synced)."""
    settings = Settings.load(data_path, study_id)
    if not settings.url:
        return {}
    raw = _read_json(data_path / "sync" / study_id / hub_key(settings.url) / "state.json")
    return dict(raw.get("last") or {}) if isinstance(raw, dict) else {}
