"""The Export screen by keyboard: choose, read the check, confirm, watch the progress, find the files."""

from __future__ import annotations

import json
import os

from textual.widgets import Button, Input, ProgressBar, SelectionList

from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.export import ExportScreen
from citizen.tui.screens.overview import StudyOverviewScreen

from .support.factories import STUDY
from .support.tui import settle, text_of


async def export_screen(app, pilot) -> ExportScreen:
    """From the study overview, `x` opens the Export screen."""
    await settle(app, pilot)
    await pilot.press("x")
    await settle(app, pilot)
    assert isinstance(app.screen, ExportScreen)
    return app.screen


async def test_choose_check_confirm_and_the_files_are_written(demo_data_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen)
        await pilot.press("x")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        options = screen.query_one("#export-options", SelectionList)
        assert options.has_focus
        # Hash the codes (4th option) and leave out free text (3rd), by keyboard.
        await pilot.press("down", "down", "space", "down", "space")
        assert set(options.selected) == {"drop_free_text", "hash_codes"}
        await pilot.press("ctrl+s")  # nothing before the check
        await pilot.pause()
        assert "first" in text_of(screen, "#export-status") and not (tmp_path / "exports").exists()
        out = tmp_path / "exports" / "for-analysis"
        screen.query_one("#export-out", Input).value = str(out)
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        check = text_of(screen, "#export-check")
        assert "What will leave this laptop" in check and "replaced by a hash" in check
        assert "Free-text fields included: none" in check and "Identifying fields included: none" in check
        assert not screen.query_one("#confirm", Button).disabled
        assert not out.exists()  # the check writes nothing
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert sorted(os.listdir(out)) == [
            "activity.csv",
            "consent_log.csv",
            "contributions.csv",
            "data_dictionary.csv",
            "datapackage.json",
            "participants.csv",
        ]
        bar = screen.query_one("#export-progress", ProgressBar)
        assert bar.progress == bar.total
        assert str(out) in text_of(screen, "#export-status")
        manifest = json.loads((out / "datapackage.json").read_text())
        assert manifest["approved_by"] == "Amina Yusuf" and manifest["options"]["hash_codes"] is True
        assert "notes" not in (out / "contributions.csv").read_text().splitlines()[0]
        # Changing a choice after a check asks for a new check before any export.
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        options.focus()
        await pilot.press("space")
        await pilot.pause()
        assert screen.query_one("#confirm", Button).disabled
        assert "check again" in text_of(screen, "#export-status")
        # The study report, from the same screen.
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        [report] = list((demo_data_path / "exports" / STUDY).glob("*-report-*.md"))
        assert str(report.name) in text_of(screen, "#export-status").replace("\n", "")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StudyOverviewScreen)
    app.data.close()
    with DataFolder(demo_data_path, readonly=True) as data:
        from citizen.services import open_study

        audit = open_study(data, STUDY).repo.audit()
    assert [e.actor for e in audit if e.action == "data exported"] == ["Amina Yusuf"]


async def test_a_bad_date_is_explained_and_nothing_runs(demo_data_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await export_screen(app, pilot)
        screen.query_one("#export-from", Input).value = "31/05/2026"
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        assert "year-month-day" in text_of(screen, "#export-status")
        assert screen.query_one("#confirm", Button).disabled and text_of(screen, "#export-check") == ""
    app.data.close()


async def test_by_default_the_export_lands_beside_the_data_whatever_folder_the_app_started_in(
    demo_data_path, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await export_screen(app, pilot)
        suggested = screen.query_one("#export-out", Input).value
        assert suggested.startswith(str(demo_data_path / "exports" / STUDY / f"{STUDY}-"))
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        [folder] = list((demo_data_path / "exports" / STUDY).iterdir())
        assert str(folder) == suggested and (folder / "contributions.csv").exists()
        assert str(folder) in text_of(screen, "#export-status").replace("\n", "")
        assert not (tmp_path / "exports").exists()
    app.data.close()
