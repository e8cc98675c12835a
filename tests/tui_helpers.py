"""What the Pilot tests of study screens share: letting workers finish, opening a screen by its key."""

from __future__ import annotations

from citizen.tui.screens.overview import StudyOverviewScreen


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_from_study(app, pilot, key: str, screen_type):
    """From the study's screen, as a person would: press the screen's key."""
    await settle(app, pilot)
    assert isinstance(app.screen, StudyOverviewScreen)
    await pilot.press(key)
    await settle(app, pilot)
    assert isinstance(app.screen, screen_type)
    return app.screen
