"""End to end in a real terminal: `citizen demo` under tmux, read off the screen."""

from __future__ import annotations

import shlex

import pytest

from .support.commands import citizen_command
from .support.terminal import IN_TMUX, Terminal

pytestmark = IN_TMUX


@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
def test_demo_in_a_real_terminal(tmp_path, run_env, term):
    data = tmp_path / "data"
    command = " ".join(shlex.quote(c) for c in citizen_command()) + f" --data {shlex.quote(str(data))} demo --seed 3"
    term_env = dict(run_env, TERM=term)
    t = Terminal(command, term_env)
    try:
        t.wait_for("Participants taking part")
        screen = t.wait_for("Protocol version: 2")  # the first frames may still be painting the facts
        assert "Clean Air Walks in Northgate" in screen
        t.keys("Escape")
        studies_screen = t.wait_for("Enter opens the highlighted study")
        assert "Studies" in studies_screen and "60" in studies_screen
        t.keys("Enter")
        t.wait_for("Shared aim:")
        t.keys("Escape")
        t.wait_for("Enter opens the highlighted study")
        t.keys("q")
        t.wait_for("EXITED 0")
    finally:
        t.close()
    from citizen.services import open_study
    from citizen.store import DataFolder

    with DataFolder(data) as folder:  # free again: the app released its lock when it quit
        repo = open_study(folder, "air-quality-walk").repo
        live, rows = repo.contribution_count(), repo.contribution_counts()["rows"]
    # The list shows the contributions kept, not the tombstones of removed ones.
    assert live < rows
    row = next(line for line in studies_screen.splitlines() if "Clean Air Walks" in line)
    assert f" {live} " in row and f" {rows} " not in row
