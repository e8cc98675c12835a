"""Notices in the corner show what people typed as they typed it: brackets are never read as markup."""

from __future__ import annotations

from textual.widgets import Input

from citizen.tui.app import make_app
from citizen.tui.dialogs.form import FormDialog

from .support.factories import STUDY
from .support.tui import open_enrolment, settle


def toasts(app) -> list[str]:
    return [str(t.render()) for t in app.screen.query("Toast")]


async def test_an_invite_named_with_brackets_is_created_and_named_in_the_notice(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await open_enrolment(app, pilot)
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        # Markup that does not close: Textual would stop the app reading it as markup.
        dialog.query_one("#f-label", Input).value = "[/b] market [bold]stall"
        dialog.query_one("#f-limit", Input).value = "25"
        dialog.query_one("#f-expires", Input).value = "2099-12-31"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.pause()
        assert app.is_running
        assert any("Invite '[/b] market [bold]stall' created" in text for text in toasts(app))
        assert any(i.label == "[/b] market [bold]stall" for i in app.study(STUDY).repo.invites())


async def test_a_notice_with_a_title_shows_both_as_written(demo_data_path):
    app = make_app(demo_data_path, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        app.notify("a [/x] b", title="[red]c")
        await pilot.pause()
        (text,) = toasts(app)
        assert "a [/x] b" in text and "[red]c" in text
