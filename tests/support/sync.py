"""Laptops syncing one study through a hub (PouchDB Server), for the sync tests."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from citizen.domain.models import ConsentMethod, ContributionSource, canonical_json
from citizen.services import add_contribution, enrol_participant, import_protocol
from citizen.services.merge import canonical_form
from citizen.store import DataFolder
from citizen.sync.run import HubLogin, clone_study, sync_study

from .bundles import STUDY, laptop_folder, random_activity, study_of
from .factories import WALK, YES_ALL

FAST = {"retries": 1, "retry_delay": 0.05}


def sync(folder: DataFolder, url: str, direction: str = "both", contacts: bool = False, study: str = STUDY, **kw):
    login = HubLogin(url, hub_options=kw.pop("hub_options", FAST))
    return asyncio.run(sync_study(folder, study, login, direction, contacts, "tester", **kw))


def clone(folder: DataFolder, url: str, study_id: str | None = None, **kw):
    login = HubLogin(url, hub_options=kw.pop("hub_options", FAST))
    return asyncio.run(clone_study(folder, login, study_id, "tester", **kw))


def content(folder: DataFolder, study: str = STUDY, contacts: bool = False) -> str:
    """The study's content as two laptops must agree on it: participants' link tokens (and, unless
    they were sent, contact details) stay on each laptop."""
    form = canonical_form(study_of(folder) if study == STUDY else _open(folder, study))
    if not contacts:
        form.pop("contacts")
    form["participants"] = [{k: v for k, v in doc.items() if k != "token"} for doc in form["participants"]]
    return canonical_json(form)


def _open(folder: DataFolder, study: str):
    from citizen.services import open_study

    return open_study(folder, study)


def hub_rows(url: str) -> dict[str, dict]:
    from .hub import get

    return {r["id"]: r for r in get(url + "/_all_docs?include_docs=true&conflicts=true")["rows"]}


def local_revs(folder: DataFolder, study: str = STUDY) -> dict[str, str]:
    """The revision this laptop believes the hub holds, per document."""
    from citizen.sync.state import HubState, Settings

    settings = Settings.load(folder.path, study)
    state = HubState.open(folder.path, study, settings.url)
    return {k: v[0] for k, v in state.revs.items()}


def dumps(value) -> str:
    return json.dumps(value, sort_keys=True)


def differences(x: DataFolder, y: DataFolder, contacts: bool = False) -> list[str]:
    """Where two laptops' copies differ (empty when they hold the same study)."""
    cx, cy = json.loads(content(x, contacts=contacts)), json.loads(content(y, contacts=contacts))
    out = []
    for table in cx:
        ix = {canonical_json(d) for d in cx[table]}
        iy = {canonical_json(d) for d in cy[table]}
        out += [f"{table} only in the first: {d[:400]}" for d in sorted(ix - iy)[:3]]
        out += [f"{table} only in the second: {d[:400]}" for d in sorted(iy - ix)[:3]]
    return out


def started(tmp: Path, demo_file, name: str = "a", laptop: str = "AC", steps: int = 25, seed: int = 1):
    folder = laptop_folder(tmp / name, laptop)
    study = import_protocol(folder, demo_file, "Amina Yusuf")
    random_activity(study, random.Random(seed), steps, "Amina Yusuf")
    sam = enrol_participant(
        study,
        YES_ALL,
        ConsentMethod.desk,
        "Amina Yusuf",
        witness="Li Wei",  # open or paused
        contact={"name": "Sam", "phone": "0700 111"},
    )
    add_contribution(study, sam.id, WALK, ContributionSource.desk, "Amina Yusuf")
    return folder
