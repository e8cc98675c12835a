"""The study design screens, driven with the Pilot at 80x24 as a community researcher would."""

from __future__ import annotations

from textual.widgets import Checkbox, DataTable, Input, Label, Select, Static, TextArea

from citizen.domain.models import FieldType
from citizen.services import design as d
from citizen.services import queries
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.consent import ConsentEditorScreen
from citizen.tui.screens.design import DesignScreen
from citizen.tui.screens.overview import StudyOverviewScreen
from citizen.tui.screens.proposals import ProposalsScreen
from citizen.tui.screens.versions import VersionsScreen

from .support.studies import empty_study, published_study
from .support.tui import SIZE, cells, fill, shown, type_at_once


async def test_a_new_study_asks_the_name_once_and_refuses_an_empty_title(data_path):
    app = make_app(data_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.id == "actor-dialog"
        await pilot.press("enter")  # no name given
        await pilot.pause()
        assert "Please give your name" in shown(app.screen, "#error-name")
        await pilot.press(*"Amina", "space", *"Yusuf", "enter")
        await pilot.pause()
        assert app.actor == "Amina Yusuf" and app.screen.id == "new-study-dialog"
        await fill(pilot, shared_aim="Find the crossings that feel unsafe to us.")
        assert "cannot be left empty" in shown(app.screen, "#error-title")
        assert app.data.study_ids() == []  # nothing stored
        await fill(pilot, title="Safe Crossings", summary="We note crossings on our walks.", languages="en, fr")
        assert isinstance(app.screen, StudyOverviewScreen) and app.screen.study_id == "safe-crossings"
        record = app.study("safe-crossings").repo.study()
        assert record.languages == ["en", "fr"] and record.team[0].name == "Amina Yusuf"
        assert record.status.value == "draft"
        # asked once per session: the next change goes straight to its dialog
        await pilot.press("escape", "n")
        await pilot.pause()
        assert app.screen.id == "new-study-dialog"
        await fill(pilot, id="safe-crossings", title="Again", shared_aim="Again.")
        assert "already exists" in shown(app.screen, "#error-id")
    app.data.close()


async def test_the_form_builder_refuses_bad_fields_beside_them_and_previews_the_form(data_path):
    study_id = empty_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DesignScreen)
        assert "No draft is open" in shown(screen, "#draft-status")
        await pilot.press("s", "a")
        await pilot.pause()
        await pilot.press(*"Age")  # typed into the question
        await pilot.pause()
        assert "1. Age\n" in shown(app.screen, "#field-preview")  # previewed while typed, as the page: no "(optional)"
        app.screen.query_one("#f-type", Select).value = FieldType.single_choice.value
        await pilot.pause()
        assert "no choices" in shown(app.screen, "#field-preview")
        await fill(pilot, type=FieldType.integer.value, min="30", max="18")
        assert "above the highest" in shown(app.screen, "#error-min")
        study = app.study(study_id)
        assert d.open_draft(study).fields == []
        await fill(pilot, max="99", required=True)
        assert isinstance(app.screen, DesignScreen)
        await pilot.press("a")
        await pilot.pause()
        labels = [str(label.render()) for label in app.screen.query(".entry-label").results(Label)]
        assert "Choices (one choice and several choices fields only)" in labels  # both types take choices
        await fill(pilot, label_en="Which route?", type=FieldType.single_choice.value)
        assert "no choices" in shown(app.screen, "#error-choices")
        await fill(pilot, choices="Canal path\nhigh | High Street")
        await pilot.press("a")
        await pilot.pause()
        await fill(pilot, label_en="Your age again", key="age", type=FieldType.text.value)
        assert "already used" in shown(app.screen, "#error-key")
        await fill(pilot, key="Bad Key")
        assert "lower-case" in shown(app.screen, "#error-key")
        await fill(pilot, key="", label_en="Anything else?", type=FieldType.long_text.value, identifying=True)
        draft = d.open_draft(study)
        assert [f.key for f in draft.fields] == ["age", "which_route", "anything_else"]
        assert draft.fields[2].identifying and draft.fields[0].required
        preview = shown(screen, "#form-preview")
        assert "1. Age (required)" in preview and "whole number from 30 to 99" in preview
        assert "( ) Canal path" in preview and "( ) High Street" in preview and "3. Anything else?\n" in preview
        assert preview.endswith("[ Send ]")
        table = screen.query_one("#fields-table", DataTable)
        assert "(identifying)" in cells(table)[2][1]
        # reorder: the route question first
        table.move_cursor(row=1)
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert [f.key for f in d.open_draft(study).fields] == ["which_route", "age", "anything_else"]
        assert shown(screen, "#form-preview").index("Which route?") < shown(screen, "#form-preview").index("Age")
        # edit: Enter on a row opens it filled in
        table.move_cursor(row=1)
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#f-label_en", Input).value == "Age"
        await fill(pilot, label_en="How old are you?")
        assert d.open_draft(study).fields[1].label == {"en": "How old are you?"}
        # remove, after a yes
        table.move_cursor(row=2)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert [f.key for f in d.open_draft(study).fields] == ["which_route", "age"]
        # every kind of field is offered, and one of each family goes through the dialog
        await pilot.press("a")
        await pilot.pause()
        offered = [v for _label, v in app.screen.query_one("#f-type", Select)._options if isinstance(v, str)]
        assert offered == [t.value for t in FieldType]
        await pilot.press("escape")
        for kind in (FieldType.multiple_choice, FieldType.rating, FieldType.place):
            await pilot.press("a")
            await pilot.pause()
            extra = {"choices": "One\nTwo"} if kind is FieldType.multiple_choice else {}
            await fill(pilot, label_en=f"A {kind.value} question", type=kind.value, **extra)
            assert isinstance(app.screen, DesignScreen), kind
        assert [f.type for f in d.open_draft(study).fields][2:] == [FieldType.multiple_choice, FieldType.rating, FieldType.place]
    app.data.close()


async def test_a_tab_typed_straight_after_a_word_moves_on_to_the_next_box(data_path):
    study_id = empty_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("d", "s", "a")
        await pilot.pause()
        assert app.screen.id == "field-dialog"
        # the question, Tab to the type, Tab to the key: typed without a pause, as a quick typist does
        await type_at_once(pilot, *"Abc", "tab", "tab", *"xyz")
        values = app.screen.values()
        assert values["label_en"] == "Abc" and values["key"] == "xyz"
        assert app.focused is app.screen.query_one("#f-key")
        await type_at_once(pilot, "shift+tab", "shift+tab")  # and back, as quickly
        assert app.focused is app.screen.query_one("#f-label_en")
    app.data.close()


async def test_consent_editor_and_publishing_refusals(data_path):
    study_id = empty_study(data_path)
    with DataFolder(data_path) as data:
        study = d.Study(data.study(study_id))
        draft = d.start_draft(study, "Amina Yusuf")
        d.save_draft_field(study, draft.id, {"label": {"en": "Which crossing?"}, "type": "place"}, "Amina Yusuf")
    app = make_app(data_path, study_id=study_id, actor="Li Wei")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert "no text yet" in shown(app.screen, "#draft-problems")
        await pilot.press("p")  # not ready: the dialog says why and publishing is refused
        await pilot.pause()
        assert app.screen.id == "publish-dialog"
        await fill(pilot)
        assert "cannot be published yet" in shown(app.screen, "#dialog-problem")
        await pilot.press("escape", "c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConsentEditorScreen)
        await pilot.press("ctrl+s")  # empty text
        await pilot.pause()
        assert "cannot be empty" in shown(screen, "#err-consent-text")
        screen.query_one("#consent-text", TextArea).text = "Taking part means noting crossings you use."
        await pilot.press("escape")  # unsaved words are not dropped without asking
        await pilot.pause()
        assert "not saved" in str(app.screen.query_one(".confirm-question", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert shown(screen, "#err-consent-text") == ""
        screen.query_one("#items-table", DataTable).focus()
        await pilot.press("a")
        await pilot.pause()
        tick = app.screen.query_one("#f-required", Checkbox)
        assert tick.value and "▐X▌" in str(tick.render())  # the first item, about taking part
        tick.focus()
        await pilot.press("space")
        await pilot.pause()
        assert not tick.value and "▐ ▌" in str(tick.render()) and "X" not in str(tick.render())  # seen, not coloured
        await pilot.press("space")
        await pilot.pause()
        await fill(pilot, text="")
        assert "needs a text" in shown(app.screen, "#error-text")
        await fill(pilot, text="I take part.", id="take_part")
        await pilot.press("a")
        await pilot.pause()
        assert not app.screen.query_one("#f-required", Checkbox).value  # a further item is optional at first
        await fill(pilot, text="You may quote me.", id="take_part")
        assert "already used" in shown(app.screen, "#error-id")
        await fill(pilot, id="")
        study = app.study(study_id)
        draft = d.open_draft(study)
        assert [(i.id, i.required) for i in draft.consent_items] == [("take_part", True), ("you_may_quote_me", False)]
        preview = shown(screen, "#consent-preview")
        assert "required to take part" in preview and "You may quote me." in preview
        table = screen.query_one("#items-table", DataTable)
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 1
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.press("end", "e")  # change the last item: typing goes after its words
        await pilot.pause()
        await pilot.press("space", "O", "K", "ctrl+s")
        await pilot.pause()
        assert d.open_draft(study).consent_items[1].text["en"] == "You may quote me. OK"
        await pilot.press("escape", "p")
        await pilot.pause()
        intro = " ".join(str(s.render()) for s in app.screen.query(".hint").results(Static))
        assert "1 field, 2 consent items" in intro and "1 fields" not in intro
        await fill(pilot, approved_by="")
        assert "who approved" in shown(app.screen, "#error-approved_by")
        await fill(pilot, approved_by="Community panel")
        assert isinstance(app.screen, DesignScreen)
        version = study.repo.current_protocol()
        assert version.number == 1 and version.approved_by == "Community panel"
        assert "No draft is open" in shown(app.screen, "#draft-status")
    app.data.close()


async def test_proposal_to_draft_to_version_two_and_the_versions_screen(data_path):
    study_id = published_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Tom Hale")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProposalsScreen)
        assert "No proposals yet" in shown(screen, "#proposal-detail")
        await pilot.press("p")
        await pilot.pause()
        await fill(pilot, title="Ask the time of day")
        assert "cannot be left empty" in shown(app.screen, "#error-rationale")
        await fill(
            pilot, rationale="Danger depends on the hour.", proposed_by="Mrs Okafor (participant)", participant_code="zz-zzzz"
        )
        assert "No participant has the code ZZ-ZZZZ" in shown(app.screen, "#error-participant_code")
        await fill(pilot, participant_code="")
        await pilot.press("d")  # not decided yet: no draft
        await pilot.pause()
        assert d.open_draft(app.study(study_id)) is None
        await pilot.press("n")
        await pilot.pause()
        await fill(pilot, text="School run times matter most.")
        await pilot.press("a")
        await pilot.pause()
        await fill(pilot)
        assert "reason" in shown(app.screen, "#error-reason")
        await fill(pilot, reason="Agreed at the community meeting.")
        detail = shown(screen, "#proposal-detail")
        assert "School run times" in detail and "Accepted by Tom Hale" in detail
        assert cells(screen.query_one("#proposals-table", DataTable))[0][2] == "accepted"
        await pilot.press("x")  # decided already
        await pilot.pause()
        assert isinstance(app.screen, ProposalsScreen)
        await pilot.press("d")
        await pilot.pause()
        design = app.screen
        assert isinstance(design, DesignScreen)
        assert "Ask the time of day" in shown(design, "#draft-status")
        await pilot.press("a")
        await pilot.pause()
        await fill(pilot, label_en="At what time?", type="time")
        design.query_one("#fields-table", DataTable).move_cursor(row=0)
        await pilot.press("e")
        await pilot.pause()
        await fill(pilot, label_en="Which crossing was it?")
        await pilot.press("p")
        await pilot.pause()
        intro = " ".join(str(s.render()) for s in app.screen.query(".hint").results(Static))
        assert "Fields added: at_what_time" in intro and "Fields relabelled: which_crossing" in intro
        await fill(pilot)
        assert "what changed" in shown(app.screen, "#error-change_summary")
        await fill(pilot, change_summary="Ask the time, as the community proposed.")
        study = app.study(study_id)
        assert study.repo.current_protocol().number == 2
        await pilot.press("escape", "escape", "v")
        await pilot.pause()
        versions = app.screen
        assert isinstance(versions, VersionsScreen)
        assert [r[0] for r in cells(versions.query_one("#versions-table", DataTable))] == ["2", "1"]
        detail = shown(versions, "#version-detail")
        assert "Version 2" in detail and "From the proposal: Ask the time of day" in detail
        assert "Fields added: at_what_time" in detail and "Fields relabelled: which_crossing" in detail
        assert "No change" not in detail
        [proposal] = study.repo.proposals()
        assert proposal.protocol_version == 2
    app.data.close()


async def test_every_action_is_in_the_command_palette(data_path):
    study_id = empty_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        names = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Design", "Versions", "Proposals", "Activity", "Details & team", "Protocol file", "Export data"} <= names
        await pilot.press("d")
        await pilot.pause()
        names = {c.title for c in app.get_system_commands(app.screen)}
        assert {
            "Add field",
            "Edit field",
            "Remove field",
            "Move up",
            "Move down",
            "Consent",
            "Publish",
            "Import XLSForm",
            "Start draft",
            "Your name",
        } <= names
        [start] = [c for c in app.get_system_commands(app.screen) if c.title == "Start draft"]
        start.callback()
        await pilot.pause()
        assert d.open_draft(app.study(study_id)) is not None
    app.data.close()


async def test_export_and_import_from_the_app(data_path, tmp_path, demo_file):
    from citizen.services import import_protocol
    from citizen.tui.screens.studies import StudiesScreen

    with DataFolder(data_path) as data:
        import_protocol(data, demo_file, "Amina Yusuf")
    path = tmp_path / "walks.xlsx"
    app = make_app(data_path, study_id="air-quality-walk", actor="Amina Yusuf")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        await fill(pilot, path=str(path))
        assert path.exists()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StudiesScreen)
        await pilot.press("i")
        await pilot.pause()
        await fill(pilot, path=str(tmp_path / "missing.json"))
        assert "no such file" in shown(app.screen, "#error-path")
        await fill(pilot, path=str(path), id="walks-copy")
        assert isinstance(app.screen, StudyOverviewScreen) and app.screen.study_id == "walks-copy"
        assert len(d.open_draft(app.study("walks-copy")).fields) == 12
    app.data.close()


async def test_xlsform_into_the_draft_language_switch_discard_and_name_change(data_path, tmp_path, demo_file):
    from citizen.services import import_protocol
    from citizen.services.xlsform import export_xlsform

    with DataFolder(data_path) as data:
        export_xlsform(import_protocol(data, demo_file, "Amina Yusuf"), tmp_path / "walks.xlsx")
        study = d.new_study(data, "Two tongues", "Ask in two languages.", "Amina Yusuf", languages="en, fr")
        draft = d.start_draft(study, "Amina Yusuf")
        d.save_draft_field(
            study, draft.id, {"label": {"en": "Where?", "fr": "Où ?"}, "type": "place", "required": True}, "Amina Yusuf"
        )
    app = make_app(data_path, study_id="two-tongues", actor="Amina Yusuf")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        screen = app.screen
        assert "1. Where?" in shown(screen, "#form-preview")
        await pilot.press("l")
        await pilot.pause()
        assert "1. Où ? (obligatoire)" in shown(screen, "#form-preview")
        assert shown(screen, "#form-preview").endswith("[ Envoyer ]")  # the page's own words in French too
        await pilot.press("a")  # a label per language in the field dialog
        await pilot.pause()
        assert app.screen.query_one("#f-label_fr", Input).value == ""
        await pilot.press("escape", "i")
        await pilot.pause()
        await fill(pilot, path=str(tmp_path / "nothing.xlsx"))
        assert "no file" in shown(app.screen, "#error-path").lower()
        await fill(pilot, path=str(tmp_path / "walks.xlsx"))
        assert len(d.open_draft(app.study("two-tongues")).fields) == 13
        await pilot.press("f2")
        await pilot.pause()
        await fill(pilot, name="Tom Hale")
        assert app.actor == "Tom Hale"
        await pilot.press("D", "y")
        await pilot.pause()
        assert d.open_draft(app.study("two-tongues")) is None
        assert "No draft is open" in shown(screen, "#draft-status")
        last = queries.activity(app.study("two-tongues"))[0]
        assert (last.actor, last.action) == ("Tom Hale", "draft discarded")
    app.data.close()
