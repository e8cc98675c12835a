"""The Sync screen in a real terminal under tmux: a real sync with PouchDB Server, read off the screen."""

from __future__ import annotations

import shlex

from .support.commands import citizen_command
from .support.hub import all_docs
from .support.terminal import IN_TMUX, Terminal

pytestmark = IN_TMUX


def test_sync_screen_in_a_real_terminal(demo_data_path, run_env, hub_db):
    command = " ".join(shlex.quote(c) for c in citizen_command()) + f" --data {shlex.quote(str(demo_data_path))} --as Amina"
    t = Terminal(command, run_env)
    try:
        t.wait_for("Enter opens the highlighted study")
        t.keys("Enter")
        t.wait_for("Shared aim:")
        t.keys("s")
        t.wait_for("Sync with a hub")
        assert "Never synced" in t.screen()
        t.keys(hub_db)
        t.keys("C-s")
        screen = t.wait_for("documents sent", timeout=90)
        assert "0 received" in screen
        t.keys("Escape")
        t.wait_for("Shared aim:")
        t.step("Escape", then="Enter opens the highlighted study")
        t.keys("q")
        t.wait_for("EXITED 0")
    finally:
        t.close()
    assert len(all_docs(hub_db)) > 200
