"""The Sync screen, driven with the Pilot against PouchDB Server: sync now, errors in plain words,
conflicts from the activity log, and a sync every few minutes in the background."""

from __future__ import annotations

import asyncio
import random
import time

from textual.widgets import Button, Checkbox, Input, Static

from citizen.services import post_update
from citizen.tui import syncing
from citizen.tui.app import make_app
from citizen.tui.screens.overview import StudyOverviewScreen
from citizen.tui.screens.sync import SyncScreen

from .support.bundles import STUDY, laptop_folder, random_activity, study_of
from .support.hub import all_docs
from .support.sync import clone, sync
from .support.tui import open_from_study, settle


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def another_laptop_works(path, hub_db: str) -> None:
    with laptop_folder(path, "DE") as other:
        clone(other, hub_db)
        random_activity(study_of(other), random.Random(8), 15, "Li")
        sync(other, hub_db)


async def press_sync_now(pilot, screen) -> None:
    """Click "Sync now" as a person would: not within the button's 0.2 s press effect, which
    Textual treats as the same click again and ignores."""
    button = screen.query_one("#sync-now", Button)
    for _ in range(100):
        if not button.has_class("-active"):
            break
        await pilot.pause(0.05)
    await pilot.click("#sync-now")


async def sync_screen(app, pilot) -> SyncScreen:
    return await open_from_study(app, pilot, "s", SyncScreen)


async def test_sync_now_from_the_sync_screen(tmp_path, demo_file, hub_db, hub_server):
    from citizen.services import import_protocol

    here = tmp_path / "here"
    with laptop_folder(here, "AC") as folder:
        random_activity(import_protocol(folder, demo_file, "Amina"), random.Random(4), 20, "Amina")
    app = make_app(here, study_id=STUDY, actor="Amina")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await sync_screen(app, pilot)
        assert "Never synced" in text(screen, "#sync-last")

        # A mistyped address: a plain message, nothing starts.
        screen.query_one("#hub-url", Input).value = "hub.example.org"
        await press_sync_now(pilot, screen)
        await settle(app, pilot)
        assert "not an http:// or https:// address" in text(screen, "#sync-status")

        # Plain http to another machine is warned about as it is typed.
        screen.query_one("#hub-url", Input).value = "http://hub.example.org/walk"
        await pilot.pause()
        assert "unencrypted" in text(screen, "#sync-warning")

        # An address without a database: the error in plain words.
        screen.query_one("#hub-url", Input).value = f"http://127.0.0.1:{hub_server.port}/"
        await press_sync_now(pilot, screen)
        await settle(app, pilot)
        assert "does not name one database" in text(screen, "#sync-status")

        screen.query_one("#hub-url", Input).value = hub_db
        assert text(screen, "#sync-warning") == ""
        await press_sync_now(pilot, screen)
        await settle(app, pilot)
        status = text(screen, "#sync-status")
        assert "documents sent, 0 received" in status, status
        assert "documents sent" in text(screen, "#sync-last")
        sent = len(all_docs(hub_db))
        assert sent > 5 and not screen.query_one("#sync-now", Button).disabled
        assert text(screen, "#sync-conflicts") == "None."

        # Another laptop changes the study; the next sync (ctrl+s) brings it here.
        await asyncio.to_thread(another_laptop_works, tmp_path / "there", hub_db)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "received" in text(screen, "#sync-status")
        assert len(all_docs(hub_db)) > sent

        # Leaving and coming back: the hub, the user and the last sync are remembered.
        await pilot.press("escape")
        screen = await sync_screen(app, pilot)
        assert screen.query_one("#hub-url", Input).value == hub_db
        assert "received" in text(screen, "#sync-last")


async def test_a_sync_every_few_minutes_runs_in_the_background(tmp_path, demo_file, hub_db, monkeypatch):
    from citizen.services import import_protocol

    monkeypatch.setattr(syncing, "SECONDS_PER_MINUTE", 0.3)  # a "minute" of 0.3 s for the test
    here = tmp_path / "here"
    with laptop_folder(here, "AC") as folder:
        import_protocol(folder, demo_file, "Amina")
    app = make_app(here, study_id=STUDY, actor="Amina")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await sync_screen(app, pilot)
        screen.query_one("#hub-url", Input).value = hub_db
        screen.query_one("#sync-every", Input).value = "1"
        assert not screen.query_one("#include-contacts", Checkbox).value
        await press_sync_now(pilot, screen)
        await settle(app, pilot)
        await pilot.press("escape")  # the timer belongs to the app, not to the screen
        await pilot.pause()
        post_update(app.study(STUDY), "Halfway", {"en": "200 km walked."}, "Amina")
        deadline = time.monotonic() + 60  # a busy machine; done as soon as the hub has it
        while time.monotonic() < deadline and not any(d.get("title") == "Halfway" for d in all_docs(hub_db).values()):
            await pilot.pause(0.1)
        entry = syncing.background_sync(app).of(STUDY)
        assert any(d.get("title") == "Halfway" for d in all_docs(hub_db).values()), (entry.last_error, entry.running)
        assert isinstance(app.screen, StudyOverviewScreen)  # no screen waited for it
