"""The study's activity log and its details, team and status screens, by keyboard."""

from __future__ import annotations

from textual.widgets import DataTable, Select

from citizen.services import decide_proposal, propose_change
from citizen.services import design as d
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.activity import ActivityScreen
from citizen.tui.screens.study_details import StudyDetailsScreen

from .support.studies import empty_study, published_study
from .support.tui import SIZE, cells, fill, shown


async def test_activity_newest_first_filtered_by_person_and_step(data_path):
    study_id = published_study(data_path)
    with DataFolder(data_path) as data:
        study = d.Study(data.study(study_id))
        p = propose_change(study, "Ask the time", "Because.", "Tom Hale")
        decide_proposal(study, p.id, False, "Not now.", "Li Wei")
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ActivityScreen)
        table = screen.query_one("#activity-table", DataTable)
        everything = cells(table)
        assert everything[0][1:3] == ["Li Wei", "proposal declined"]
        assert everything[-1][1:3] == ["Amina Yusuf", "study created"]
        await pilot.press("slash", *"tom")
        await pilot.pause()
        assert [r[1:3] for r in cells(table)] == [["Tom Hale", "change proposed"]]
        screen.query_one("#activity-table", DataTable).focus()
        await pilot.press("c")
        await pilot.pause()
        screen.query_one("#activity-action", Select).value = "draft field added"
        await pilot.pause()
        assert len(cells(table)) == 3 and {r[2] for r in cells(table)} == {"draft field added"}
        assert "3 steps" in shown(screen, "#activity-count")
    app.data.close()


async def test_details_team_and_status_with_refusals(data_path):
    study_id = empty_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, StudyDetailsScreen)
        assert "designed in citizen" in shown(screen, "#details-facts")
        await pilot.press("e")
        await pilot.pause()
        await fill(pilot, shared_aim="")
        assert "cannot be left empty" in shown(app.screen, "#error-shared_aim")
        await fill(pilot, shared_aim="Make crossings safer, together.", title="Safer Crossings")
        assert "Safer Crossings" in shown(screen, "#details-facts")
        await pilot.press("t")
        await pilot.pause()
        await fill(pilot, name="")
        assert "cannot be left empty" in shown(app.screen, "#error-name")
        await fill(pilot, name="Northgate Residents", role="partner organisation")
        assert cells(screen.query_one("#team-table", DataTable))[0][:2] == ["Northgate Residents", "partner organisation"]
        await pilot.press("s")
        await pilot.pause()
        await fill(pilot, status="recruiting")
        assert "Publish the first protocol" in shown(app.screen, "#dialog-problem")
        await fill(pilot, status="paused")
        record = app.study(study_id).repo.study()
        assert record.status.value == "paused" and record.title == "Safer Crossings"
        await pilot.press("x", "y")
        await pilot.pause()
        assert app.study(study_id).repo.study().team == []
    app.data.close()
