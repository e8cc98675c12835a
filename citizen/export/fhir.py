"""consent.fhir.json: the consent log as an HL7 FHIR R5 Bundle, a Consent resource per consent event.

Health systems keep consent as FHIR Consent resources, so a study's consent log in that form can go
with its data to a partner's records system. It is made from the rows of consent_log.csv, so it is
exactly as pseudonymous: the participant is the code this export gives them (hashed if asked), dates
move with their shift, and only participants in the export appear.

Each Consent says (R5: ``decision`` on the resource, ``provision`` entries as its exceptions):
granted, changed or renewed consent is ``permit`` with a ``deny`` exception per optional item declined
(named by its id and by its role);
a withdrawal is ``deny``, with a ``permit`` exception for what was already given when the person chose
"keep what I gave". A participant's latest event is ``active``, earlier ones ``inactive``. The source
attachment is the consent text shown, in its language, with its SHA-1 (FHIR's hash) and citizen's
SHA-256 fingerprint; the method and the document version are extensions; a witness is a verification.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any, Optional

from ..domain.models import ROLE_NAMES, ConsentDocument, pick, utcnow
from .plan import ExportPlan

FHIR_JSON = "consent.fhir.json"
BASE = "urn:citizen:fhir"
ITEM_SYSTEM = f"{BASE}:consent-item"
ROLE_SYSTEM = f"{BASE}:consent-role"
SCOPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research", "display": "Research"}]}
RESEARCH = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HRESCH", "display": "healthcare research"}
    ]
}
NAMESPACE = uuid.UUID("6f1c2b0e-4a8e-4c55-9d6a-3c1f0e2b7a10")  # stable ids: the same export, the same resources


def _item_concept(study_id: str, document: Optional[ConsentDocument], item_id: str, language: str) -> dict[str, Any]:
    """The item by its id in this study, and by its role (what saying yes lets the team do)."""
    coding = [{"system": f"{ITEM_SYSTEM}:{study_id}", "code": item_id}]
    item = next((i for i in document.items if i.id == item_id), None) if document else None
    if item is not None:
        coding[0]["display"] = pick(item.text, language)
        coding.append({"system": ROLE_SYSTEM, "code": item.role.value, "display": ROLE_NAMES[item.role]})
    return {"coding": coding}


def _attachment(document: Optional[ConsentDocument], version: int, language: str, sha256: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "contentType": "text/plain; charset=utf-8",
        "language": language,
        "title": f"Consent document version {version} ({language}), as shown",
        "extension": [{"url": f"{BASE}:consent-text-sha256", "valueString": sha256}],
    }
    if document is not None:
        text = document.shown_text(language).encode("utf-8")
        if hashlib.sha256(text).hexdigest() == sha256:  # the words shown are the ones this version holds
            out["hash"] = base64.b64encode(hashlib.sha1(text).digest()).decode("ascii")
            out["size"] = str(len(text))
    return out


def consent_resource(plan: ExportPlan, row: dict[str, Any], latest: bool) -> dict[str, Any]:
    """One consent_log.csv row as an R5 Consent."""
    documents = {v.consent.version: v.consent for v in plan.versions}
    version = int(row["document_version"])
    document = documents.get(version)
    language = row["language"] or plan.languages[0]
    withdrawn = row["event"] == "withdraw"
    subject = {"type": "Patient", "identifier": {"system": f"{BASE}:participant:{plan.study_id}", "value": row["participant"]}}
    team = {"display": f"{plan.study_title} (study team)"}
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(uuid.uuid5(NAMESPACE, f"{plan.study_id}|{row['participant']}|{row['at']}|{row['event']}")),
        "status": "active" if latest and not withdrawn else "inactive",
        "category": [SCOPE],
        "subject": subject,
        "date": row["at"][:10],
        "period": {"start": row["at"]},
        "grantor": [subject],
        "grantee": [team],
        "controller": [team],
        "sourceAttachment": [_attachment(document, version, language, row["text_sha256"])],
        "decision": "deny" if withdrawn else "permit",
        "extension": [
            {"url": f"{BASE}:consent-event", "valueCode": row["event"]},
            {"url": f"{BASE}:consent-method", "valueCode": row["method"]},
            {"url": f"{BASE}:consent-document-version", "valueInteger": version},
        ],
    }
    if withdrawn:
        if row["remove_data"] != "yes":  # "keep what I gave, stop here": what was given may still be used
            resource["provision"] = [{"dataPeriod": {"end": row["at"]}, "purpose": [RESEARCH["coding"][0]]}]
    else:
        declined = row["declined"].split()
        if declined:
            resource["provision"] = [{"code": [_item_concept(plan.study_id, document, item, language)]} for item in declined]
    if row["witnessed"] == "yes":
        resource["verification"] = [
            {
                "verified": True,
                "verificationType": {"text": "witnessed at the desk"},
                "verifiedBy": team,
                "verificationDate": [row["at"]],
            }
        ]
    return resource


def consent_bundle(plan: ExportPlan) -> dict[str, Any]:
    """The Bundle (type collection) of every consent event in the export, oldest first per participant."""
    header = plan.consent_header
    rows = [dict(zip(header, r, strict=True)) for r in plan.consent_log]
    for row in rows:
        row.update({k: "" if row[k] is None else str(row[k]) for k in row})
    last = {}
    for i, row in enumerate(rows):
        last[row["participant"]] = i
    entries = []
    for i, row in enumerate(rows):
        resource = consent_resource(plan, row, last[row["participant"]] == i)
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "identifier": {"system": f"{BASE}:export", "value": f"{plan.study_id}-consent"},
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "entry": entries,
    }


def fhir_json(plan: ExportPlan) -> str:
    return json.dumps(consent_bundle(plan), ensure_ascii=False, indent=2) + "\n"
