"""Every table of rows answers Home, End, Page Up and Page Down by moving its highlight, at 100x30."""

from __future__ import annotations

from textual.widgets import DataTable

from citizen.services import design as d
from citizen.tui.app import make_app
from citizen.tui.screens.activity import ActivityScreen
from citizen.tui.screens.design import DesignScreen
from citizen.tui.screens.page_words import PageWordsScreen
from citizen.tui.screens.participants import ParticipantsScreen

from .support.factories import STUDY
from .support.tui import open_from_study, settle


async def walk_the_rows(app, pilot, selector: str, pages: bool = True) -> None:
    """End reaches the last row, Home the first, Page Down and Page Up a screenful at a time."""
    table = app.screen.query_one(selector, DataTable)
    table.focus()
    await settle(app, pilot)
    last = table.row_count - 1
    assert last > (table.scrollable_content_region.height if pages else 1), (selector, "needs more rows")
    await pilot.press("end")
    await settle(app, pilot)
    assert table.cursor_row == last, selector
    assert table.scroll_y == table.max_scroll_y  # the last row is in view
    await pilot.press("home")
    await settle(app, pilot)
    assert table.cursor_row == 0 and table.scroll_y == 0, selector
    if not pages:
        return
    await pilot.press("pagedown")
    await settle(app, pilot)
    down = table.cursor_row
    assert 0 < down < last, selector
    await pilot.press("pageup")
    await settle(app, pilot)
    assert table.cursor_row == 0, selector


async def test_home_end_and_pages_move_the_highlight_in_every_long_table(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_from_study(app, pilot, "p", ParticipantsScreen)
        await walk_the_rows(app, pilot, "#participants-table")
        await pilot.press("escape")
        await open_from_study(app, pilot, "a", ActivityScreen)
        await walk_the_rows(app, pilot, "#activity-table")
        await pilot.press("escape")
        study = app.study(STUDY)
        draft = d.start_draft(study, "Amina Yusuf")
        for n in range(30):  # a draft long enough to page through
            d.save_draft_field(study, draft.id, {"label": {"en": f"Question {n}"}, "type": "text"}, "Amina Yusuf")
        await open_from_study(app, pilot, "d", DesignScreen)
        await walk_the_rows(app, pilot, "#fields-table")
        await pilot.press("w")
        await settle(app, pilot)
        assert isinstance(app.screen, PageWordsScreen)
        await walk_the_rows(app, pilot, "#page-words-table")
        await pilot.press("question_mark")  # the list of keys is a table of rows too
        await settle(app, pilot)
        await walk_the_rows(app, pilot, "#keys-table", pages=False)
    app.data.close()
