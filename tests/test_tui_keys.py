"""`?` lists every key of the screen in view, so nothing depends on how much the footer can show."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from citizen.tui.app import make_app
from citizen.tui.keys import KeysScreen
from citizen.tui.screens.export import ExportScreen
from citizen.tui.screens.overview import StudyOverviewScreen
from tests.support.tui import open_from_study, settle

from .support.factories import STUDY


def listed(screen: KeysScreen) -> dict[str, str]:
    table = screen.query_one("#keys-table", DataTable)
    return {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1]) for i in range(table.row_count)}


async def test_question_mark_lists_the_keys_the_footer_has_no_room_for(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen)
        await pilot.press("question_mark")
        await settle(app, pilot)
        keys = app.screen
        assert isinstance(keys, KeysScreen)
        shown = listed(keys)
        for key, does in {
            "j": "Enrolment",
            "p": "Participants",
            "c": "Contributions",
            "u": "Post update",
            "x": "Export data",
            "a": "Activity",
            "esc": "Back to studies",
        }.items():
            assert shown.get(key) == does, (key, shown)
        assert shown.get("f3") == "High contrast" and shown.get("^q") == "Quit"  # the app-wide keys too
        assert shown.get("?") == "Keys"
        await pilot.press("question_mark")  # ? again (or Escape) closes; nothing underneath ran
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen)
        await pilot.press("question_mark", "escape")
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen)
    app.data.close()


async def test_each_screen_lists_its_own_keys_and_a_question_mark_typed_in_a_box_stays_text(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_from_study(app, pilot, "x", ExportScreen)
        box = screen.query_one("#export-out", Input)
        box.focus()
        box.value = ""
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert app.screen is screen and box.value == "?"
        screen.query_one("#export-options").focus()
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, KeysScreen)
        shown = listed(app.screen)
        assert "Export data" not in shown.values()  # the overview's keys are not this screen's
        assert shown.get("^t") == "Check what leaves" and shown.get("^s") == "Confirm & export"
        assert shown.get("^r") == "Study report" and shown.get("esc") == "Back"
    app.data.close()
