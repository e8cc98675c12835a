"""Where the project is, how a test starts the real command, and the store set to small segments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def citizen_command() -> list[str]:
    """How a test starts the real command: the installed script, else this Python with -m."""
    script = Path(sys.executable).parent / "citizen"
    return [str(script)] if script.exists() else [sys.executable, "-m", "citizen"]


def use_small_segments(monkeypatch, size: int) -> None:
    """Segments of ``size`` records in the growing tables, so a few hundred records span many files."""
    from citizen.store import store as store_module

    tables = dict(store_module.TABLES)
    for name in ("contributions", "audit", "consent_events", "participants"):
        tables[name] = (size, tables[name][1])
    monkeypatch.setattr(store_module, "TABLES", tables)


def start_serve(data_path, demo_file, run_env, *extra: str) -> subprocess.Popen:
    command = citizen_command()
    subprocess.run(
        [*command, "--data", str(data_path), "study", "import", str(demo_file)], check=True, env=run_env, capture_output=True
    )
    return subprocess.Popen(
        [*command, "--data", str(data_path), "serve", "air-quality-walk", "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env,
    )


def read_until(proc: subprocess.Popen, text: str, seen: list[str] | None = None) -> str:
    """Lines the command printed, up to the first holding ``text`` (which is returned); ``seen`` keeps them all."""
    while True:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        if seen is not None:
            seen.append(line.rstrip("\n"))
        if text in line:
            return line
