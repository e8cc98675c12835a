"""The contributions screen on a study of 100,000 contributions: it opens, scrolls to the end and filters."""

from __future__ import annotations

from datetime import datetime

import pytest
from textual.widgets import DataTable, Input, Select

from citizen.services.demo import create_demo
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.contributions import ContributionsScreen

from .support.factories import STUDY
from .support.tui import open_from_study, settle, text_of

pytestmark = pytest.mark.slow

LARGE = 100_000


@pytest.fixture(scope="session")
def large_data_path(tmp_path_factory):
    """A demo study of 100,000 contributions, generated once per test session through the services."""
    path = tmp_path_factory.mktemp("large") / "data"
    with DataFolder(path) as folder:
        create_demo(folder, participants=1000, contributions=LARGE, seed=11, study_id=STUDY)
    return path


async def test_a_hundred_thousand_contributions_scroll_to_the_end_and_filter(large_data_path):
    app = make_app(large_data_path, study_id=STUDY)
    async with app.run_test(size=(80, 24)) as pilot:
        study = app.study(STUDY)
        docs = [d for d in study.repo.contribution_docs() if not d.get("removed_at")]
        assert study.repo.contribution_count() >= LARGE * 0.9
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        table = screen.query_one("#contributions-table", DataTable)
        total = len(docs)
        assert f"of {total:,}" in text_of(screen, "#contributions-status")
        assert table.row_count == 100  # one page, never the whole table
        # To the very end: the oldest contribution is on the last row.
        await pilot.press("end")
        await pilot.pause()
        assert f"-{total:,} of {total:,}" in text_of(screen, "#contributions-status")
        oldest = min(docs, key=lambda d: d["submitted_at"])
        last_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        assert table.cursor_row == table.row_count - 1
        assert study.repo.contribution(last_key).submitted_at == datetime.fromisoformat(oldest["submitted_at"])
        # Back up across a page boundary, one row at a time.
        table.move_cursor(row=0)
        await pilot.press("up")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1
        # Filter by review state: the count is the stored one.
        screen.query_one("#filter-state", Select).value = "needs attention"
        await settle(app, pilot)
        flagged = sum(1 for d in docs if d["review_state"] == "needs attention")
        assert flagged and f"of {flagged:,}" in text_of(screen, "#contributions-status")
        assert {str(table.get_row_at(i)[5]) for i in range(table.row_count)} == {"needs attention"}
        # And words in the answers, on top of it.
        words = screen.query_one("#filter-text", Input)
        words.value = "Station Road"
        words.focus()
        await pilot.press("enter")
        await settle(app, pilot)

        def says(d) -> bool:  # every word somewhere in the text answers
            text = " ".join(str(d["values"].get(k, "")) for k in ("worst_spot", "notes", "home_street")).lower()
            return "station" in text and "road" in text

        expected = sum(1 for d in docs if d["review_state"] == "needs attention" and says(d))
        assert expected and f"of {expected:,}" in text_of(screen, "#contributions-status")
        # Triage still works at this size.
        table.focus()
        first = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        await pilot.press("a")
        await pilot.pause()
        assert study.repo.contribution(first).review_state.value == "accepted"
    app.data.close()
