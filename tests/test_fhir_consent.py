"""--fhir: the consent log as a FHIR R5 Bundle of Consent resources, validated with fhir.resources."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from datetime import timedelta
from pathlib import Path

from fhir.resources.bundle import Bundle
from fhir.resources.consent import Consent

from citizen.domain.models import ConsentMethod
from citizen.services import change_consent, enrol_participant, withdraw

from .support import exports
from .support.commands import citizen_command
from .support.exports import problems, read
from .support.factories import STUDY, T0, YES_ALL

R5_STATUS = {"draft", "active", "inactive", "not-done", "entered-in-error", "unknown"}


def export(study, out: Path, **options):
    return exports.export(study, out, fhir=True, **options)


def consents(folder: Path) -> list[dict]:
    doc = json.loads((folder / "consent.fhir.json").read_text("utf-8"))
    bundle = Bundle.model_validate(doc)  # FHIR R5, as fhir.resources models it
    assert bundle.type == "collection" and len(bundle.entry) == len(doc["entry"])
    for entry in doc["entry"]:
        Consent.model_validate(entry["resource"])
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    return [entry["resource"] for entry in doc["entry"]]


def extension(resource: dict, name: str):
    [value] = [e for e in resource["extension"] if e["url"] == f"urn:citizen:fhir:{name}"]
    return next(v for k, v in value.items() if k.startswith("value"))


def test_each_consent_event_is_a_valid_r5_consent(study, tmp_path):
    keeps = enrol_participant(study, {**YES_ALL, "contact_later": False}, ConsentMethod.phone, "volunteer", at=T0)
    change_consent(
        study, keeps.id, {**YES_ALL, "quote_words": False}, ConsentMethod.phone, "participant", at=T0 + timedelta(days=1)
    )
    withdraw(study, keeps.id, False, ConsentMethod.phone, "participant", at=T0 + timedelta(days=2))
    desk = enrol_participant(study, YES_ALL, ConsentMethod.desk, "Tom Hale", witness="Tom Hale", language="zh", at=T0)
    gone = enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer", at=T0)
    withdraw(study, gone.id, True, ConsentMethod.phone, "participant", at=T0 + timedelta(days=1))

    result = export(study, tmp_path / "out")
    assert problems(result.folder) == []
    assert "consent-fhir" in {r["name"] for r in result.package["resources"]}
    resources = consents(result.folder)
    log = read(result.folder / "consent_log.csv")
    assert len(resources) == len(log) == 4  # the removed participant's events do not leave
    text = (result.folder / "consent.fhir.json").read_text("utf-8")
    assert gone.code not in text and keeps.id not in text and "Tom Hale" not in text
    by_code: dict[str, list[dict]] = {}
    for resource, row in zip(resources, log, strict=True):
        assert resource["status"] in R5_STATUS and resource["decision"] in ("permit", "deny")
        assert resource["subject"]["identifier"]["value"] == row["participant"] == resource["grantor"][0]["identifier"]["value"]
        [attachment] = resource["sourceAttachment"]
        assert attachment["language"] == row["language"]
        assert attachment["extension"][0]["valueString"] == row["text_sha256"]
        assert extension(resource, "consent-method") == row["method"]
        assert extension(resource, "consent-event") == row["event"]
        assert extension(resource, "consent-document-version") == int(row["document_version"])
        assert resource["period"]["start"] == row["at"]
        by_code.setdefault(row["participant"], []).append(resource)

    enrol, change, left = by_code[keeps.code]
    assert [r["status"] for r in (enrol, change, left)] == ["inactive", "inactive", "inactive"]
    assert enrol["decision"] == "permit" and [p["code"][0]["coding"][0]["code"] for p in enrol["provision"]] == ["contact_later"]
    assert [p["code"][0]["coding"][0]["code"] for p in change["provision"]] == ["quote_words"]
    assert change["provision"][0]["code"][0]["coding"][1] == {  # each item named by its role too
        "system": "urn:citizen:fhir:consent-role",
        "code": "quote_words",
        "display": "quoting the participant's own words",
    }
    assert left["decision"] == "deny" and left["provision"] == [
        {
            "dataPeriod": {"end": left["period"]["start"]},
            "purpose": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "HRESCH",
                    "display": "healthcare research",
                }
            ],
        }
    ]
    [witnessed] = by_code[desk.code]
    assert witnessed["status"] == "active" and witnessed["decision"] == "permit" and "provision" not in witnessed
    assert witnessed["verification"][0]["verified"] is True
    assert extension(witnessed, "consent-method") == "desk"
    document = study.repo.current_protocol().consent
    shown = document.shown_text("zh").encode("utf-8")
    assert witnessed["sourceAttachment"][0]["hash"] == base64.b64encode(hashlib.sha1(shown).digest()).decode()
    assert witnessed["sourceAttachment"][0]["size"] == str(len(shown))


def test_codes_and_dates_are_those_of_the_rest_of_the_export(demo_data_path, tmp_path, run_env):
    out = tmp_path / "fhir"
    done = subprocess.run(
        [
            *citizen_command(),
            "--data",
            str(demo_data_path),
            "--as",
            "Amina Yusuf",
            "export",
            STUDY,
            "--out",
            str(out),
            "--fhir",
            "--hash-codes",
            "--shift-dates",
            "--yes",
        ],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert problems(out) == []
    resources = consents(out)
    log = read(out / "consent_log.csv")
    assert [(r["subject"]["identifier"]["value"], r["period"]["start"]) for r in resources] == [
        (row["participant"], row["at"]) for row in log
    ]
    codes = {row["participant"] for row in read(out / "participants.csv")}
    assert {r["subject"]["identifier"]["value"] for r in resources} <= codes
    latest = {}
    for r in resources:
        latest[r["subject"]["identifier"]["value"]] = r
    assert sum(r["status"] == "active" for r in resources) == sum(r["decision"] == "permit" for r in latest.values())
