"""datapackage.json: every export is a Frictionless Data Package that `frictionless validate` passes,
with activity.csv as one of its resources, so a partner can audit how the study was run."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.services import add_contribution, enrol_participant, open_study, withdraw
from citizen.store import DataFolder

from .support.exports import WALK, export, problems
from .support.factories import STUDY, T0, YES_ALL
from .support.studies import every_kind_study

OPTION_SETS = {
    "default": {},
    "labels": {"labels": True},
    "labels-zh": {"labels": True, "language": "zh"},
    "hashed-shifted-bom": {"hash_codes": True, "shift_dates": True, "bom": True},
    "partners": {"audience": "partners", "drop_free_text": True},
    "identifying-contacts": {"identifying": True, "contacts": True},
    "filters": {"review_states": ["accepted"], "versions": [2]},
    "redcap": {"format": "redcap"},
    "redcap-partners": {"format": "redcap", "audience": "partners", "hash_codes": True},
}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def demo_exports(tmp_path_factory):
    """The demo study exported once in each option set the tests use."""
    from citizen.services.demo import create_demo

    base = tmp_path_factory.mktemp("datapackage")
    with DataFolder(base / "data") as data:
        study = create_demo(data, participants=40, contributions=200, seed=7)
        return {name: export(study, base / name, **options) for name, options in OPTION_SETS.items()}


@pytest.mark.parametrize("name", list(OPTION_SETS))
def test_frictionless_validates_the_demo_export(demo_exports, name):
    result = demo_exports[name]
    assert problems(result.folder) == []
    package = json.loads((result.folder / "datapackage.json").read_text("utf-8"))
    files = sorted(p.name for p in result.folder.iterdir())
    assert files == sorted([r["path"] for r in package["resources"]] + ["datapackage.json"])
    assert "activity.csv" in files and "manifest.json" not in files
    assert package["approved_by"] == "Amina Yusuf" and package["options"] == result.package["options"]
    for resource in package["resources"]:
        assert package["rows"][resource["path"]] == resource["rows"] == len(read(result.folder / resource["path"]))


def test_the_frictionless_command_validates_an_export(demo_exports):
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "frictionless"),
            "validate",
            "--json",
            str(demo_exports["default"].folder / "datapackage.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert json.loads(done.stdout)["valid"] is True


def test_the_schema_speaks_the_data_dictionary(demo_exports):
    package = json.loads((demo_exports["default"].folder / "datapackage.json").read_text("utf-8"))
    resources = {r["name"]: r for r in package["resources"]}
    contributions = resources["contributions"]["schema"]
    assert contributions["primaryKey"] == ["contribution_id"] and contributions["missingValues"] == [""]
    assert contributions["foreignKeys"] == [
        {"fields": ["participant"], "reference": {"resource": "participants", "fields": ["participant"]}}
    ]
    assert resources["participants"]["schema"]["primaryKey"] == ["participant"]
    fields = {f["name"]: f for f in contributions["fields"]}
    assert fields["route"]["constraints"]["enum"] == ["canal_path", "high_street", "school_run", "park_loop", "other"]
    assert fields["route"]["type"] == "string" and fields["route"]["title"] == "Which route did you walk?"
    assert "zh: " in fields["route"]["description"] and "ar: " in fields["route"]["description"]
    assert fields["symptoms__cough"]["constraints"] == {"enum": [0, 1]}
    assert fields["walk_date"]["type"] == "date" and fields["submitted_at"]["type"] == "datetime"
    assert fields["breathing"]["type"] == "integer" and fields["contribution_id"]["constraints"]["required"]
    assert fields["start_time"] == {**fields["start_time"], "type": "time", "format": "%H:%M"}
    assert fields["pm25"]["type"] == "number" and fields["smelled_fumes"]["constraints"] == {"enum": [0, 1]}
    assert resources["contributions"]["hash"].startswith("sha256:") and resources["activity"]["rows"] > 0
    labelled = json.loads((demo_exports["labels-zh"].folder / "datapackage.json").read_text("utf-8"))
    route = next(f for f in labelled["resources"][0]["schema"]["fields"] if f["name"] == "route")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in value) for value in route["constraints"]["enum"])


def test_a_changed_file_or_a_value_outside_its_codes_fails_validation(demo_exports, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(demo_exports["default"].folder, folder)
    text = (folder / "participants.csv").read_text("utf-8")
    (folder / "participants.csv").write_text(text.replace(",phone,", ",fone,", 1), "utf-8")
    assert any("hash" in p for p in problems(folder))
    package = json.loads((folder / "datapackage.json").read_text("utf-8"))
    for resource in package["resources"]:
        resource.pop("hash"), resource.pop("bytes")
    route = next(f for f in package["resources"][0]["schema"]["fields"] if f["name"] == "route")
    route["constraints"]["enum"] = route["constraints"]["enum"][:1]
    (folder / "datapackage.json").write_text(json.dumps(package), "utf-8")
    assert any("constraint" in p for p in problems(folder))


def test_every_kind_of_answer_has_its_type(data, tmp_path):
    study = every_kind_study(data)
    person = enrol_participant(study, {"take_part": True}, ConsentMethod.phone, "volunteer", at=T0)
    answers = {
        "the_text_question": "-12 degrees",
        "the_long_text_question": "=1+1",
        "the_integer_question": "-0",
        "the_decimal_question": "0.75",
        "the_single_choice_question": "high",
        "the_multiple_choice_question": ["cough"],
        "the_yes_no_question": "yes",
        "the_date_question": "2026-05-01",
        "the_time_question": "07:05",
        "the_rating_question": "5",
        "the_place_question": "Elm Row",
    }
    add_contribution(study, person.id, answers, ContributionSource.desk, "Amina", at=T0 + timedelta(hours=1))
    for name, options in {"plain": {}, "labels": {"labels": True, "language": "fr"}, "all": {"identifying": True}}.items():
        result = export(study, tmp_path / name, **options)
        assert problems(result.folder) == []
    schema = result.package["resources"][0]["schema"]
    types = {f["name"]: f["type"] for f in schema["fields"]}
    assert types["the_decimal_question"] == "number" and types["the_time_question"] == "time"
    assert types["the_rating_question"] == "integer" and types["the_place_question"] == "string"
    assert types["the_yes_no_question"] == "integer" and types["the_multiple_choice_question__cough"] == "integer"


def test_activity_leaves_with_codes_only(study, tmp_path):
    kept = enrol_participant(
        study, YES_ALL, ConsentMethod.phone, "volunteer", at=T0, contact={"name": "Rosa Diaz", "phone": "07700 900123"}
    )
    gone = enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer", at=T0)
    private = enrol_participant(study, {**YES_ALL, "share_partners": False}, ConsentMethod.phone, "volunteer", at=T0)
    walk = add_contribution(
        study,
        kept.id,
        {**WALK, "notes": "Coughing at the bus stop."},
        ContributionSource.phone,
        "volunteer",
        at=T0 + timedelta(hours=1),
    )
    removed = add_contribution(study, gone.id, WALK, ContributionSource.phone, "volunteer", at=T0 + timedelta(hours=2))
    add_contribution(study, private.id, WALK, ContributionSource.phone, "volunteer", at=T0 + timedelta(hours=3))
    withdraw(study, gone.id, remove_data=True, actor="participant", method=ConsentMethod.phone)

    team = export(study, tmp_path / "team", hash_codes=True)
    partners = export(study, tmp_path / "partners", audience="partners")
    for result in (team, partners):
        assert problems(result.folder) == []
        text = (result.folder / "activity.csv").read_text("utf-8")
        for secret in ("Coughing", "Rosa", "07700", gone.code, removed.id, kept.id, gone.id):
            assert secret not in text
    rows = read(team.folder / "activity.csv")
    hashed = {r["participant"] for r in read(team.folder / "participants.csv")}
    assert {r["participant"] for r in rows if r["participant"]} == hashed | {"(not in this export)"}
    assert {"participant enrolled", "contribution added", "participant withdrew", "protocol published"} <= {
        r["action"] for r in rows
    }
    assert [r["target"] for r in rows if r["action"] == "contribution added"].count(walk.id) == 1
    shared = {r["participant"] for r in read(partners.folder / "activity.csv") if r["participant"]}
    assert kept.code in shared and private.code not in shared


def test_the_activity_of_a_demo_export_names_only_exported_participants(demo_data_path, tmp_path):
    with DataFolder(demo_data_path) as data:
        result = export(open_study(data, STUDY), tmp_path / "demo", shift_dates=True)
    codes = {r["participant"] for r in read(result.folder / "participants.csv")}
    assert {r["participant"] for r in read(result.folder / "activity.csv") if r["participant"]} <= codes | {
        "(not in this export)"
    }
