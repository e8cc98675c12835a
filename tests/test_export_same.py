"""The fast export writes byte for byte the files the export wrote before it was made fast (issue 16).

Random studies (the demo's history, then people who join, answer with odd words, correct their answers,
change their consent over time, withdraw with and without removal), each exported with the code as it was
(tests/support/export_before.py) and as it is now, under many choices of options.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
from citizen.export import datapackage, fhir
from citizen.export import rows as export_rows
from citizen.export.plan import make_options, prepare_export
from citizen.export.run import export_data, write_planned
from citizen.services import (
    Refused,
    add_contribution,
    change_consent,
    correct_contribution,
    enrol_participant,
    open_study,
    review_contributions,
    withdraw,
)
from citizen.services.demo import create_demo
from citizen.store import DataFolder

from .support.export_before import use_the_code_before

ODD_WORDS = [
    "plain words",
    "=SUM(A1:A9)",
    '=HYPERLINK("http://evil.example","click")',
    "+44 20 7946 0000",
    "-12 degrees felt",
    "@cmd",
    "\tleading tab",
    "\rleading return",
    "\uff1d1+1",
    "line one\nline two\r\nline three",
    'She said "stop", then left',
    "a, b; and c",
    "الهواء كان سيئًا عند الجسر",
    "空气很差 😷🚌💨",
    "'already quoted",
    " spaces around ",
    "",
]
WRITTEN = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ROUTES = ["canal_path", "high_street", "school_run", "park_loop", "other"]
SYMPTOMS = ["cough", "wheeze", "short_breath", "itchy_eyes", "headache"]
ROLES = ("share_partners", "quote_words", "contact_later")
OPTIONS = [
    {},
    {"audience": "partners"},
    {"labels": True, "language": "ar"},
    {"hash_codes": True, "shift_dates": True},
    {"review_states": ["accepted", "received"], "versions": [1]},
    {"drop_free_text": True, "bom": True},
    {"identifying": True, "contacts": True, "fhir": True},
    {"format": "redcap", "labels": True},
    {"format": "redcap", "audience": "partners", "shift_dates": True},
]


def answers(rng: random.Random) -> dict[str, bool]:
    return {"take_part": True, **{role: rng.random() < 0.7 for role in ROLES}}


def walk(rng: random.Random, when: datetime) -> dict:
    return {
        "walk_date": when.date().isoformat(),
        "route": rng.choice(ROUTES),
        "walk_minutes": str(rng.randint(1, 120)),
        "traffic": str(rng.randint(1, 5)),
        "smelled_fumes": rng.choice([True, False]),
        "symptoms": rng.sample(SYMPTOMS, rng.randint(0, 3)),
        "breathing": str(rng.randint(1, 5)),
        "pm25": str(rng.choice([3.5, 12, 0.25, 40.75])),
        "worst_spot": rng.choice(ODD_WORDS)[:200],
        "notes": rng.choice(ODD_WORDS),
        "home_street": rng.choice(ODD_WORDS)[:200],
    }


def grow(study, rng: random.Random) -> None:
    """People join, give, change their minds over time, and some leave."""
    start = datetime(2026, 9, 1, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=rng.randint(0, 9999))
    given = []
    for n in range(rng.randint(5, 10)):
        at = start + timedelta(hours=7 * n, seconds=rng.randint(0, 59), microseconds=rng.choice([0, 250_000]))
        person = enrol_participant(study, answers(rng), ConsentMethod.phone, "volunteer", at=at)
        mine: list[str] = []
        for step in range(rng.randint(1, 6)):
            at += timedelta(hours=rng.randint(1, 40), seconds=rng.randint(0, 59))
            choice = rng.random()
            try:
                if choice < 0.5:
                    c = add_contribution(study, person.id, walk(rng, at), ContributionSource.phone, "volunteer", at=at)
                    given.append(c.id)
                    mine.append(c.id)
                elif choice < 0.6 and mine:
                    correct_contribution(study, person.id, rng.choice(mine), walk(rng, at), "participant", at=at)
                elif choice < 0.85:
                    change_consent(study, person.id, answers(rng), ConsentMethod.phone, "participant", at=at)
                elif step:
                    withdraw(study, person.id, rng.random() < 0.5, ConsentMethod.phone, "participant", at=at)
            except Refused:
                pass  # a withdrawn participant gives no more; the export must agree with itself either way
    for cid in rng.sample(given, len(given) // 2):
        try:
            review_contributions(study, [cid], rng.choice([ReviewState.accepted, ReviewState.rejected]), "checked", "Amina Yusuf")
        except Refused:
            pass  # removed with its contributor's withdrawal


def export_files(study, options: dict, out: Path, seed: int, monkeypatch) -> dict[str, bytes]:
    """Every file of one export; the secret salt, the date shifts and the time of writing the same each time."""
    rng = random.Random(seed)
    monkeypatch.setattr(export_rows, "secrets", SimpleNamespace(choice=rng.choice, token_bytes=rng.randbytes))
    for module in (datapackage, fhir):
        monkeypatch.setattr(module, "utcnow", lambda: WRITTEN)
    folder = write_planned(prepare_export(study, make_options(**options)), "Amina Yusuf", out).folder
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_export_writes_the_same_bytes_as_the_export_before(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    with DataFolder(tmp_path / "data") as data:
        study = create_demo(data, participants=rng.randint(6, 14), contributions=rng.randint(30, 90), seed=seed)
        study = open_study(data, study.id)
        grow(study, rng)
        export_data(study, prepare_export(study, make_options()), "Amina Yusuf", tmp_path / "earlier")  # in the activity log
        for n, options in enumerate(OPTIONS):
            now = export_files(study, options, tmp_path / f"now-{n}", seed + n, monkeypatch)
            with monkeypatch.context() as before:
                use_the_code_before(before)
                then = export_files(study, options, tmp_path / f"before-{n}", seed + n, before)
            assert sorted(now) == sorted(then), options
            for name in then:
                assert now[name] == then[name], (options, name)
        default = json.loads(export_files(study, {}, tmp_path / "default", seed, monkeypatch)["datapackage.json"])
    reasons = {e["reason"] for e in default["exclusions"]}
    assert default["rows"]["contributions.csv"] > 20  # the comparison had rows to compare
    assert "the contributor withdrew and asked for their data to be removed" in reasons
