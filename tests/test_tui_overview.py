"""The study overview's weekly charts: drawn when there is something to draw, "none yet" when not."""

from __future__ import annotations

from textual.widgets import Sparkline

from citizen.tui.app import make_app
from citizen.tui.screens.overview import StudyOverviewScreen

from .support.studies import empty_study
from .support.tui import settle, text_of


async def test_a_new_study_says_none_yet_instead_of_drawing_solid_blocks(data_path):
    study_id = empty_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, StudyOverviewScreen)
        for name, title in [
            ("contributions-spark", "Contributions per week"),
            ("participants-spark", "Participants enrolled per week"),
        ]:
            assert not screen.query_one(f"#{name}", Sparkline).display
            assert text_of(screen, f"#{name}-label") == f"{title}: none yet"
    app.data.close()


async def test_a_study_with_data_draws_its_weeks(demo_data_path):
    app = make_app(demo_data_path, study_id="air-quality-walk", actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        spark = screen.query_one("#contributions-spark", Sparkline)
        assert spark.display and any(spark.data)
        assert text_of(screen, "#contributions-spark-label") == "Contributions per week"
    app.data.close()
