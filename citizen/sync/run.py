"""Sync a study with a hub, or clone a study from one: the entry points the command line and the
terminal app use."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Optional

from pydantic import ValidationError

from ..services.merge import BUNDLE_TABLES, MODELS, Bundle, BundleRefused, check_bundle, merge_bundle
from ..store import DataFolder
from .client import Hub, HubError, split_url
from .mapping import NotARecord, from_doc, typed_numbers
from .replicate import BATCH, Progress, Replicator, SyncReport
from .state import HubState, Settings


@dataclass
class HubLogin:
    """Where the hub is and who signs in; the password lives only in memory."""

    url: str
    user: str = ""
    password: str = ""
    hub_options: Optional[dict[str, Any]] = None

    def hub(self) -> Hub:
        address, user, password = split_url(self.url)
        return Hub(address, self.user or user, self.password or password, **(self.hub_options or {}))


async def sync_study(
    data: DataFolder,
    study_id: str,
    login: HubLogin,
    direction: str = "both",
    include_contacts: bool = False,
    actor: str = "sync",
    progress: Progress = None,
    batch: int = BATCH,
) -> SyncReport:
    """One replication of the study with the hub (``both``, ``pull`` or ``push``)."""
    if direction not in ("both", "pull", "push"):
        raise ValueError(direction)
    async with login.hub() as hub:
        settings = Settings.load(data.path, study_id)
        settings.url, settings.user, settings.include_contacts = hub.shown, login.user, include_contacts
        report = await Replicator(data, study_id, hub, actor, include_contacts, progress, batch).run(direction)
        settings.save(data.path, study_id)
        return report


async def clone_study(
    data: DataFolder,
    login: HubLogin,
    study_id: Optional[str] = None,
    actor: str = "sync",
    progress: Progress = None,
    batch: int = BATCH,
) -> SyncReport:
    """Put a study that is only on the hub onto this laptop, then receive all of it."""
    async with login.hub() as hub:
        if await hub.info() is None:
            raise HubError(f"The hub has no database at {hub.shown}; check the address.")
        doc = await hub.get("study")
        if doc is None or doc.get("_deleted"):
            raise HubError(f"The database at {hub.shown} holds no citizen study (it has no 'study' document).")
        try:
            record = _typed("study", from_doc(doc)[1])
            versions = [_typed("protocol_versions", from_doc(d)[1]) for d in await hub.range_docs("protocol")]
        except (NotARecord, ValidationError) as exc:
            raise HubError(f"The database at {hub.shown} does not hold a citizen study as citizen writes it ({exc}).") from None
        hub_id = str(record.get("id"))
        local_id = study_id or hub_id
        if data.has_study(local_id):
            raise HubError(
                f"A study '{local_id}' is already on this laptop: `citizen sync {local_id} {hub.shown}` "
                "brings it up to date, or choose another id with --id."
            )
        records: dict[str, list[dict]] = {name: [] for name in BUNDLE_TABLES}
        records["study"] = [dict(record, id=local_id)]
        records["protocol_versions"] = sorted(versions, key=lambda d: d.get("number", 0))
        try:
            bundle = check_bundle(Bundle(local_id, "", "", records))
        except BundleRefused as exc:
            raise HubError(f"The study on the hub cannot be cloned: {exc}") from None
        await asyncio.to_thread(merge_bundle, data, bundle, actor, created_action="study cloned from hub")
        state = HubState.open(data.path, local_id, hub.shown)
        state.checkpoints["hub_study"] = hub_id
        state.save(hub.shown)
        state.close()
        Settings(url=hub.shown, user=login.user).save(data.path, local_id)
        return await Replicator(data, local_id, hub, actor, False, progress, batch).run("pull")


def _typed(table: str, record: dict) -> dict:
    MODELS[table].model_validate(record)
    return typed_numbers(table, record)
