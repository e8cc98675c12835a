"""End to end in a real terminal: `citizen demo` under tmux, read off the screen."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid

import pytest

from .conftest import citizen_command

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Terminal:
    def __init__(self, command: str, env: dict[str, str], width: int = 80, height: int = 24):
        self.name = f"citizen-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k in ("PYTHONPATH", "PATH", "TERM"))
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                f"env {exports} {command}; echo EXITED $?; sleep 30",
            ],
            check=True,
        )

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return out.stdout

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.3)  # a lone Escape must not merge with the next key

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


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
