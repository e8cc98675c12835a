"""What the Pilot tests share: the screen size, letting workers finish, reading a table or a text off a
screen, filling a dialog, choosing a radio button and opening a screen by its key, as a person would."""

from __future__ import annotations

import asyncio

from textual.widgets import Checkbox, DataTable, Input, RadioSet, Select, Static, TextArea

from citizen.tui.dialogs.form import FormDialog
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


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def choose(pilot, radio: RadioSet, index: int) -> None:
    """Pick the index-th button of a radio set with the keyboard, as a person would."""
    radio.focus()
    await pilot.pause()
    here = radio._selected or 0  # the highlighted button (where the keyboard is)
    for _ in range(abs(index - here)):
        await pilot.press("down" if index > here else "up")
    await pilot.press("enter")
    assert radio.pressed_index == index


SIZE = (80, 24)


async def fill(pilot, **values) -> None:
    """Type into the open dialog's entries and press Ctrl+S."""
    dialog = pilot.app.screen
    assert isinstance(dialog, FormDialog), dialog
    for name, value in values.items():
        widget = dialog.query_one(f"#f-{name}")
        if isinstance(widget, TextArea):
            widget.text = value
        elif isinstance(widget, (Input, Checkbox, Select)):
            widget.value = value
    await pilot.press("ctrl+s")
    await pilot.pause()


def shown(screen, selector: str) -> str:
    widget = screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


async def type_at_once(pilot, *keys: str) -> None:
    """Keys arriving together, as from a fast typist or a terminal that reads them in one go: each reaches
    the app straight after the one before, without waiting for the app to finish with it (``pilot.press``
    waits after every key, so it never shows a key overtaken by the one before)."""
    from textual import events

    app = pilot.app
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else {"tab": "\t", "enter": "\r", "space": " "}.get(key))
        event.set_sender(app)
        app._driver.send_message(event)
    await settle(app, pilot)


async def until(pilot, check, what: str, limit: float = 20.0) -> None:
    """Poll (the app keeps running between polls) until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def open_enrolment(app, pilot):
    """The study's Enrolment screen, opened with its key (j)."""
    from citizen.tui.screens.enrolment import EnrolmentScreen  # lazy, as the app loads it

    return await open_from_study(app, pilot, "j", EnrolmentScreen)
