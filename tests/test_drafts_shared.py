"""Drafts shared for review: exported marked as drafts, imported back as drafts, never published."""

from __future__ import annotations

import json
import subprocess

import pytest
from textual.widgets import Checkbox, Input

from citizen.services import Refused, ServiceError, export_protocol, import_protocol, open_study, queries
from citizen.services import design as d
from citizen.services.xlsform import export_xlsform, import_xlsform, read_xlsform
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.dialogs.form import FormDialog
from citizen.tui.screens.overview import StudyOverviewScreen

from .support.commands import citizen_command


def propose_a_question(study, actor="Amina Yusuf"):
    """Open a draft of the demo protocol and add one question to it, as a coordinator would."""
    draft = d.start_draft(study, actor)
    d.save_draft_field(
        study,
        draft.id,
        {"label": {"en": "Was the path lit?", "zh": "路有灯吗？", "ar": "هل كان الطريق مضاءً؟"}, "type": "yes_no"},
        actor,
    )
    return d.open_draft(study)


def test_a_draft_goes_out_marked_and_comes_back_as_a_draft(data, study, tmp_path):
    with pytest.raises(ServiceError, match="no open draft"):
        export_protocol(study, tmp_path / "none.json", draft=True)
    draft = propose_a_question(study)
    path = tmp_path / "review.json"
    export_protocol(study, path, draft=True)
    doc = json.loads(path.read_text("utf-8"))
    assert doc["draft"] == {"based_on": 1} and doc["protocol"]["approved_by"] == ""
    assert [f["key"] for f in doc["protocol"]["fields"]] == [f.key for f in draft.fields]

    with pytest.raises(Refused, match="already has an open draft"):  # the draft being worked on is never replaced
        import_protocol(data, path, "Li Wei")
    assert d.open_draft(study) == draft
    d.discard_draft(study, draft.id, "Amina Yusuf")
    back = import_protocol(data, path, "Li Wei")
    assert back.id == study.id and [v.number for v in back.repo.protocol_versions()] == [1]
    returned = d.open_draft(back)
    assert returned.fields == draft.fields and returned.based_on == 1
    assert returned.consent_items == draft.consent_items and returned.consent_text == draft.consent_text
    assert queries.activity(back)[0].action == "draft imported"

    copy = import_protocol(data, path, "Li Wei", study_id="walks-review")  # into a new study: its first draft
    assert copy.repo.current_protocol() is None and copy.repo.study().status.value == "draft"
    assert d.open_draft(copy).fields == draft.fields and d.open_draft(copy).based_on is None
    assert "draft imported from review.json" in copy.repo.study().source


def test_a_draft_xlsform_comes_back_as_a_draft(data, study, tmp_path):
    draft = propose_a_question(study)
    path = tmp_path / "review.xlsx"
    report = export_xlsform(study, path, draft=True)
    assert report.draft and report.draft_of == 1
    back = read_xlsform(path)
    assert back.draft and back.draft_of == 1 and back.fields[-1].key == draft.fields[-1].key
    d.discard_draft(study, draft.id, "Amina Yusuf")
    same, _ = import_xlsform(data, path, "Li Wei")
    assert same.id == study.id and [v.number for v in same.repo.protocol_versions()] == [1]
    returned = d.open_draft(same)
    assert [f.key for f in returned.fields] == [f.key for f in draft.fields]
    assert returned.consent_items == study.repo.current_protocol().consent.items  # the study's own consent
    copy, _ = import_xlsform(data, path, "Li Wei", study_id="walks-review")
    assert copy.repo.current_protocol() is None and len(d.open_draft(copy).fields) == len(draft.fields)


def test_the_command_line_shares_a_draft_and_takes_it_back(data_path, tmp_path, run_env, demo_file):
    with DataFolder(data_path) as data:
        import_protocol(data, demo_file, "Amina Yusuf")

    def run(*args):
        return subprocess.run(
            [*citizen_command(), "--data", str(data_path), "--as", "Li Wei", *args],
            capture_output=True,
            text=True,
            env=run_env,
            timeout=120,
        )

    path = tmp_path / "review.json"
    refused = run("study", "export", "air-quality-walk", str(path), "--draft")
    assert refused.returncode != 0 and not path.exists()
    assert refused.stderr.strip().splitlines() == [
        "citizen: This study has no open draft to share; start one in the form builder (d)."
    ]
    with DataFolder(data_path) as data:
        draft = propose_a_question(open_study(data, "air-quality-walk"))
    done = run("study", "export", "air-quality-walk", str(path), "--draft")
    assert done.returncode == 0 and "marked as a draft" in done.stdout
    assert json.loads(path.read_text("utf-8"))["draft"] == {"based_on": 1}
    done = run("study", "import", str(path), "--id", "walks-review")
    assert done.returncode == 0, done.stderr
    assert "open draft of a new study 'walks-review'; nothing was published" in done.stdout
    with DataFolder(data_path) as data:
        copy = open_study(data, "walks-review")
        assert copy.repo.current_protocol() is None and d.open_draft(copy).fields == draft.fields


async def test_the_protocol_screen_shares_the_open_draft(data_path, tmp_path, demo_file):
    with DataFolder(data_path) as data:
        draft = propose_a_question(import_protocol(data, demo_file, "Amina Yusuf"))
    path = tmp_path / "review.json"
    app = make_app(data_path, study_id="air-quality-walk", actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        dialog.query_one("#f-path", Input).value = str(path)
        await pilot.click("#f-draft")
        await pilot.pause()
        assert dialog.query_one("#f-draft", Checkbox).value is True
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, StudyOverviewScreen)
    app.data.close()
    doc = json.loads(path.read_text("utf-8"))
    assert doc["draft"] == {"based_on": 1} and len(doc["protocol"]["fields"]) == len(draft.fields)
