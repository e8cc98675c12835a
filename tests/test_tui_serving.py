"""Serving phones is a state of the app: it goes on whatever screen is open, every screen's header line
counts what arrives, quitting asks first, and `citizen serve` says where the app serves."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import urllib.error
import urllib.request

from textual.widgets import DataTable, Input, TextArea

from citizen.services import open_study
from citizen.services.arrivals import arrivals_since, start_of_today
from citizen.services.invite_links import invite_token
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.dialogs.confirm import ConfirmDialog
from citizen.tui.screens.contributions import ContributionsScreen
from citizen.tui.screens.design import DesignScreen
from citizen.tui.screens.enrolment import EnrolmentScreen
from citizen.tui.screens.overview import StudyOverviewScreen
from citizen.tui.screens.participants import ParticipantsScreen
from citizen.tui.widgets.serving_line import ServingLine

from .support import phone
from .support.commands import citizen_command
from .support.factories import STUDY
from .support.tui import cells, open_enrolment, settle, text_of, until


def header_line(app) -> str:
    """The serving line of the screen in view, as shown ("" while hidden)."""
    line = app.screen.query_one(ServingLine)
    return str(line.render()) if line.display else ""


def refused(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


async def answers(link: str) -> int:
    """The status of a served page, fetched off the app's loop (which serves it)."""

    def fetch() -> int:
        try:
            with urllib.request.urlopen(link, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    return await asyncio.to_thread(fetch)


async def start_serving(app, pilot) -> EnrolmentScreen:
    screen = await open_enrolment(app, pilot)
    screen.query_one("#serve-host", Input).value = "127.0.0.1"
    screen.query_one("#serve-port", Input).value = "0"
    await pilot.press("s")
    await settle(app, pilot)
    assert app.serving.running
    return screen


def join_link(app) -> str:
    study = app.study(STUDY)
    invite = next(i for i in study.repo.invites() if i.label == "library poster")
    return app.serving.server.join_url(invite_token(study, invite))  # as the laptop that made it shows it


async def test_serving_goes_on_on_every_screen_and_the_header_counts_arrivals(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert header_line(app) == ""  # nothing served: no line
        today = len(arrivals_since(app.study(STUDY), start_of_today()))
        await start_serving(app, pilot)
        base = app.serving.base_url
        said = f"Serving {STUDY} at {base} · 2 invites open · {today} arrival{'' if today == 1 else 's'} today"
        assert header_line(app) == said
        # Leaving the screen asks nothing and stops nothing.
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, StudyOverviewScreen) and header_line(app) == said and await answers(join_link(app)) == 200
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ContributionsScreen) and header_line(app) == said
        queue = app.screen.query_one("#contributions-table", DataTable)
        await pilot.press("down", "down")  # the reviewer is on the third contribution
        await pilot.pause()
        reading = queue.coordinate_to_cell_key(queue.cursor_coordinate).row_key.value

        # A phone joins and contributes over HTTP while the review queue is in view.
        private = await asyncio.to_thread(phone.enrol, join_link(app))
        await until(pilot, lambda: f"{today + 1} arrivals today" in header_line(app), "the enrolment to be counted")
        await asyncio.to_thread(phone.contribute, private)
        await until(pilot, lambda: f"{today + 2} arrivals today" in header_line(app), "the contribution to be counted")
        code = app.study(STUDY).repo.participants()[-1].code
        await until(pilot, lambda: cells(queue)[0][2] == code, "the review queue to show it first")
        assert cells(queue)[0][4:6] == ["phone", "received"]
        assert queue.coordinate_to_cell_key(queue.cursor_coordinate).row_key.value == reading  # still there

        # The desk's list counts the newcomer too, under the same line.
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        assert isinstance(app.screen, ParticipantsScreen) and f"{today + 2} arrivals today" in header_line(app)
        assert any(row[0] == code for row in cells(app.screen.query_one("#participants-table", DataTable)))

        # Back on Enrolment: today's arrivals, the phone's among them; s stops, and the port refuses.
        await pilot.press("escape")
        await settle(app, pilot)
        screen = await open_enrolment(app, pilot)
        assert [row[1:] for row in cells(screen.query_one("#arrivals-table", DataTable))][:2] == [
            [code, "contributed (phone)"],
            [code, "joined (phone, invite 'library poster')"],
        ]
        assert f"Serving at {base}" in text_of(screen, "#serve-status")
        await pilot.press("s")
        await settle(app, pilot)
        assert not app.serving.running and header_line(app) == "" and refused(base)
        assert "Not serving" in text_of(screen, "#serve-status")
    app.data.close()


async def test_quitting_while_serving_asks_and_escape_keeps_serving(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await start_serving(app, pilot)
        base = app.serving.base_url
        assert (demo_data_path / "serving.json").exists()
        await pilot.press("escape", "escape")  # to the studies list
        await settle(app, pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and base in dialog.question and "Stop serving them and quit?" in dialog.question
        await pilot.press("escape")  # no: the app and the phone pages go on
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog) and app.is_running
        assert app.serving.running and await answers(join_link(app)) == 200 and base in header_line(app)
        await pilot.press("q")  # the studies list's own Quit asks too
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await pilot.pause()
    assert not app.serving.running and refused(base)
    assert not (demo_data_path / "serving.json").exists()
    app.data.close()


async def test_citizen_serve_while_the_app_is_open_says_where_to_look(demo_data_path, run_env):
    def serve() -> subprocess.CompletedProcess:
        return subprocess.run(
            [*citizen_command(), "--data", str(demo_data_path), "serve", STUDY, "--port", "0"],
            capture_output=True,
            text=True,
            env=run_env,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )

    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        out = await asyncio.to_thread(serve)
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert "if it is the terminal app, serve from there (open the study, press j for Enrolment, then s)" in out.stderr
        assert "Only one program may write a data folder at a time" in out.stderr
        await start_serving(app, pilot)
        out = await asyncio.to_thread(serve)
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert out.stderr.startswith(f"citizen: The terminal app is already serving '{STUDY}' to phones")
        assert f"at {app.serving.base_url} since " in out.stderr and "the line under its title counts the arrivals" in out.stderr
        assert "would undo each other's enrolments and contributions" in out.stderr
        assert app.serving.running  # the refused command changed nothing here
    app.data.close()
    # A note left by an app that ended without stopping (a crash) is not believed: the lock is free.
    (demo_data_path / "serving.json").write_text('{"by": "the terminal app", "study": "x", "url": "http://10.0.0.9:8080"}')
    with DataFolder(demo_data_path) as data:
        assert not (demo_data_path / "serving.json").exists()
        assert open_study(data, STUDY).repo.study().id == STUDY


async def test_review_publish_and_update_while_phones_contribute(demo_data_path):
    """The phone pages and the app write the same study at once: nothing is lost or doubled."""
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await start_serving(app, pilot)
        study = app.study(STUDY)
        before = {d["id"] for d in study.repo.contribution_docs()}
        added_before = sum(1 for e in study.repo.audit() if e.action == "contribution added")
        version = study.repo.current_protocol().number
        link = join_link(app)

        def two_phones() -> list[str]:
            links = [phone.enrol(link), phone.enrol(link)]
            for _ in range(4):
                for private in links:
                    phone.contribute(private)
            return links

        phones = asyncio.ensure_future(asyncio.to_thread(two_phones))
        await pilot.press("escape")
        await settle(app, pilot)
        # Review: accept the two newest waiting contributions.
        await pilot.press("c")
        await settle(app, pilot)
        queue = app.screen
        queue.query_one("#contributions-table", DataTable).focus()
        await pilot.press("home")
        await pilot.pause()
        accepted = [line.id for line in queue.lines[:2]]
        await pilot.press("a", "a")
        await settle(app, pilot)
        # An update for every participant.
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("u")
        await pilot.pause()
        await pilot.press(*"Evening walks", "tab", *"The ring road is worst at 6pm.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        # A new protocol version: one more question, published.
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, DesignScreen)
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        for lang, label in (("en", "Which bus stop?"), ("zh", "哪个公交站？"), ("ar", "أي موقف حافلات؟")):
            app.screen.query_one(f"#f-label_{lang}", Input).value = label
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.id == "publish-dialog"
        app.screen.query_one("#f-change_summary", TextArea).text = "Ask which bus stop."
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert study.repo.current_protocol().number == version + 1

        links = await phones
        # After the new version, a phone's next contribution is on it.
        await asyncio.to_thread(phone.contribute, links[0])
        new = [d for d in study.repo.contribution_docs() if d["id"] not in before]
        assert len(new) == 9 and len({d["id"] for d in new}) == 9
        assert max(new, key=lambda d: d["submitted_at"])["protocol_version"] == version + 1
        added = sum(1 for e in study.repo.audit() if e.action == "contribution added")
        assert added == added_before + 9
        states = {d["id"]: d["review_state"] for d in study.repo.contribution_docs()}
        assert [states[i] for i in accepted] == ["accepted", "accepted"]
        assert study.repo.updates()[0].title == "Evening walks"
    app.data.close()
    # On disk, read afresh, as the next start of the app will: the same, nothing lost or doubled.
    with DataFolder(demo_data_path) as data:
        again = open_study(data, STUDY).repo
        docs = list(again.contribution_docs())
        assert len(docs) == len(before) + 9 and len({d["id"] for d in docs}) == len(docs)
        assert {d["id"]: d["review_state"] for d in docs if d["id"] in accepted} == dict.fromkeys(accepted, "accepted")
        assert again.current_protocol().number == version + 1 and again.updates()[0].title == "Evening walks"
        assert sum(1 for e in again.audit() if e.action == "contribution added") == added_before + 9
