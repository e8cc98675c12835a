"""The terminal app as a person sees it, in tmux: process start to the first screen drawn, and
keypress to drawn, each against a bare Textual app measured in the same run.

Targets (issue 16): the first screen (the studies list) at most 1.5x a bare Textual app's start
(Header, a line, Footer: ``bench/bare_app.py``); on the contributions screen, opening it (to its
first page counted and ready to filter), End, a review-state filter and a word search each at most
1.5x the bare app pushing a screen of 100 rows. Each run is a fresh process. The time is taken from the moment tmux is asked to
start the command (or to send the key) until ``tmux capture-pane`` shows the line that says the
screen is drawn; both are polled the same way, so the polling cost is in both.

Run alone: ``python -m bench.bench_tmux [--quick] [--size N] [--runs N] [--from DATA]`` (``--from``: a
data folder made before by ``citizen demo --contributions N``, copied so that nothing in it changes).
"""

from __future__ import annotations

import argparse
import os
import re
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
        for _attempt in range(3):
            began = time.perf_counter()
            # a tmux server still shutting down after the previous session closed refuses the new one
            started = subprocess.run(self.argv, capture_output=True, text=True)
            if started.returncode == 0:
                return self.wait_for(marker, began, timeout)
            time.sleep(0.5)
        raise RuntimeError(f"tmux did not start the session: {started.stderr.strip()}")

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

    def wait_until(self, ready, timeout: float = 120.0) -> None:
        """Until ``ready(screen text)`` holds (not timed: what comes before a measured key)."""
        deadline = time.perf_counter() + timeout
        while not ready(self.screen()):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the screen never got ready; it was:\n{self.screen()}")
            time.sleep(0.02)

    def send(self, *keys: str, literal: bool = False) -> None:
        """Keys sent one by one without timing (``literal``: a text typed as it is), each given time
        to move the focus before the next, as a person's keys are."""
        for key in [keys] if literal else [[k] for k in keys]:
            subprocess.run(["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []), *key], check=True)
            time.sleep(0.3)

    def key(self, key: str, marker: str, timeout: float = 120.0) -> float:
        """Seconds from sending the key until the marker is on the screen (it must not be there before)."""
        if marker in self.screen():
            raise RuntimeError(f"{marker!r} is on the screen before the key {key!r}")
        began = time.perf_counter()
        subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
        return self.wait_for(marker, began, timeout)

    def peak(self) -> float:
        """Peak resident memory (MiB) of the program in the pane (the first Python process from the
        pane's own), read while it runs."""
        from .studies import peak_mib

        done = subprocess.run(["tmux", "display-message", "-p", "-t", self.name, "#{pane_pid}"], capture_output=True, text=True)
        pids = [int(done.stdout.strip())] if done.stdout.strip().isdigit() else []
        while pids:
            pid = pids.pop(0)
            try:
                if "python" in Path(f"/proc/{pid}/comm").read_text():
                    return peak_mib(pid) or float("nan")
                pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                continue
        return float("nan")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def environment(home: Path) -> dict[str, str]:
    env = {"TERM": "xterm-256color", "HOME": str(home), "PATH": os.environ.get("PATH", "")}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def first_screen(
    data: Path, runs: int, home: Path, peaks: dict[str, list[float]] | None = None
) -> tuple[list[float], list[float]]:
    """Process start to drawn: the studies list of ``data`` and the bare app, interleaved
    (``peaks``: each app's peak memory in MiB once drawn, under "ours" and "bare")."""
    env = environment(home)
    ours: list[float] = []
    bare: list[float] = []
    for n in range(runs + 1):  # the first round warms the file cache and writes bytecode: not counted
        for sink, who, command, marker in (
            (bare, "bare", [sys.executable, str(BARE), "start"], "bare app ready"),
            (ours, "ours", [sys.executable, "-m", "citizen", "--data", str(data)], "Enter opens the highlighted study."),
        ):
            session = Session(command, env)
            try:
                took = session.start(marker)
                if n:
                    sink.append(took)
                    if peaks is not None:
                        peaks.setdefault(who, []).append(session.peak())
            finally:
                session.close()
    return ours, bare


def contributions_screen(data: Path, runs: int, home: Path) -> dict[str, list[float]]:
    """Keypress to drawn on the contributions screen, each run in a fresh app; and the bare app's
    push of a screen of 100 rows; under "peak", the app's peak memory (MiB) after the word search."""
    env = environment(home)
    out: dict[str, list[float]] = {"open": [], "end": [], "filter": [], "words": [], "bare": [], "peak": []}
    for n in range(runs + 1):  # the first round warms the file cache and writes bytecode: not counted
        bare = Session([sys.executable, str(BARE), "push"], env)
        try:
            bare.start("bare app ready")
            took = {"bare": bare.key("p", "bare row 100")}
        finally:
            bare.close()
        app = Session([sys.executable, "-m", "citizen", "--data", str(data)], env)
        try:
            app.start("Enter opens the highlighted study.")
            app.key("Enter", "Participants enrolled per week")
            app.wait_until(lambda screen: "Counting..." not in screen)
            took["open"] = app.key("c", "1-100 of ")  # the first page, counted and ready to filter
            total = re.search(r"1-100 of ([\d,]+)", app.screen())
            assert total is not None
            took["end"] = app.key("End", f"-{total.group(1)} of {total.group(1)}")
            app.send("/", "Enter")  # the review state's list, opened
            app.wait_until(lambda screen: "removed" in screen)
            app.send("Down", "Down")  # "accepted"
            took["filter"] = app.key("Enter", "(filtered")
            app.send("C-r")
            app.wait_until(lambda screen: "(filtered" not in screen)
            app.send("/", *["Tab"] * 5)  # to the words box
            app.send("road", literal=True)
            took["words"] = app.key("Enter", "(filtered")
            took["peak"] = app.peak()
        finally:
            app.close()
        if n:
            for key, value in took.items():
                out[key].append(value)
    return out


def measurements(quick: bool, size: int | None = None, runs: int | None = None, source: Path | None = None) -> list[dict]:
    from .studies import copy_study, demo_study, work_folder

    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed")
    size = size or (1_000 if quick else 10_000)
    runs = runs or (3 if quick else 7)
    if source is not None:
        data = copy_study(source, work_folder() / "from")
    else:
        data = demo_study(size).data
    home = work_folder() / "home"
    home.mkdir(exist_ok=True)
    ours, bare = first_screen(data, runs, home)
    rows = [row(f"first screen (studies list), in tmux ({size:,})", ours, bare, "bare Textual app start")]
    screen = contributions_screen(data, runs, home)
    push = "bare Textual screen push of 100 rows"
    for key, what in (("open", "open"), ("end", "End"), ("filter", "filter by review state"), ("words", "word search")):
        rows.append(row(f"contributions screen: {what}, keypress to drawn ({size:,})", screen[key], screen["bare"], push))
    return rows


def row(measure: str, ours: list[float], bare: list[float], base: str) -> dict:
    o, b = statistics.median(ours), statistics.median(bare)
    return {
        "measure": measure,
        "ours": o * 1000,
        "baseline": b * 1000,
        "base": base,
        "unit": "ms",
        "target": "<= 1.5x base",
        "ok": o <= 1.5 * b,
    }


def main() -> None:
    from . import studies
    from .__main__ import table

    parser = argparse.ArgumentParser(prog="python -m bench.bench_tmux", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=None, help="contributions in the study (10,000; 1,000 quick)")
    parser.add_argument("--runs", type=int, default=None, help="runs of each, the median is shown (7; 3 quick)")
    parser.add_argument("--from", dest="source", metavar="DATA", default=None, help="a data folder holding the demo study")
    args = parser.parse_args()
    try:
        rows = measurements(args.quick, args.size, args.runs, Path(args.source) if args.source else None)
    finally:
        studies.cleanup()
    print(table(rows))


if __name__ == "__main__":
    main()
