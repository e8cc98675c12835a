"""The contributions screen: paging, filters, keyboard triage, review notes, feedback and updates."""

from __future__ import annotations

from textual.widgets import DataTable, Input, RadioSet, Select, Static, TextArea

from citizen.domain.models import ReviewState
from citizen.tui.app import make_app
from citizen.tui.dialogs.review import FeedbackDialog, ReviewDialog, UpdateDialog
from citizen.tui.screens import contributions as contributions_screen
from citizen.tui.screens.contribution_detail import ContributionDetailScreen
from citizen.tui.screens.contributions import ContributionsScreen
from citizen.tui.screens.overview import StudyOverviewScreen

from .support.factories import STUDY
from .support.tui import cells, choose, settle, text_of


async def open_contributions(app, pilot) -> ContributionsScreen:
    await settle(app, pilot)
    await pilot.press("c")
    await settle(app, pilot)
    assert isinstance(app.screen, ContributionsScreen)
    return app.screen


def stored_states(study) -> dict[str, str]:
    return {d["id"]: ("removed" if d.get("removed_at") else d["review_state"]) for d in study.repo.contribution_docs()}


async def test_filters_by_review_state_participant_words_and_dates(demo_data_path, monkeypatch):
    monkeypatch.setattr(contributions_screen, "PAGE", 1000)  # the whole small study on one page
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contributions(app, pilot)
        study = app.study(STUDY)
        states = stored_states(study)
        table = screen.query_one("#contributions-table", DataTable)
        kept = sum(1 for s in states.values() if s != "removed")
        assert table.row_count == kept and f"1-{kept} of {kept}" in text_of(screen, "#contributions-status")
        times = [r[1] for r in cells(table)]
        assert times == sorted(times, reverse=True)  # newest first
        screen.query_one("#filter-state", Select).value = "needs attention"
        await settle(app, pilot)
        flagged = [k for k, s in states.items() if s == "needs attention"]
        assert {r[5] for r in cells(table)} == {"needs attention"} and table.row_count == len(flagged)
        assert "filtered" in text_of(screen, "#contributions-status")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert table.row_count == kept
        # Words in the answers: every row shown has them in a text answer, and none is missed.
        await pilot.press("slash")
        screen.query_one("#filter-text", Input).focus()
        await pilot.press(*"canal", "enter")
        await settle(app, pilot)
        expected = {
            d["id"]
            for d in study.repo.contribution_docs()
            if not d.get("removed_at")
            and any("canal" in str(d["values"].get(k, "")).lower() for k in ("notes", "worst_spot", "home_street"))
        }
        shown = {str(k.value) for k in table.rows}
        assert shown == expected and shown
        # One participant, from a given day on.
        code = cells(table)[0][2]
        screen.query_one("#filter-text", Input).value = ""
        screen.query_one("#filter-participant", Input).value = code.lower()
        screen.query_one("#filter-since", Input).value = "2000-01-01"
        screen.query_one("#filter-participant", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert {r[2] for r in cells(table)} == {code}
        screen.query_one("#filter-since", Input).value = "next tuesday"
        screen.query_one("#filter-since", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert "year-month-day" in text_of(screen, "#contributions-status")
        screen.query_one("#filter-since", Input).value = "2999-01-01"
        await pilot.press("enter")
        await settle(app, pilot)
        assert table.row_count == 0 and "No contribution matches" in text_of(screen, "#contributions-status")
    app.data.close()


async def test_pages_follow_the_cursor_and_end_goes_to_the_last_row(demo_data_path, monkeypatch):
    monkeypatch.setattr(contributions_screen, "PAGE", 50)
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contributions(app, pilot)
        table = screen.query_one("#contributions-table", DataTable)
        total = len(screen.selection)
        assert table.row_count == 50 and f"1-50 of {total} (PgDn, End: more)" in text_of(screen, "#contributions-status")
        first_page = [str(k.value) for k in table.rows]
        await pilot.press("end")
        await pilot.pause()
        last = total - (total - 1) % 50
        assert f"{last}-{total} of {total} (PgUp, Home: earlier)" in text_of(screen, "#contributions-status")
        assert "more" not in text_of(screen, "#contributions-status")  # nothing more after the last page
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        await pilot.pause()
        assert [str(k.value) for k in table.rows] == first_page
        table.move_cursor(row=49)
        await pilot.press("down")
        await pilot.pause()
        assert "51-100" in text_of(screen, "#contributions-status") and table.cursor_row == 0
        assert "(PgUp, Home: earlier; PgDn, End: more)" in text_of(screen, "#contributions-status")
        await pilot.press("up")
        await pilot.pause()
        assert "1-50" in text_of(screen, "#contributions-status") and table.cursor_row == 49
    app.data.close()


async def test_keyboard_triage_accept_flag_next_and_marked_rows(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contributions(app, pilot)
        study = app.study(STUDY)
        screen.query_one("#filter-state", Select).value = "received"
        await settle(app, pilot)
        table = screen.query_one("#contributions-table", DataTable)
        screen.query_one("#contributions-table").focus()
        waiting = [str(k.value) for k in table.rows]
        assert len(waiting) > 6
        await pilot.press("a")  # accept the first, move on
        await pilot.press("f")  # flag the second
        await pilot.pause()
        states = stored_states(study)
        assert states[waiting[0]] == "accepted" and states[waiting[1]] == "needs attention"
        assert table.cursor_row == 2
        assert cells(table)[0][5] == "accepted"  # still shown, with its new state
        await pilot.press("home")
        await pilot.pause()
        await pilot.press("n")  # the next one still waiting
        assert table.cursor_row == 2
        await pilot.press("space", "space")  # mark two rows
        await pilot.pause()
        assert "2 marked" in text_of(screen, "#contributions-status")
        assert [r[0] for r in cells(table)[2:4]] == ["*", "*"]
        await pilot.press("a")
        await pilot.pause()
        states = stored_states(study)
        assert states[waiting[2]] == states[waiting[3]] == "accepted"
        assert states[waiting[4]] == "received"
        audit = study.repo.last_audit()
        assert audit.action == "contributions reviewed" and audit.details["count"] == 2
        assert "marked" not in text_of(screen, "#contributions-status")
    app.data.close()


async def test_review_with_a_note_and_feedback_to_the_contributor(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contributions(app, pilot)
        study = app.study(STUDY)
        table = screen.query_one("#contributions-table", DataTable)
        target = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        await pilot.press("v")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ReviewDialog)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "choose" in text_of(dialog, "#error-state")
        await choose(pilot, dialog.query_one("#state", RadioSet), 3)  # rejected
        dialog.query_one("#note", TextArea).text = "Walk date is in [b]the future[/b]"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        c = study.repo.contribution(target)
        assert c.review_state is ReviewState.rejected and c.reviews[-1].note == "Walk date is in [b]the future[/b]"
        assert cells(table)[0][5] == "rejected"
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FeedbackDialog)
        box = dialog.query_one("#feedback", TextArea)  # outlined, so it is seen on the dialog's background
        assert box.has_focus and box.styles.border_top[0] == "round" and box.content_size.height >= 4
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert study.repo.contribution(target).feedback == []
        assert "words" in text_of(dialog, "#error-feedback")
        await pilot.press(*"Thanks")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        c = study.repo.contribution(target)
        assert [f.text for f in c.feedback] == ["Thanks"]
        assert study.repo.last_audit().action == "feedback given"
        assert cells(table)[0][6] == "1"
        # The contribution itself, its answers shown as typed, accepted from there.
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContributionDetailScreen)
        body = text_of(app.screen, "#contribution-body")
        assert "Walk date is in [b]the future[/b]" in body and "Thanks" in body
        assert "How many minutes did you walk?" in body
        await pilot.press("a")
        await pilot.pause()
        assert study.repo.contribution(target).review_state is ReviewState.accepted
        assert "Review: accepted" in text_of(app.screen, "#contribution-body")
        await pilot.press("escape")
        await pilot.pause()
        assert cells(screen.query_one("#contributions-table", DataTable))[0][5] == "accepted"
    app.data.close()


async def test_removed_contributions_cannot_be_reviewed_or_answered(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contributions(app, pilot)
        study = app.study(STUDY)
        screen.query_one("#filter-state", Select).value = "removed"
        await settle(app, pilot)
        table = screen.query_one("#contributions-table", DataTable)
        table.focus()
        assert table.row_count > 0 and {r[5] for r in cells(table)} == {"removed"}
        target = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        await pilot.press("a")
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, ContributionsScreen)
        c = study.repo.contribution(target)
        assert c.removed and c.reviews == [] and c.feedback == []
    app.data.close()


async def test_post_an_update_from_the_overview(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        study = app.study(STUDY)
        before = len(study.repo.updates())
        await pilot.press("u")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, UpdateDialog)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "title" in text_of(dialog, "#error-title")
        await pilot.press(*"Evening walks", "tab")
        await pilot.press(*"The ring road is worst at 6pm.")
        dialog.query_one("#body-zh", TextArea).text = "环路晚上六点最差。"  # the demo is in en, zh and ar
        dialog.query_one("#title-zh", Input).value = "傍晚的步行"  # a title box per language too
        dialog.query_one("#title-ar", Input).value = "ع" * 201
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "at most 200" in text_of(dialog, "#error-title-ar") and len(study.repo.updates()) == before
        dialog.query_one("#title-ar", Input).value = ""
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen)
        updates = study.repo.updates()
        assert len(updates) == before + 1
        assert updates[0].title == "Evening walks" and updates[0].body == {
            "en": "The ring road is worst at 6pm.",
            "zh": "环路晚上六点最差。",
        }
        assert updates[0].title_text == {"zh": "傍晚的步行"}
        assert updates[0].title_in("zh") == "傍晚的步行" and updates[0].title_in("ar") == "Evening walks"
        assert study.repo.last_audit().action == "update posted"
        figures = dict(cells(app.screen.query_one("#figures-table", DataTable)))
        assert figures["Updates shared with participants"] == str(before + 1)
    app.data.close()


async def test_the_triage_keys_are_active_on_the_contributions_screen(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contributions(app, pilot)
        keys = {b.key for _, b, enabled, _ in app.active_bindings.values() if enabled}
        assert {"a", "f", "n", "v", "b", "d", "space", "slash"} <= keys
        assert isinstance(screen.query_one("#contributions-status", Static), Static)
    app.data.close()
