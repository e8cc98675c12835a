"""Demo studies of a given size, made by the real command (``citizen demo``) once per run, or copied
from a folder made before (``python -m bench --from N=DATA``); the sizes a run measures."""

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


# Runs one citizen command in this process and reports its peak resident memory (KiB) on stderr.
# (VmHWM, not ru_maxrss: the latter carries the forking parent's peak across exec on Linux.)
HWM = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
PEAK = (
    "import sys\nfrom citizen.cli import main\ncode = main(sys.argv[1:])\n"
    f"print('PEAK', {HWM}, file=sys.stderr)\nsys.exit(code)\n"
)


def sizes(quick: bool) -> list[int]:
    """The study sizes this run measures: ``--size N`` (repeatable), else 1,000, 10,000 and 100,000."""
    asked = os.environ.get("CITIZEN_BENCH_SIZES")
    if asked:
        return [int(s) for s in asked.split(",") if s]
    return [1_000, 10_000] if quick else [1_000, 10_000, 100_000]


def peak_mib(pid: int) -> float | None:
    """The peak resident memory of a running process (VmHWM), in MiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@dataclass
class Generated:
    data: Path
    contributions: int
    participants: int
    wall: float | None  # seconds, the whole `citizen demo` process (None: copied from a folder made before)
    cpu: float | None  # user + system seconds of that process
    peak: float | None = None  # MiB, that process's peak resident memory
    source: Path | None = None  # the folder it was copied from (``--from``)


_made: dict[int, Generated] = {}


def given_folders() -> dict[int, Path]:
    """``--from N=DATA``: data folders already holding the demo study of N contributions."""
    given: dict[int, Path] = {}
    for item in filter(None, os.environ.get("CITIZEN_BENCH_FROM", "").split(",")):
        size, _, path = item.partition("=")
        given[int(size)] = Path(path)
    return given


def demo_study(contributions: int) -> Generated:
    """A data folder holding the demo study with about this many contributions (made once per run,
    or copied once from the folder given for this size: nothing is written into that one)."""
    if contributions in _made:
        return _made[contributions]
    data = work_folder() / f"demo-{contributions}"
    if data.exists():
        shutil.rmtree(data)
    participants = participants_for(contributions)
    source = given_folders().get(contributions)
    if source is not None:
        copy_study(source, data)
        made = _made[contributions] = Generated(data, contributions, participants, None, None, None, source)
        return made
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK,
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
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = next((int(line.split()[1]) / 1024 for line in done.stderr.splitlines() if line.startswith("PEAK ")), None)
    made = _made[contributions] = Generated(data, contributions, participants, wall, cpu, peak)
    return made


def copy_study(source: Path, copy: Path) -> Path:
    """A copy of a data folder that a benchmark may write to, the source left as it is.

    Segment files (``*.json`` and their ``.json.bak`` last good copies) are hard links: the store
    never writes one in place (a write makes a new file and renames it over the old), so the source
    keeps its bytes, and the copy keeps each segment's identity (inode, size, modification time),
    so the indexes kept beside the segments stay current in the copy as they are on a laptop that
    has held the study all along; a plain copy would make every one of them again on first use.
    Everything else (the journal, appended in place; the caches) is copied. Across file systems,
    or where a link is refused, the segments are copied too.
    """
    for folder, _dirs, files in os.walk(source):
        here = copy / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name == ".lock":
                continue
            if name.endswith((".json", ".json.bak")) and "studies" in here.relative_to(copy).parts:
                try:
                    os.link(Path(folder, name), here / name)
                    continue
                except OSError:
                    pass
            shutil.copy2(Path(folder, name), here / name)
            (here / name).chmod(0o600)
    return copy


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


def index_bytes(data: Path) -> int:
    """The study's persisted indexes and summaries on disk (every ``*.cache`` file beside the segments)."""
    return sum(path.stat().st_size for path in study_folder(data).rglob("*.cache") if path.is_file())


def cleanup() -> None:
    path = os.environ.get("CITIZEN_BENCH_WORK")
    if path and Path(path).name.startswith("citizen-bench-"):
        shutil.rmtree(path, ignore_errors=True)
