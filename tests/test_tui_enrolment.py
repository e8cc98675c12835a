"""The Enrolment screen: invites, the QR code, serving, and arrivals over real HTTP shown live."""

from __future__ import annotations

import asyncio
import socket

from textual.widgets import DataTable, Input, Static

from citizen.domain.models import StudyStatus, link_fingerprint
from citizen.services.studies import set_study_status
from citizen.tui.app import make_app
from citizen.tui.dialogs.confirm import ConfirmDialog
from citizen.tui.dialogs.form import FormDialog
from citizen.tui.screens.enrolment import EnrolmentScreen

from .support import phone
from .support.factories import STUDY
from .support.qr_images import decoded, terminal_image
from .support.tui import cells, open_enrolment, settle, text_of, until


async def type_into(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else "minus" if ch == "-" else ch)


def shown_code(screen) -> str:
    return str(screen.query_one("#qr-code", Static).render())


def shows_invite(screen, index: int) -> bool:
    """The link shown is the one of the invite in that row (this laptop keeps only its fingerprint, and its seal)."""
    return link_fingerprint(screen.shown_link.rsplit("/j/", 1)[1]) == screen.rows[index].invite.fingerprint


def code_colours(screen) -> set[tuple[str, str]]:
    """The colours the code is painted in, line by line as the terminal gets them."""
    widget = screen.query_one("#qr-code", Static)
    return {
        (s.style.color.name, s.style.bgcolor.name)
        for y in range(widget.size.height)
        for s in widget.render_line(y)
        if s.text and s.style and s.style.color
    }


async def test_invites_dialog_close_and_the_qr_of_the_highlighted_invite(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_enrolment(app, pilot)
        table = screen.query_one("#invites-table", DataTable)
        assert [r[0] for r in cells(table)] == ["health centre waiting room", "library poster"]
        assert app.focused is table
        shown = {b.description for _node, b, _on, _tip in screen.active_bindings.values() if b.show}
        assert {"Back", "Serve/stop", "New invite", "Close invite", "Poster"} <= shown
        # The QR of the highlighted invite reads back as its join link at the address to be served.
        code = shown_code(screen)
        assert decoded(terminal_image(code)) == [screen.shown_link]
        assert shows_invite(screen, 0) and ":8080/j/" in screen.shown_link
        # All of it in sight at 80x24, above the footer.
        region = screen.query_one("#qr-code", Static).region
        cols, lines = len(code.splitlines()[0]), len(code.splitlines())
        assert region.width == cols and region.height == lines and region.right <= 80 and region.bottom <= 23
        # White on black whatever the theme: the default one, and high contrast (F3).
        assert code_colours(screen) == {("#ffffff", "#000000")}
        await pilot.press("f3")
        await pilot.pause()
        assert code_colours(screen) == {("#ffffff", "#000000")}
        await pilot.press("f3")
        await pilot.press("down")
        await pilot.pause()
        assert shows_invite(screen, 1)

        # A refused invite: the reasons beside the boxes, nothing stored.
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        await type_into(pilot, "library poster")
        await pilot.press("tab")
        await type_into(pilot, "0")
        await pilot.press("tab")
        await type_into(pilot, "31/12/2099")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is dialog
        assert "already called 'library poster'" in text_of(dialog, "#error-label")
        assert "1 or more" in text_of(dialog, "#error-limit")
        assert "is not a date" in text_of(dialog, "#error-expires")
        assert len(app.study(STUDY).repo.invites()) == 2

        # Corrected, it is created, highlighted and drawn.
        dialog.query_one("#f-label", Input).value = "market stall"
        dialog.query_one("#f-limit", Input).value = "25"
        dialog.query_one("#f-expires", Input).value = "2099-12-31"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        made = next(i for i in app.study(STUDY).repo.invites() if i.label == "market stall")
        assert made.limit == 25 and made.expires_at.year == 2099
        row = next(r for r in cells(table) if r[0] == "market stall")
        assert row[1] == "0/25" and row[2].startswith("2099-12-31") and row[3] == "open"
        index = next(i for i, r in enumerate(screen.rows) if r.invite.id == made.id)
        assert screen.highlighted().id == made.id and shows_invite(screen, index)
        assert decoded(terminal_image(shown_code(screen))) == [screen.shown_link]

        # Close it: asked first; then it is closed and has no code.
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
        assert next(i for i in app.study(STUDY).repo.invites() if i.id == made.id).closed
        assert next(r for r in cells(table) if r[0] == "market stall")[3] == "closed"
        assert screen.highlighted().id == made.id and screen.shown_link == ""
        assert "closed" in shown_code(screen)


async def test_a_poster_is_saved_where_asked_and_a_bad_place_is_refused(demo_data_path, tmp_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_enrolment(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        dialog.query_one("#f-path", Input).value = str(tmp_path / "missing" / "p.png")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "does not exist" in text_of(dialog, "#error-path")
        dialog.query_one("#f-path", Input).value = str(tmp_path / "poster.svg")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert screen.shown_link in (tmp_path / "poster.svg").read_text()


async def test_serving_and_arrivals_over_http_appear_live(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_enrolment(app, pilot)
        # A port in use is said plainly, and nothing serves.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            screen.query_one("#serve-host", Input).value = "127.0.0.1"
            screen.query_one("#serve-port", Input).value = str(taken.getsockname()[1])
            await pilot.press("s")
            await settle(app, pilot)
            assert screen.server is None
            assert "already in use" in text_of(screen, "#serve-status")
        screen.query_one("#serve-port", Input).value = "0"
        await pilot.press("s")
        await settle(app, pilot)
        assert screen.server is not None
        base = screen.server.base_url
        assert base.startswith("http://127.0.0.1:") and not base.endswith(":0")
        assert f"Serving at {base}" in text_of(screen, "#serve-status")
        link = screen.shown_link
        assert link.startswith(base + "/j/") and decoded(terminal_image(shown_code(screen))) == [link]

        arrivals = screen.query_one("#arrivals-table", DataTable)
        n = arrivals.row_count  # today's, the demo's own among them
        private = await asyncio.to_thread(phone.enrol, link)
        await until(pilot, lambda: arrivals.row_count == n + 1, "the enrolment to appear")
        when, who, what = cells(arrivals)[0]  # newest first
        code = who
        assert what == "joined (phone, invite 'health centre waiting room')" and len(when) == 5
        assert app.study(STUDY).repo.participant_by("code", code) is not None
        assert any(
            r[0] == "health centre waiting room" and r[1] == "1/200" for r in cells(screen.query_one("#invites-table", DataTable))
        )
        await asyncio.to_thread(phone.contribute, private)
        await until(pilot, lambda: arrivals.row_count == n + 2, "the contribution to appear")
        assert cells(arrivals)[0][1:] == [code, "contributed (phone)"]
        # A correction from the phone names its participant like every other arrival.
        participant = app.study(STUDY).repo.participant_by("code", code)
        [sent] = app.study(STUDY).repo.contributions_of(participant.id)
        await asyncio.to_thread(phone.correct, private, sent.id)
        await until(pilot, lambda: arrivals.row_count == n + 3, "the correction to appear")
        assert cells(arrivals)[0][1:] == [code, "corrected a contribution"]

        # Stop serving: the address no longer answers.
        await pilot.press("s")
        await settle(app, pilot)
        assert screen.server is None and "Not serving" in text_of(screen, "#serve-status")
        host, port = base.removeprefix("http://").split(":")
        with socket.socket() as probe:
            assert probe.connect_ex((host, int(port))) != 0


async def serve_a_draft(app, pilot) -> EnrolmentScreen:
    """Mark the study a draft, open Enrolment and start serving on this laptop only."""
    set_study_status(app.study(STUDY), StudyStatus.draft, "Amina Yusuf")
    screen = await open_enrolment(app, pilot)
    screen.query_one("#serve-host", Input).value = "127.0.0.1"
    screen.query_one("#serve-port", Input).value = "0"
    await pilot.press("s")
    await settle(app, pilot)
    return screen


async def test_serving_a_draft_study_offers_to_mark_it_recruiting(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await serve_a_draft(app, pilot)
        assert isinstance(app.screen, ConfirmDialog) and "still a draft" in app.screen.question
        assert screen.server is not None and screen.server.running  # serving either way
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert app.study(STUDY).repo.study().status == StudyStatus.recruiting
        [changed] = [e for e in app.study(STUDY).repo.audit() if e.action == "study status changed"][-1:]
        assert changed.actor == "Amina Yusuf" and changed.details == {"from": "draft", "to": "recruiting"}
        # Serving again, the study no longer a draft: nothing is asked.
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert app.screen is screen and screen.server is not None
        await pilot.press("s")
        await settle(app, pilot)
    app.data.close()


async def test_a_draft_stays_a_draft_when_the_offer_is_declined(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await serve_a_draft(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen and screen.server is not None and screen.server.running
        assert app.study(STUDY).repo.study().status == StudyStatus.draft
        await pilot.press("s")
        await settle(app, pilot)
    app.data.close()


async def test_the_address_served_on_is_kept_and_the_focused_box_stands_out(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_enrolment(app, pilot)
        host, port = screen.query_one("#serve-host", Input), screen.query_one("#serve-port", Input)
        host.focus()
        await pilot.pause()
        assert host.styles.background != port.styles.background and host.styles.text_style.bold
        host.value, port.value = "127.0.0.1", "0"
        await pilot.press("enter")  # Enter in the Host box serves
        await settle(app, pilot)
        assert screen.server is not None
        await pilot.press("s")  # stop, then leave and come back
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        screen = await open_enrolment(app, pilot)
        assert screen.query_one("#serve-host", Input).value == "127.0.0.1"
        assert screen.query_one("#serve-port", Input).value == "0"
    app.data.close()


async def test_an_invite_made_on_another_laptop_says_its_code_can_only_be_shown_there(demo_data_path, tmp_path, monkeypatch):
    monkeypatch.setenv("CITIZEN_KEY_FILE", str(tmp_path / "other-laptop-key"))  # this copy is on another laptop
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_enrolment(app, pilot)
        said = " ".join(shown_code(screen).split())
        assert "can only be shown on the laptop that made it" in said and "n on the Enrolment screen" in said
        assert screen.shown_link == ""
        await pilot.press("w")  # no poster of a link it cannot show
        await settle(app, pilot)
        assert not isinstance(app.screen, FormDialog)
