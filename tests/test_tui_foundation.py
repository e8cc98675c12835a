"""The studies list and the study overview, driven with the Pilot as a person would."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from citizen.tui.app import make_app
from citizen.tui.screens.overview import StudyOverviewScreen
from citizen.tui.screens.studies import StudiesScreen

from .support.tui import cells


async def test_studies_list_shows_each_study_with_its_counts(demo_data_path):
    app = make_app(demo_data_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, StudiesScreen)
        [row] = cells(app.screen.query_one("#studies-table", DataTable))
        # Contributions kept: exactly the 200 asked for; the walks removed at a contributor's
        # request come on top and are not counted.
        docs = list(app.study("air-quality-walk").repo.contribution_docs())
        live = sum(1 for d in docs if not d.get("removed_at"))
        assert live == 200 and len(docs) > 200
        assert row[:4] == ["Clean Air Walks in Northgate", "active", "40", str(live)]
    app.data.close()


async def test_open_a_study_see_its_figures_and_go_back(demo_data_path):
    app = make_app(demo_data_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StudyOverviewScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert "Clean Air Walks" in str(screen.query_one("#study-title", Static).render())
        facts = str(screen.query_one("#overview-facts", Static).render())
        assert "Protocol version: 2" in facts and "Consent version: 1" in facts
        figures = dict(cells(screen.query_one("#figures-table", DataTable)))
        assert figures["Participants taking part"] == "38"
        assert figures["Participants who withdrew"] == "2"
        assert int(figures["Waiting for review"]) > 0
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StudiesScreen)
    app.data.close()


async def test_an_empty_data_folder_says_how_to_start(data_path):
    app = make_app(data_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        hint = str(app.screen.query_one("#studies-empty", Static).render())
        assert "citizen demo" in hint
        await pilot.press("enter")  # nothing to open: nothing happens, no error
        assert isinstance(app.screen, StudiesScreen)
    app.data.close()


async def test_markup_in_a_title_shows_as_typed(data_path, demo_file, tmp_path):
    import json

    from citizen.services import import_protocol
    from citizen.store import DataFolder

    raw = json.loads(demo_file.read_text())
    raw["study"]["title"] = "[bold]Walks[/bold] & [link=x]air"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(raw))
    with DataFolder(data_path) as data:
        import_protocol(data, hostile, "tester")
    app = make_app(data_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        [row] = cells(app.screen.query_one("#studies-table", DataTable))
        assert row[0] == "[bold]Walks[/bold] & [link=x]air"
    app.data.close()


async def test_the_overview_follows_a_change_made_elsewhere(demo_data_path):
    from citizen.domain.models import ConsentMethod
    from citizen.services import enrol_participant

    app = make_app(demo_data_path, study_id="air-quality-walk")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        study = app.study("air-quality-walk")
        enrol_participant(
            study,
            {"take_part": True, "share_partners": False, "quote_words": False, "contact_later": False},
            ConsentMethod.phone,
            "volunteer",
        )
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Participants: 41" in str(app.screen.query_one("#overview-facts", Static).render())
    app.data.close()


async def test_high_contrast_theme_toggles(demo_data_path):
    app = make_app(demo_data_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        normal = app.theme
        await pilot.press("f3")
        assert app.theme == "citizen-high-contrast"
        assert app.current_theme.background == "#000000"
        await pilot.press("f3")
        assert app.theme == normal
    app.data.close()
