"""Demo studies of a given size, made by the real command (``citizen demo``), once per run."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

STUDY_ID = "air-quality-walk"
SEED = 1


def participants_for(contributions: int) -> int:
    return max(60, contributions // 50)


def citizen_command() -> list[str]:
    script = Path(sys.executable).parent / "citizen"
    return [str(script)] if script.exists() else [sys.executable, "-m", "citizen"]


def work_folder() -> Path:
    """Where this run keeps its generated studies (outside the repository; removed at the end)."""
    path = os.environ.get("CITIZEN_BENCH_WORK")
    if not path:
        path = tempfile.mkdtemp(prefix="citizen-bench-")
        os.environ["CITIZEN_BENCH_WORK"] = path
    return Path(path)


@dataclass
class Generated:
    data: Path
    contributions: int
    participants: int
    wall: float  # seconds, the whole `citizen demo` process
    cpu: float  # user + system seconds of that process


_made: dict[int, Generated] = {}


def demo_study(contributions: int) -> Generated:
    """A data folder holding the demo study with about this many contributions (made once per run)."""
    if contributions in _made:
        return _made[contributions]
    data = work_folder() / f"demo-{contributions}"
    if data.exists():
        shutil.rmtree(data)
    participants = participants_for(contributions)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [
            *citizen_command(),
            "--data",
            str(data),
            "demo",
            "--contributions",
            str(contributions),
            "--participants",
            str(participants),
            "--seed",
            str(SEED),
            "--no-open",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    made = _made[contributions] = Generated(data, contributions, participants, wall, cpu)
    return made


def study_folder(data: Path) -> Path:
    return data / "studies" / STUDY_ID


def study_bytes(data: Path, last_good_copies: bool = False) -> int:
    """The study's data files on disk: segments, journal and summaries; with ``.bak`` copies if asked."""
    total = 0
    for path in study_folder(data).rglob("*"):
        if not path.is_file():
            continue
        if path.name.endswith(".bak") and not last_good_copies:
            continue
        total += path.stat().st_size
    return total


def cleanup() -> None:
    path = os.environ.get("CITIZEN_BENCH_WORK")
    if path and Path(path).name.startswith("citizen-bench-"):
        shutil.rmtree(path, ignore_errors=True)
