"""The Bundles screen: export, read a bundle, see the report, confirm, merge; driven with the Pilot."""

from __future__ import annotations

from textual.widgets import Button, Input

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.export.bundle import export_bundle, read_bundle
from citizen.services import add_contribution, enrol_participant, import_protocol
from citizen.services.merge import merge_bundle
from citizen.tui.app import make_app
from citizen.tui.screens.bundles import BundlesScreen
from citizen.tui.screens.overview import StudyOverviewScreen

from .support.bundles import STUDY, WALK, YES_ALL, laptop_folder, snapshot, study_of
from .support.tui import settle, text_of


async def test_read_a_bundle_see_the_report_merge_and_export(tmp_path, demo_file):
    here = tmp_path / "here"
    with laptop_folder(here, "AC") as a, laptop_folder(tmp_path / "there", "DE") as b:
        merge_bundle(b, snapshot(import_protocol(a, demo_file, "Amina")), "Li")
        other = study_of(b)
        for _ in range(2):
            p = enrol_participant(other, YES_ALL, ConsentMethod.phone, "volunteer")
        add_contribution(other, p.id, WALK, ContributionSource.phone, "volunteer")
        export_bundle(other, tmp_path / "there.citizen-bundle")
    damaged = tmp_path / "damaged.citizen-bundle"
    damaged.write_bytes((tmp_path / "there.citizen-bundle").read_bytes()[:200])

    app = make_app(here, study_id=STUDY)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen)
        await pilot.press("b")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, BundlesScreen)

        # A damaged file: a plain message, and nothing to confirm.
        screen.query_one("#import-path", Input).value = str(damaged)
        await pilot.click("#read")
        await settle(app, pilot)
        assert "damaged" in text_of(screen, "#bundle-status")
        assert screen.query_one("#merge", Button).disabled

        # The real bundle: the report first, nothing written yet.
        screen.query_one("#import-path", Input).value = str(tmp_path / "there.citizen-bundle")
        await pilot.click("#read")
        await settle(app, pilot)
        report = text_of(screen, "#bundle-report")
        assert "from laptop DE" in report and "New: 2 participants" in report and "1 contribution" in report
        assert "1 contributions" not in report
        assert app.study(STUDY).repo.participant_count() == 0
        assert not screen.query_one("#merge", Button).disabled

        await pilot.click("#merge")
        await settle(app, pilot)
        assert "Merged" in text_of(screen, "#bundle-status")
        assert app.study(STUDY).repo.participant_count() == 2
        assert app.study(STUDY).repo.contribution_count() == 1

        # Export this laptop's copy (now holding both laptops' work).
        suggested = screen.query_one("#export-path", Input).value  # beside the data, whatever the working folder
        assert suggested.startswith(str(app.data.path / "exports" / STUDY) + "/")
        out = tmp_path / "usb" / "here.citizen-bundle"
        screen.query_one("#export-path", Input).value = str(out)
        await pilot.click("#export")
        await settle(app, pilot)
        assert "Exported 2 participants and 1 contribution to" in text_of(screen, "#bundle-status")
        assert read_bundle(out).count("participants") == 2

        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen)
        assert "Participants: 2" in text_of(app.screen, "#overview-facts")
    app.data.close()


async def test_a_large_bundle_shows_its_progress_and_merges_a_batch_at_a_time(tmp_path, monkeypatch):
    from textual.widgets import ProgressBar

    from citizen.export.bundle_file import open_bundle
    from citizen.services.demo import create_demo
    from citizen.services.merge import merge_stream, streaming

    from .support.bundle_files import older_copy

    monkeypatch.setattr(streaming, "BATCH", 50)
    with laptop_folder(tmp_path / "there", "DE") as b:
        create_demo(b, participants=10, contributions=300, seed=3, study_id=STUDY)
        export_bundle(study_of(b), tmp_path / "there.citizen-bundle")
        everything = study_of(b).store.table("contributions").count_rows()
    older = older_copy(tmp_path / "there.citizen-bundle", tmp_path / "older.citizen-bundle")
    with laptop_folder(tmp_path / "here", "AC") as a, open_bundle(older) as source:
        merge_stream(a, source, "Amina")
        before = study_of(a).store.table("contributions").count_rows()

    app = make_app(tmp_path / "here", study_id=STUDY)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("b")
        await settle(app, pilot)
        screen = app.screen
        seen: list[tuple[int, int, str]] = []
        show = screen._show_progress

        def watched(done: int, total: int, what: str) -> None:
            seen.append((done, total, what))
            show(done, total, what)

        screen._show_progress = watched
        screen.query_one("#import-path", Input).value = str(tmp_path / "there.citizen-bundle")
        await pilot.click("#read")
        await settle(app, pilot)
        assert "New:" in text_of(screen, "#bundle-report")
        assert app.study(STUDY).store.table("contributions").count_rows() == before  # nothing written yet
        assert [what for _, _, what in seen if what == "checking"]
        seen.clear()
        await pilot.click("#merge")
        await settle(app, pilot)
        merging = [(done, total) for done, total, what in seen if what == "merging"]
        assert len(merging) > 3 and merging[0][0] < merging[-1][0] == merging[-1][1]  # the bar moved, then was full
        assert screen.query_one("#bundle-progress", ProgressBar).percentage == 1
        status = text_of(screen, "#bundle-status")
        assert status.startswith("Merged: ") and "durable changes" in status
        assert app.study(STUDY).store.table("contributions").count_rows() == everything
    app.data.close()
