"""The terminal app as a person sees it, in tmux: process start to the first screen drawn, and
keypress to drawn, each against a bare Textual app measured in the same run.

Targets (issue 16): the first screen (the studies list) at most 1.5x a bare Textual app's start
(Header, a line, Footer: ``bench/bare_app.py``). The time is taken from the moment tmux is asked to
start the command (or to send the key) until ``tmux capture-pane`` shows the line that says the
screen is drawn; both are polled the same way, so the polling cost is in both.

Run alone: ``python -m bench.bench_tmux [--quick] [--size N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

BARE = Path(__file__).with_name("bare_app.py")
WIDTH, HEIGHT = 100, 30


class Session:
    """A command in a detached tmux session of a fixed size."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.name = f"bench-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        size = ["-x", str(WIDTH), "-y", str(HEIGHT)]
        # bytecode is written and used, as by an installed program
        shell = f"env -u PYTHONDONTWRITEBYTECODE {exports} {shlex.join(command)}"
        self.argv = ["tmux", "new-session", "-d", "-s", self.name, *size, shell]

    def start(self, marker: str, timeout: float = 120.0) -> float:
        began = time.perf_counter()
        subprocess.run(self.argv, check=True)
        return self.wait_for(marker, began, timeout)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def wait_for(self, marker: str, began: float, timeout: float = 120.0) -> float:
        while True:
            screen = self.screen()
            took = time.perf_counter() - began
            if marker in screen:
                return took
            if took > timeout:
                raise RuntimeError(f"{marker!r} never appeared; the screen was:\n{screen}")

    def key(self, key: str, marker: str, timeout: float = 120.0) -> float:
        """Seconds from sending the key until the marker is on the screen (it must not be there before)."""
        if marker in self.screen():
            raise RuntimeError(f"{marker!r} is on the screen before the key {key!r}")
        began = time.perf_counter()
        subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
        return self.wait_for(marker, began, timeout)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def environment(home: Path) -> dict[str, str]:
    env = {"TERM": "xterm-256color", "HOME": str(home), "PATH": os.environ.get("PATH", "")}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def first_screen(data: Path, runs: int, home: Path) -> tuple[list[float], list[float]]:
    """Process start to drawn: the studies list of ``data`` and the bare app, interleaved."""
    env = environment(home)
    ours: list[float] = []
    bare: list[float] = []
    for n in range(runs + 1):  # the first round warms the file cache and writes bytecode: not counted
        for sink, command, marker in (
            (bare, [sys.executable, str(BARE), "start"], "bare app ready"),
            (ours, [sys.executable, "-m", "citizen", "--data", str(data)], "Enter opens the highlighted study."),
        ):
            session = Session(command, env)
            try:
                took = session.start(marker)
                if n:
                    sink.append(took)
            finally:
                session.close()
    return ours, bare


def measurements(quick: bool, size: int | None = None, runs: int | None = None) -> list[dict]:
    from .studies import demo_study, work_folder

    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed")
    size = size or (1_000 if quick else 10_000)
    runs = runs or (3 if quick else 7)
    gen = demo_study(size)
    home = work_folder() / "home"
    home.mkdir(exist_ok=True)
    ours, bare = first_screen(gen.data, runs, home)
    o, b = statistics.median(ours), statistics.median(bare)
    return [
        {
            "measure": f"first screen (studies list), in tmux ({size:,})",
            "ours": o * 1000,
            "baseline": b * 1000,
            "base": "bare Textual app start",
            "unit": "ms",
            "target": "<= 1.5x base",
            "ok": o <= 1.5 * b,
        }
    ]


def main() -> None:
    from . import studies
    from .__main__ import table

    parser = argparse.ArgumentParser(prog="python -m bench.bench_tmux", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=None, help="contributions in the study (10,000; 1,000 quick)")
    parser.add_argument("--runs", type=int, default=None, help="runs of each, the median is shown (7; 3 quick)")
    args = parser.parse_args()
    try:
        rows = measurements(args.quick, args.size, args.runs)
    finally:
        studies.cleanup()
    print(table(rows))


if __name__ == "__main__":
    main()
