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
