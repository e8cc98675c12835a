"""The Page words screen, beside the consent editor: each English page text with its translation box."""

from __future__ import annotations

from textual.widgets import DataTable

from citizen.domain.words import page_msgids
from citizen.services import design as d
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.page_words import PageWordsScreen

from .support.language_study import PANEL, two_language_draft
from .support.tui import SIZE, fill, shown


def cell(table: DataTable, row: int, column: int) -> str:
    return str(table.get_row_at(row)[column])


async def test_translating_the_pages_words_shows_what_is_missing_and_refuses_a_lost_placeholder(data_path):
    with DataFolder(data_path) as data:
        study_id = two_language_draft(data, "en, ti, fr")[0].id
    total = len(page_msgids())
    app = make_app(data_path, study_id=study_id, actor=PANEL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert f"The phone pages' words in 'ti': {total} of {total} have no translation" in shown(app.screen, "#draft-problems")
        await pilot.press("w")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PageWordsScreen)
        summary = shown(screen, "#page-words-summary")
        assert "Language: ti." in summary and "No catalogue ships for 'ti'" in summary
        assert f"{total} of {total} texts are missing" in summary
        table = screen.query_one("#page-words-table", DataTable)
        assert table.row_count == total and all(cell(table, i, 1) == "(missing)" for i in range(total))

        # Translate one text: its row shows the words and the count goes down.
        row = page_msgids().index("Join the study")
        table.focus()
        table.move_cursor(row=row)
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.id == "page-word-dialog"
        assert "English: Join the study" in " ".join(str(s.render()) for s in app.screen.query(".hint").results())
        await fill(pilot, text="ኣብ መጽናዕቲ ተሳተፍ")
        assert app.screen is screen
        assert cell(table, row, 1) == "ኣብ መጽናዕቲ ተሳተፍ"
        assert f"{total - 1} of {total} texts are missing" in shown(screen, "#page-words-summary")

        # A translation that loses the place of a value is refused beside the box; nothing is stored.
        row = page_msgids().index("Earlier contributions (%(count)s more)")
        table.move_cursor(row=row)
        await pilot.press("e")
        await pilot.pause()
        await fill(pilot, text="ቀደም ዝበሉ")
        assert "Keep %(count)s exactly as written" in shown(app.screen, "#error-text")
        await pilot.press("escape")
        await pilot.pause()
        assert d.open_draft(app.study(study_id)).page_words == {"ti": {"Join the study": "ኣብ መጽናዕቲ ተሳተፍ"}}

        # Only what is missing, then French, whose catalogue ships: its words are shown as the catalogue's.
        await pilot.press("m")
        await pilot.pause()
        assert table.row_count == total - 1 and "Join the study" not in [cell(table, i, 0) for i in range(total - 1)]
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert "A catalogue ships for 'fr'" in shown(screen, "#page-words-summary")
        assert table.row_count == 0  # nothing missing in French
        await pilot.press("m")
        await pilot.pause()
        assert cell(table, page_msgids().index("Join the study"), 1) == "(catalogue) Participer à l’étude"
        await pilot.press("escape")
        await pilot.pause()
        assert "'ti': " + str(total - 1) + " of" in shown(app.screen, "#draft-problems")
    app.data.close()
