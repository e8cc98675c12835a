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

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
from citizen.export.plan import make_options, prepare_export
from citizen.export.run import export_data
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

from .support.commands import use_small_segments
from .support.export_before import export_files, use_the_code_before

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


def same_as_before(study, out: Path, options: dict, monkeypatch) -> dict[str, bytes]:
    """An export made from the kept export-ready form, held to the one the code before made from the records."""
    now = export_files(study, options, out / "now", 7, monkeypatch)
    with monkeypatch.context() as before:
        use_the_code_before(before)
        then = export_files(study, options, out / "before", 7, before)
    assert sorted(now) == sorted(then)
    for name in then:
        assert now[name] == then[name], name
    return now


@pytest.mark.parametrize("options", [{}, {"hash_codes": True, "shift_dates": True, "audience": "partners"}])
def test_a_missing_damaged_or_stale_export_form_gives_the_same_files(tmp_path, monkeypatch, caplog, options):
    use_small_segments(monkeypatch, 20)
    path = tmp_path / "data"
    with DataFolder(path) as data:
        study = create_demo(data, participants=8, contributions=60, seed=5)
        grow(open_study(data, study.id), random.Random(5))
        folder = path / "studies" / study.id

    def kept() -> list[Path]:
        return sorted(folder.glob("contributions/export*.cache")) + sorted(folder.glob("audit/activity*.cache"))

    def exported(label: str) -> tuple[dict[str, bytes], int]:
        """The export of a freshly opened study, and how many segments' export-ready form was made again."""
        with DataFolder(path) as data:
            study = open_study(data, folder.name)
            files = same_as_before(study, tmp_path / label, options, monkeypatch)
            tables = study.store.table("contributions"), study.store.table("audit")
            made = tables[0].kept["export"].rebuilt + tables[1].kept["activity"].rebuilt
        return files, made

    first, _ = exported("first")
    assert len(kept()) == 2 and len(list(folder.glob("contributions/0*.json"))) > 3  # one form for many segments
    assert first["contributions.csv"].count(b"\r\n") > 20
    assert exported("again") == (first, 0)  # read from the kept files alone

    for f in kept():
        f.unlink()
    files, made = exported("missing")
    assert files == first and made > 0

    caplog.clear()
    for f in (kept()[0], kept()[-1]):
        f.write_bytes(b'{"citizen-cache": 1, "kind": tru')  # cut short
    files, made = exported("damaged")
    assert files == first and made > 0 and "no data is affected" in caplog.text

    for f in kept():  # the right syntax, the wrong shape
        content = json.loads(f.read_bytes())
        for entry in content["segments"].values():
            entry["value"] = {"keys": [], "columns": [[1]], "answers": []}
        f.write_bytes(json.dumps(content).encode())
    files, made = exported("shape")
    assert files == first and made > 0

    older = {f: f.read_bytes() for f in kept()}  # kept while the data changes after them: stale
    given = first["contributions.csv"].split(b"\r\n")[1].split(b",")[0].decode()
    with DataFolder(path) as data:
        review_contributions(open_study(data, folder.name), [given], ReviewState.rejected, "checked again", "Amina Yusuf")
    for f, content in older.items():
        f.write_bytes(content)
    files, made = exported("stale")
    assert files != first and made > 0


def test_a_segment_holding_the_unexpected_is_exported_from_its_records(tmp_path, monkeypatch):
    from citizen.store.export_ready import ODD

    use_small_segments(monkeypatch, 20)
    path = tmp_path / "data"
    with DataFolder(path) as data:
        study = create_demo(data, participants=6, contributions=50, seed=3)
        folder = path / "studies" / study.id
    for table, change in (
        ("contributions", lambda doc: doc["values"].update(notes={"said": "=1+1"})),  # an answer that is a mapping
        ("audit", lambda doc: doc.update(target=5)),  # a target that is not text
    ):
        segment = folder / table / "000001.json"
        content = json.loads(segment.read_bytes())
        change(next(iter(content[table].values())))
        segment.write_text(json.dumps(content))
    with DataFolder(path) as data:
        study = open_study(data, folder.name)
        for options in ({}, {"shift_dates": True}):
            same_as_before(study, tmp_path / str(len(options)), options, monkeypatch)
        assert study.store.table("contributions").kept["export"].segment(1) == ODD
        assert study.store.table("audit").kept["activity"].segment(1) == ODD
        assert study.store.table("contributions").kept["export"].segment(0) != ODD


def test_answers_erased_at_a_withdrawal_leave_the_kept_export_form(tmp_path):
    rng = random.Random(4)
    path = tmp_path / "data"
    words = "heron nesting under the lock gates"
    with DataFolder(path) as data:
        study = open_study(data, create_demo(data, participants=5, contributions=20, seed=2).id)
        person = enrol_participant(study, answers(rng), ConsentMethod.phone, "volunteer")
        add_contribution(
            study, person.id, dict(walk(rng, datetime.now(timezone.utc)), notes=words), ContributionSource.phone, "volunteer"
        )
        contributions = study.store.table("contributions").folder

    def kept_text() -> str:
        return "".join(f.read_text() for f in contributions.glob("export*.cache"))

    assert words in kept_text()  # kept once written back
    with DataFolder(path) as data:
        withdraw(open_study(data, study.id), person.id, True, ConsentMethod.phone, "participant")
    assert kept_text() and words not in kept_text()
