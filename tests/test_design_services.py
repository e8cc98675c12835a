"""Designing a study: services for a study from nothing, drafts, publishing, files in and out."""

from __future__ import annotations

import json
import subprocess

import pytest

from citizen.domain.models import FieldType, StudyStatus
from citizen.services import Refused, decide_proposal, export_protocol, import_protocol, propose_change, queries
from citizen.services import design as d
from citizen.services.proposals import propose
from citizen.services.study_files import open_study_file

from .support.commands import citizen_command
from .support.studies import built_study


def test_a_study_from_nothing_is_published_and_every_step_is_attributed(data):
    study = built_study(data)
    v1 = study.repo.current_protocol()
    assert v1.number == 1 and v1.consent.version == 1 and v1.approved_by == "Amina Yusuf"
    assert [f.key for f in v1.fields] == ["which_crossing", "how_safe_did_it_feel", "who_was_with_you"]
    assert [c.value for c in v1.fields[2].choices] == ["alone", "child", "a_friend"]
    assert [i.id for i in v1.consent.items] == ["take_part", "you_may_quote_my_words"]
    log = queries.activity(study)
    assert log[0].action == "protocol published" and log[-1].action == "study created"
    assert {e.actor for e in log} == {"Amina Yusuf"}
    assert d.open_draft(study) is None and d.drafts(study)[0].published_as == 1


def test_refusals_leave_the_draft_untouched(data):
    study = built_study(data)
    draft = d.start_draft(study, "Tom")
    before = d.open_draft(study)
    cases = [
        ({"label": {"en": "Again"}, "key": "which_crossing", "type": "text"}, "key", "already used"),
        ({"label": {"en": "Route"}, "type": "single_choice"}, "choices", "no choices"),
        ({"label": {"en": "Age"}, "type": "integer", "min": "30", "max": "18"}, "min", "above the highest"),
        ({"label": {"en": "Age"}, "type": "integer", "min": "ten"}, "min", "not a number"),
        ({"label": {"en": ""}, "type": "text"}, "label", "label"),
        ({"label": {"en": "When"}, "type": "date", "max": "3"}, "min", "numbers"),
    ]
    for values, entry, words in cases:
        with pytest.raises(Refused) as caught:
            d.save_draft_field(study, draft.id, values, "Tom")
        assert words in caught.value.errors[entry]
    assert d.open_draft(study) == before
    with pytest.raises(Refused, match="already open"):
        d.start_draft(study, "Tom")


def test_consent_version_moves_only_when_consent_changed(data):
    study = built_study(data)
    draft = d.start_draft(study, "Tom")
    d.save_draft_field(
        study,
        draft.id,
        {"label": {"en": "Which crossing is it?"}, "key": "which_crossing", "type": "place", "required": True},
        "Tom",
        index=0,
    )
    with pytest.raises(Refused, match="what changed"):
        d.publish_draft(study, draft.id, "", "Tom")
    v2 = d.publish_draft(study, draft.id, "Clearer question.", "Tom")
    assert v2.number == 2 and v2.consent.version == 1
    draft = d.start_draft(study, "Tom")
    d.save_consent_item(study, draft.id, {"id": "contact_later", "text": "Contact me later."}, "Tom")
    v3 = d.publish_draft(study, draft.id, "Ask about later contact.", "Li")
    assert v3.consent.version == 2 and v3.approved_by == "Li"
    with pytest.raises(Refused, match="published as version 3"):
        d.save_consent_text(study, draft.id, "changed after publication", "Tom")


def test_an_accepted_proposal_becomes_a_draft_and_is_linked_when_published(data):
    study = built_study(data)
    p = propose_change(study, "Ask the time", "Danger depends on the hour.", "Tom Hale")
    with pytest.raises(Refused, match="Only an accepted proposal"):
        d.draft_from_proposal(study, p.id, "Amina")
    decide_proposal(study, p.id, True, "Agreed at the meeting.", "Amina")
    draft = d.draft_from_proposal(study, p.id, "Amina")
    assert draft.proposal_id == p.id
    d.save_draft_field(study, draft.id, {"label": {"en": "At what time?"}, "type": "time"}, "Amina")
    v2 = d.publish_draft(study, draft.id, "Ask the time of day.", "Amina")
    assert v2.proposal_id == p.id and study.repo.proposal(p.id).protocol_version == 2
    with pytest.raises(Refused, match="already in force"):
        d.draft_from_proposal(study, p.id, "Amina")


def test_status_details_and_team(data):
    study = d.new_study(data, "Safe Crossings", "Find unsafe crossings.", "Amina")
    with pytest.raises(Refused, match="Publish the first protocol"):
        d.change_status(study, "recruiting", "Amina")
    with pytest.raises(Refused) as caught:
        d.edit_study(study, "Amina", "", "aim", "", "en")
    assert "title" in caught.value.errors
    with pytest.raises(Refused) as caught:
        d.edit_study(study, "Amina", "Safe Crossings", "aim", "", "en, english")
    assert "languages" in caught.value.errors
    d.edit_study(study, "Amina", "Safer Crossings", "Find unsafe crossings together.", "A summary", "en, fr")
    d.save_team_member(study, "Amina", "Tom Hale", "co-researcher", "Residents")
    with pytest.raises(Refused, match="already on the team"):
        d.save_team_member(study, "Amina", "tom hale", "coordinator")
    record = d.change_status(study, StudyStatus.paused, "Amina")
    assert record.title == "Safer Crossings" and record.languages == ["en", "fr"]
    assert [m.name for m in record.team] == ["Tom Hale"] and record.status is StudyStatus.paused
    with pytest.raises(Refused, match="already exists"):
        d.new_study(data, "Safe Crossings", "Another.", "Amina")


def test_a_protocol_file_survives_export_and_import(data, tmp_path):
    study = built_study(data)
    path = tmp_path / "safe.json"
    export_protocol(study, path)
    copy = import_protocol(data, path, "Li Wei", study_id="safe-copy")
    original, imported = study.repo.current_protocol(), copy.repo.current_protocol()
    assert imported.fields == original.fields
    assert imported.consent.items == original.consent.items and imported.consent.text == original.consent.text
    assert copy.repo.study().shared_aim == study.repo.study().shared_aim
    assert "imported from safe.json" in copy.repo.study().source
    assert "safe-crossings" in copy.repo.study().source  # where it came from
    assert queries.activity(copy)[-1].details["source"] == copy.repo.study().source


def test_opening_a_bad_file_is_refused_plainly(data, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(Refused) as caught:
        open_study_file(data, bad, "Amina")
    assert "not valid JSON" in caught.value.errors["path"]
    fake = tmp_path / "form.xlsx"
    fake.write_text("this is not a workbook")
    with pytest.raises(Refused, match="not an Excel workbook"):
        open_study_file(data, fake, "Amina")
    assert data.study_ids() == []


def test_cli_imports_and_exports_xlsform(data_path, tmp_path, run_env, demo_file):
    base = citizen_command() + ["--data", str(data_path)]
    out = subprocess.run(base + ["study", "import", str(demo_file)], capture_output=True, text=True, env=run_env)
    assert out.returncode == 0, out.stderr
    xlsx = tmp_path / "walks.xlsx"
    out = subprocess.run(base + ["study", "export", "air-quality-walk", str(xlsx)], capture_output=True, text=True, env=run_env)
    assert out.returncode == 0, out.stderr
    assert "geopoint" in out.stdout and "consent" in out.stdout
    out = subprocess.run(base + ["study", "import", str(xlsx), "--id", "walks-copy"], capture_output=True, text=True, env=run_env)
    assert out.returncode == 0, out.stderr
    assert "12 questions carried over" in out.stdout
    out = subprocess.run(base + ["study", "list", "--json"], capture_output=True, text=True, env=run_env)
    listed = {s["id"]: s for s in json.loads(out.stdout)}
    assert listed["walks-copy"]["protocol_version"] is None and listed["walks-copy"]["status"] == "draft"


def test_field_types_cover_every_kind(data):
    study = d.new_study(data, "All kinds", "Try every kind of question.", "Amina")
    draft = d.start_draft(study, "Amina")
    for t in FieldType:
        values = {"label": {"en": f"A {t.value} question"}, "type": t.value}
        if t in (FieldType.single_choice, FieldType.multiple_choice):
            values["choices"] = "One\nTwo"
        draft = d.save_draft_field(study, draft.id, values, "Amina")
    assert [f.type for f in draft.fields] == list(FieldType)


def test_a_new_consent_version_asks_for_reconsent_showing_only_what_changed(data):
    from citizen.domain.models import ConsentMethod
    from citizen.services import enrol_participant

    study = built_study(data)
    person = enrol_participant(study, {"take_part": True, "you_may_quote_my_words": False}, ConsentMethod.phone, "volunteer")
    assert queries.reconsent_changes(study, person.id) is None
    draft = d.start_draft(study, "Amina")
    d.save_draft_field(study, draft.id, {"label": {"en": "At what time?"}, "type": "time"}, "Amina")
    d.publish_draft(study, draft.id, "Ask the time.", "Amina")
    assert queries.reconsent_changes(study, person.id) is None  # the form changed, the consent did not
    draft = d.start_draft(study, "Amina")
    d.save_consent_item(study, draft.id, {"id": "contact_later", "text": "Contact me about results."}, "Amina")
    d.save_consent_item(
        study, draft.id, {"id": "you_may_quote_my_words", "text": "You may quote my words, unnamed."}, "Amina", index=1
    )
    d.publish_draft(study, draft.id, "Ask about contact; quotes are unnamed.", "Amina")
    assert study.repo.consent_state(person.id).needs_reconsent(study.repo.current_protocol().consent)
    changes = queries.reconsent_changes(study, person.id)
    assert changes == {
        "added": ["Contact me about results."],
        "removed": [],
        "reworded": ["You may quote my words, unnamed."],
        "text": [],
    }


def test_design_services_import_without_an_interface_library(run_env):
    import sys

    code = (
        "import sys, citizen.services.design, citizen.services.xlsform, citizen.domain.design; "
        "print(sorted(m for m in ('textual', 'aiohttp', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=run_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_participant_proposal_is_recorded_by_their_code(data):
    from citizen.domain.models import ConsentMethod
    from citizen.services import enrol_participant

    study = built_study(data)
    person = enrol_participant(study, {"take_part": True, "you_may_quote_my_words": True}, ConsentMethod.phone, "volunteer")
    with pytest.raises(Refused) as caught:
        propose(study, "Ask the time", "It matters.", "Tom Hale", participant_code="XX-0000")
    assert "participant_code" in caught.value.errors
    proposal = propose(study, "Ask the time", "It matters.", "Tom Hale (for a participant)", participant_code=person.code.lower())
    assert proposal.participant_id == person.id
