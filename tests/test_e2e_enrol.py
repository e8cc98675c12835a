"""The issue's "done when", in a real terminal: the Enrolment screen serves, a phone enrols and
contributes over HTTP, and both arrivals show on the screen without a restart."""

from __future__ import annotations

import re
import shlex
import socket

import pytest

from citizen.services import open_study
from citizen.services.invite_links import invite_token
from citizen.store import DataFolder

from .support import phone
from .support.commands import citizen_command
from .support.factories import STUDY
from .support.terminal import IN_TMUX, Terminal

pytestmark = IN_TMUX


def arrivals_today(screen: str) -> int:
    found = re.search(r"· ([0-9,]+) arrivals? today", screen)
    assert found, screen
    return int(found.group(1).replace(",", ""))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
def test_enrol_from_the_qr_link_and_see_the_arrivals_live(demo_data_path, run_env, term):
    with DataFolder(demo_data_path, readonly=True) as folder:
        study = open_study(folder, STUDY)
        poster = next(i for i in study.repo.invites() if i.label == "health centre waiting room")
        token = invite_token(study, poster)  # the poster's link, as the laptop that made it shows it
    port = free_port()
    command = " ".join(shlex.quote(c) for c in citizen_command()) + f" --data {shlex.quote(str(demo_data_path))} --as Tester"
    t = Terminal(command, dict(run_env, TERM=term))
    try:
        t.wait_for("Enter opens the highlighted study")
        t.keys("Enter")
        t.wait_for("Review backlog")
        t.keys("j")
        t.wait_for("Arrivals today")
        screen = t.wait_for("Not serving")
        assert "health centre waiting room" in screen and "█" in screen  # the code is drawn
        # Host 127.0.0.1 and a free port, typed into the emptied boxes (the host box holds this laptop's
        # own address by default); Enter starts serving.
        t.keys("BTab", "BTab", "End", "C-u", "127.0.0.1")
        t.wait_for("Host 127.0.0.1 ")
        t.keys("Tab", "End", "C-u", str(port))
        t.wait_for(f"Port {port}")
        t.keys("Enter")
        screen = t.wait_for(f"Serving at http://127.0.0.1:{port} · ")  # the line under the title
        today = arrivals_today(screen)  # the line under the title counts them
        link = f"http://127.0.0.1:{port}/j/{token}"
        private = phone.enrol(link)
        t.wait_for(f"· {today + 1} arrivals today", timeout=30)
        with DataFolder(demo_data_path, readonly=True) as folder:
            newest = max(open_study(folder, STUDY).repo.participants(), key=lambda p: p.enrolled_at)
        t.wait_for(f"{newest.code}  joined (phone", timeout=30)  # in the arrivals list too
        phone.contribute(private)
        t.wait_for(f"· {today + 2} arrivals today", timeout=30)
        t.wait_for(f"{newest.code}  contributed (phone)", timeout=30)
        # Leaving keeps serving, said under the title; quitting asks, and stopping frees the port.
        t.keys("Escape")
        screen = t.wait_for("Review backlog")
        assert f"Serving at http://127.0.0.1:{port} · " in screen  # 80 columns: without the study id
        t.keys("C-q")
        t.wait_for("Phones are being served at")
        t.keys("y")
        t.wait_for("EXITED 0")
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        t.close()
