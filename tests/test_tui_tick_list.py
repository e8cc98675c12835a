"""Lists of choices show which are ticked by the mark itself, not only by its colour."""

from __future__ import annotations

from textual.widgets import SelectionList

from citizen.tui.app import make_app
from citizen.tui.screens.export import ExportScreen

from .support.factories import STUDY
from .support.tui import open_from_study


def marks(widget: SelectionList) -> list[str]:
    """The three characters before each choice's words, line by line as drawn."""
    return [widget.render_line(y).text[:3] for y in range(widget.option_count)]


async def test_the_export_options_show_x_only_on_the_ticked_ones(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_from_study(app, pilot, "x", ExportScreen)
        options = screen.query_one("#export-options", SelectionList)
        review = screen.query_one("#export-review", SelectionList)
        assert options.has_focus
        assert options.selected == [] and set(marks(options)) == {"▐ ▌"}
        assert len(review.selected) == review.option_count and set(marks(review)) == {"▐X▌"}
        # Space ticks the highlighted (first) option: its mark, and only its, becomes an X.
        await pilot.press("space")
        await pilot.pause()
        assert len(options.selected) == 1
        assert marks(options)[0] == "▐X▌" and set(marks(options)[1:]) == {"▐ ▌"}
        await pilot.press("space")
        await pilot.pause()
        assert options.selected == [] and set(marks(options)) == {"▐ ▌"}
