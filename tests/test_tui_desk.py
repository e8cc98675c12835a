"""The participants screen and the desk: enrol in person, paper forms, withdrawal, all by keyboard."""

from __future__ import annotations

from textual.widgets import DataTable, Input, RadioSet, Select, SelectionList, TextArea

from citizen.domain.models import ConsentKind, ConsentMethod, ContributionSource
from citizen.services import change_consent, enrol_participant, publish_protocol_version, withdraw
from citizen.services.browse import participant_by_code
from citizen.tui.app import make_app
from citizen.tui.dialogs.consent import EnrolDialog, WithdrawDialog
from citizen.tui.dialogs.contribution import ContributionDialog
from citizen.tui.screens.participants import ParticipantDetailScreen, ParticipantsScreen

from .support.factories import STUDY
from .support.tui import cells, choose, settle, text_of

YES = {"take_part": True, "share_partners": True, "quote_words": False, "contact_later": True}


async def open_participants(app, pilot) -> ParticipantsScreen:
    await settle(app, pilot)
    await pilot.press("p")
    await settle(app, pilot)
    assert isinstance(app.screen, ParticipantsScreen)
    return app.screen


async def test_participants_table_search_filter_and_consent_history(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_participants(app, pilot)
        table = screen.query_one("#participants-table", DataTable)
        rows = cells(table)
        assert len(rows) == 40
        statuses = [r[5] for r in rows]
        assert statuses.count("withdrawn") == 2 and statuses.count("active") == 38
        assert "40 of 40 participants" in text_of(screen, "#participants-count")
        screen.query_one("#participant-status", Select).value = "withdrawn"
        await settle(app, pilot)
        withdrawn = cells(table)
        assert len(withdrawn) == 2 and {r[3] for r in withdrawn} == {"v1 withdrawn: kept", "v1 withdrawn: removed"}
        await pilot.press("slash")
        assert screen.focused is screen.query_one("#participant-search", Input)
        await pilot.press(*withdrawn[0][0][-4:].lower())
        await settle(app, pilot)
        assert [r[0] for r in cells(table)] == [withdrawn[0][0]]
        await pilot.press("enter")  # back to the table
        await pilot.press("enter")  # open the participant
        await settle(app, pilot)
        assert isinstance(app.screen, ParticipantDetailScreen)
        history = cells(app.screen.query_one("#consent-history", DataTable))
        assert [h[1].split()[0] for h in history] == ["enrol", "withdraw"]
        assert history[0][2] == "1" and history[0][5].startswith("take_part")
        assert history[1][3] in ("phone", "desk") and history[1][6] != "-"  # withdrawal declines all
        assert withdrawn[0][0] in text_of(app.screen, "#participant-title")
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ParticipantsScreen)
    app.data.close()


async def test_enrol_at_the_desk_needs_every_item_and_a_witness(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_participants(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EnrolDialog)
        radios = list(dialog.query(RadioSet))
        assert len(radios) == 4 and all(r.pressed_index == -1 for r in radios)  # nothing chosen for them
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Please choose yes or no" in text_of(dialog, "#error-take_part")
        assert "witness" in text_of(dialog, "#error-witness")
        await choose(pilot, radios[0], 1)  # "No" to taking part
        for radio in radios[1:]:
            await choose(pilot, radio, 0)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Taking part needs a yes" in text_of(dialog, "#error-take_part")
        study = app.study(STUDY)
        assert study.repo.participant_count() == 40  # nothing stored while refused
        await choose(pilot, radios[0], 0)
        await choose(pilot, radios[2], 1)  # no quotes
        dialog.query_one("#witness", Input).focus()
        await pilot.press(*"Tom")
        dialog.query_one("#contact-phone", Input).value = "0700 900123"
        await choose(pilot, radios[3], 1)  # "No" to being contacted, with a phone number typed
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "did not agree to be contacted" in text_of(dialog, "#error-contact")
        assert study.repo.participant_count() == 40  # their number is not kept against their choice
        await choose(pilot, radios[3], 0)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ParticipantsScreen)
        assert study.repo.participant_count() == 41
        newest = cells(app.screen.query_one("#participants-table", DataTable))[0]
        assert newest[2] == "desk" and newest[3] == "v1 current" and newest[4] == "0"
        p = participant_by_code(study, newest[0])
        [event] = study.repo.consent_events(p.id)
        assert event.method is ConsentMethod.desk and event.witness == "Tom" and event.kind is ConsentKind.enrol
        assert sorted(event.granted) == ["contact_later", "share_partners", "take_part"]
        assert event.declined == ["quote_words"]
        assert study.repo.contact(p.id).phone == "0700 900123"
        assert study.repo.last_audit().action == "participant enrolled"
    app.data.close()


async def test_paper_enrolment_then_withdrawal_at_the_desk_removes_data(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_participants(app, pilot)
        study = app.study(STUDY)
        table = screen.query_one("#participants-table", DataTable)
        active = [r for r in cells(table) if r[5] == "active" and r[4] != "0"][0]
        table.move_cursor(row=[r[0] for r in cells(table)].index(active[0]))
        await pilot.press("w")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, WithdrawDialog)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Please choose" in text_of(dialog, "#error-remove")
        assert "contact details are deleted" in text_of(dialog, "#withdraw-effects")
        await choose(pilot, dialog.query_one("#remove", RadioSet), 0)  # remove what I gave
        dialog.query_one("#witness", Input).value = "Li Wei"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        p = participant_by_code(study, active[0])
        state = study.repo.consent_state(p.id)
        assert state.withdrawn and state.remove_data
        assert all(c.removed for c in study.repo.contributions_of(p.id))
        contact = study.repo.contact(p.id)
        assert contact is None or not (contact.name or contact.phone or contact.email)
        row = [r for r in cells(screen.query_one("#participants-table", DataTable)) if r[0] == active[0]][0]
        assert row[5] == "withdrawn" and row[4] == "0"
        # a second withdrawal is refused in plain words and changes nothing
        await pilot.press("w")
        await pilot.pause()
        dialog = app.screen
        await choose(pilot, dialog.query_one("#remove", RadioSet), 1)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "already withdrawn" in text_of(dialog, "#dialog-problem")
        assert len(study.repo.consent_events(p.id)) == 2
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ParticipantsScreen)
    app.data.close()


async def fill_walk(dialog, minutes: str = "45") -> None:
    dialog.query_one("#field-walk_date", Input).value = "2026-05-02"
    dialog.query_one("#field-route", Select).value = "high_street"
    dialog.query_one("#field-walk_minutes", Input).value = minutes
    dialog.query_one("#field-breathing", Select).value = "2"
    dialog.query_one("#field-symptoms", SelectionList).select("cough")
    dialog.query_one("#field-symptoms", SelectionList).select("wheeze")
    dialog.query_one("#field-smelled_fumes", Select).value = "yes"
    dialog.query_one("#field-notes", TextArea).text = "[red]Fumes[/red] at the lights"


async def test_a_paper_form_is_checked_field_by_field_then_saved(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_participants(app, pilot)
        study = app.study(STUDY)
        table = screen.query_one("#participants-table", DataTable)
        code = [r for r in cells(table) if r[5] == "active"][0][0]
        table.move_cursor(row=[r[0] for r in cells(table)].index(code))
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ContributionDialog)
        assert dialog.query_one("#participant-code", Input).value == code
        p = participant_by_code(study, code)
        before = len(study.repo.contributions_of(p.id))
        await fill_walk(dialog, minutes="forty")
        dialog.query_one("#field-pm25", Input).value = "-3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert text_of(dialog, "#error-walk_minutes") == "Please enter a whole number, like 42."
        assert "0 or more" in text_of(dialog, "#error-pm25")
        assert text_of(dialog, "#error-route") == ""
        assert len(study.repo.contributions_of(p.id)) == before
        dialog.query_one("#field-walk_minutes", Input).value = "45"
        dialog.query_one("#field-pm25", Input).value = ""
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ParticipantDetailScreen)
        made = study.repo.contributions_of(p.id)
        assert len(made) == before + 1
        new = max(made, key=lambda c: c.submitted_at)
        assert new.source is ContributionSource.desk and new.protocol_version == 2
        assert new.values["walk_minutes"] == 45 and new.values["symptoms"] == ["cough", "wheeze"]
        assert new.values["notes"] == "[red]Fumes[/red] at the lights"
    app.data.close()


async def test_paper_forms_are_refused_without_current_consent(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        study = app.study(STUDY)
        gone = enrol_participant(study, YES, ConsentMethod.phone, "volunteer")
        withdraw(study, gone.id, False, ConsentMethod.phone, "participant")
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ContributionDialog)
        await fill_walk(dialog)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Please enter the participant's code" in text_of(dialog, "#error-participant")
        dialog.query_one("#participant-code", Input).value = "ZZ-ZZZZ"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "No participant has the code" in text_of(dialog, "#error-participant")
        dialog.query_one("#participant-code", Input).value = gone.code
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "withdrawn" in text_of(dialog, "#dialog-problem")
        assert study.repo.contributions_of(gone.id) == []
        # A new consent version: everyone must re-consent before contributing again.
        current = study.repo.current_protocol()
        keeper = enrol_participant(study, YES, ConsentMethod.phone, "volunteer")
        items = [i.model_dump() for i in current.consent.items]
        publish_protocol_version(
            study, current.fields, {"en": "New words about sharing."}, items, "Reworded consent", "Amina Yusuf"
        )
        dialog.query_one("#participant-code", Input).value = keeper.code
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "re-consent" in text_of(dialog, "#dialog-problem")
        assert study.repo.contributions_of(keeper.id) == []
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ContributionDialog)
    app.data.close()


async def test_the_participant_screen_shows_a_contact_only_while_they_allow_it(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        study = app.study(STUDY)
        p = enrol_participant(study, YES, ConsentMethod.phone, "phone", reach="jo@example.org")  # from a phone
        app.push_screen(ParticipantDetailScreen(STUDY, p.id))
        await settle(app, pilot)
        assert "Contact: jo@example.org" in text_of(app.screen, "#participant-facts")
        change_consent(study, p.id, {**YES, "contact_later": False}, ConsentMethod.phone, "phone")
        await settle(app, pilot)
        facts = text_of(app.screen, "#participant-facts")
        assert "Contact" not in facts and "jo@example.org" not in facts
    app.data.close()
