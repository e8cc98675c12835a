"""A real terminal: the command under tmux, read off the screen, keys sent as a person types them."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

# The marks of every test that drives a real terminal: long, and skipped (with the reason) without tmux.
IN_TMUX = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Terminal:
    def __init__(self, command: str, env: dict[str, str], width: int = 80, height: int = 24):
        self.name = f"citizen-{uuid.uuid4().hex[:8]}"
        exports = " ".join(
            f"{k}={shlex.quote(v)}" for k, v in env.items() if k in ("PYTHONPATH", "PATH", "TERM", "CITIZEN_KEY_FILE")
        )
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
        """The screen, once it shows ``text`` (polled; fails with the screen as it was)."""
        return self._wait(lambda screen: text in screen, f"{text!r} never appeared", timeout)

    def wait_gone(self, text: str, timeout: float = 60.0) -> str:
        """The screen, once it no longer shows ``text``."""
        return self._wait(lambda screen: text not in screen, f"{text!r} never went", timeout)

    def _wait(self, done, failure: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if done(screen):
                return screen
            time.sleep(0.1)  # a poll, not a wait for time to pass
        raise AssertionError(f"{failure}; the screen was:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        """Press keys (tmux key names, or text) one after another, as a person does: each once the
        screen has taken the one before (see ``settled``)."""
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            self.settled()

    def type(self, text: str) -> None:
        """Type ``text`` literally (no key names) and wait until the screen has taken it."""
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)
        self.settled()

    def step(self, *keys: str, then: str, timeout: float = 30.0) -> str:
        """Press keys, then wait for the screen to show ``then``."""
        self.keys(*keys)
        self.wait_for(then, timeout)
        return self.settled(timeout)

    def choose(self, downs: int, menu: str = "▲") -> None:
        """Pick from the focused drop-down: open its menu and wait until the screen shows ``menu``
        (by default the arrow an open drop-down shows; a closed one points down), move down
        ``downs`` times, press Enter, and wait until the menu has closed."""
        self.step("Enter", then=menu)
        self.keys(*["Down"] * downs, "Enter")
        self.wait_gone(menu)

    def settled(self, timeout: float = 30.0) -> str:
        """The screen once it has stopped changing: the same text, and the cursor in the same place,
        on three reads in a row. The app handles a key in steps (a key that moves the focus moves it
        on its next turn; a dialog is painted a moment before it takes the keyboard) and a key sent
        in between lands where the last one left things, so each key waits for the screen to settle.
        Where the cursor is counts: a move between entries often changes nothing else."""
        deadline = time.monotonic() + timeout
        last, same = self._state(), 0
        while same < 2:
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never stopped changing; it was:\n{last[0]}")
            time.sleep(0.1)  # a poll, not a wait for time to pass
            now = self._state()
            same, last = (same + 1, now) if now == last else (0, now)
        return last[0]

    def _state(self) -> tuple[str, str]:
        where = subprocess.run(
            ["tmux", "display-message", "-p", "-t", self.name, "#{cursor_x},#{cursor_y}"], capture_output=True, text=True
        )
        return self.screen(), where.stdout

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def app_on_the_demo_study(data: Path, env: dict[str, str], actor: str = "") -> Terminal:
    """The terminal app on ``data`` in a real terminal, opened on its one study (the demo's)."""
    from .commands import citizen_command

    named = f" --as {shlex.quote(actor)}" if actor else ""
    command = " ".join(shlex.quote(c) for c in citizen_command()) + f" --data {shlex.quote(str(data))}{named}"
    t = Terminal(command, dict(env, TERM="xterm-256color"))
    try:
        t.wait_for("Enter opens the highlighted study")
        t.keys("Enter")
        t.wait_for("Review backlog")
    except BaseException:
        t.close()
        raise
    return t
