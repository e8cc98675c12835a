"""How the costs of a study grow with it: 1,000, 10,000, 100,000 contributions (1,000,000 on demand).

For each size, each with its baseline measured in the same run:

- ``citizen demo --contributions N``: wall and CPU seconds of the whole command, and whether the
  studies list then counts exactly N (target at 100,000: under 30 s wall);
- the first page a phone opens after ``citizen serve`` starts (a volunteer enrolled just before),
  against the same page opened again (target at 100,000: under 100 ms);
- ``citizen bundle export``, ``citizen bundle import`` into a laptop without the study, and
  ``citizen bundle import`` into a laptop holding an older copy (half the contributions, without
  their reviews, and half the activity log: ``older_bundle``), each as a whole process: wall seconds
  against a plain gzip JSON-lines read of the same bundle, and the process's peak memory (targets
  at 100,000: at most 3x the read, under 200 MiB).

Run alone: ``python -m bench.bench_scale [--quick] [--size N ...]``; through the runner
``python -m bench --only bench_scale`` (``python -m bench --size 1000000`` for the million).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import studies
from .bench_web import _prepare, _serve
from .studies import HWM, PEAK

READ = f"import gzip, json, sys\nwith gzip.open(sys.argv[1]) as f:\n    for line in f:\n        json.loads(line)\nprint({HWM})\n"


def row(measure: str, ours: float, baseline: float | None, base: str, unit: str, target: str, ok: bool | None) -> dict[str, Any]:
    return {"measure": measure, "ours": ours, "baseline": baseline, "base": base, "unit": unit, "target": target, "ok": ok}


def whole_process(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak MiB of ``citizen ARGS`` run in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"citizen {' '.join(args[:3])} failed: {done.stderr.strip()[-300:]}")
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK "))
    return wall, peak / 1024


def plain_read(bundle: Path) -> tuple[float, float]:
    """The baseline: a whole process reading the bundle line by line through gzip and json, nothing else."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", READ, str(bundle)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    return wall, int(done.stdout.split()[-1]) / 1024


def older_bundle(bundle: Path, out: Path) -> Path:
    """The same study as another laptop held it earlier, as a bundle file: half the contributions
    (without their reviews) and half the activity log; read and written a line at a time."""
    with gzip.open(bundle) as packed:
        header = json.loads(packed.readline())
        keep = {t: header["counts"][t] // 2 for t in ("contributions", "audit")}
        seen = dict.fromkeys(keep, 0)
        counts = {t: 0 for t in header["counts"]}
        sha = hashlib.sha256()
        body = out.with_name(out.name + ".body")
        with open(body, "wb") as raw:
            for line in packed:
                table, doc = json.loads(line)
                if table in keep:
                    seen[table] += 1
                    if seen[table] > keep[table]:
                        continue
                    if table == "contributions":
                        line = (
                            json.dumps(
                                [table, dict(doc, reviews=[], feedback=[], review_state="received")],
                                ensure_ascii=False,
                                separators=(",", ":"),
                            ).encode()
                            + b"\n"
                        )
                counts[table] += 1
                sha.update(line)
                raw.write(line)
    header.update(counts=counts, sha256=sha.hexdigest())
    with gzip.open(out, "wb", compresslevel=6) as packed, open(body, "rb") as raw:
        packed.write(json.dumps(header).encode() + b"\n")
        shutil.copyfileobj(raw, packed, 1 << 20)
    body.unlink()
    return out


def first_page(data: Path, peak: list[float] | None = None) -> tuple[float, float]:
    """Milliseconds of a phone's first page after `citizen serve` starts, and of the same page again
    (``peak``: the server's peak memory in MiB is added to it)."""
    import aiohttp

    [(_, token)], _, _ = _prepare(data, 1, 0)
    proc, base = _serve(data)
    try:

        async def fetch_twice() -> tuple[float, float]:
            async with aiohttp.ClientSession() as session:
                times = []
                for _ in range(2):
                    start = time.perf_counter()
                    async with session.get(f"{base}/p/{token}") as r:
                        await r.read()
                        if r.status != 200:
                            raise RuntimeError(f"page {r.status}")
                    times.append((time.perf_counter() - start) * 1000)
                return times[0], times[1]

        times = asyncio.run(fetch_twice())
        if peak is not None:
            peak.append(studies.peak_mib(proc.pid) or float("nan"))
        return times
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def measure(n: int, tmp: Path) -> list[dict[str, Any]]:
    big = n >= 100_000
    rows: list[dict[str, Any]] = []
    g = studies.demo_study(n)
    from citizen.services.queries import list_studies
    from citizen.store import DataFolder

    with DataFolder(g.data, readonly=True) as data:
        counted = list_studies(data)[0].contributions
    rows.append(
        row(
            f"`citizen demo --contributions {n:,}` (counts {counted:,}) wall",
            g.wall,
            None,
            "",
            "s",
            "< 30 s at 100,000; exactly N",
            (g.wall is not None and g.wall < 30 and counted == n) if big else counted == n,
        )
    )
    rows.append(row(f"`citizen demo --contributions {n:,}` CPU", g.cpu, None, "", "s cpu", "", None))

    copy = studies.copy_study(g.data, tmp / f"serve-{n}")
    first, again = first_page(copy)
    rows.append(
        row(
            f"first page after `citizen serve` starts, {n:,}",
            first,
            again,
            "the same page again",
            "ms",
            "< 100 ms at 100,000",
            first < 100 if big else None,
        )
    )

    rows += bundles(n, g.data, tmp)
    shutil.rmtree(copy, ignore_errors=True)
    return rows


def bundles(n: int, data: Path, tmp: Path) -> list[dict[str, Any]]:
    """Bundle export, import into an empty laptop and into an older copy, of the study in ``data``."""
    big = n >= 100_000
    bundle = tmp / f"{n}.citizen-bundle"
    export = whole_process(["--data", str(data), "bundle", "export", studies.STUDY_ID, str(bundle)])
    read = min((plain_read(bundle) for _ in range(2)), key=lambda t: t[0])
    rows = bundle_rows(f"`citizen bundle export`, {n:,}", export, read, big)
    empty = whole_process(["--data", str(tmp / f"empty-{n}"), "bundle", "import", str(bundle), "--yes"])
    rows += bundle_rows(f"`citizen bundle import` into an empty laptop, {n:,}", empty, read, big)
    older = older_bundle(bundle, tmp / f"older-{n}.citizen-bundle")
    whole_process(["--data", str(tmp / f"older-{n}"), "bundle", "import", str(older), "--yes"])
    merge = whole_process(["--data", str(tmp / f"older-{n}"), "bundle", "import", str(bundle), "--yes"])
    rows += bundle_rows(f"`citizen bundle import` into an older copy (half the contributions), {n:,}", merge, read, big)
    for leftover in (tmp / f"empty-{n}", tmp / f"older-{n}"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in (bundle, older):
        leftover.unlink(missing_ok=True)
    return rows


def bundle_rows(measure: str, ours: tuple[float, float], read: tuple[float, float], big: bool) -> list[dict[str, Any]]:
    """Wall seconds and peak MiB of a bundle command, each against the plain read of the same bundle."""
    (wall, peak), (read_wall, read_peak) = ours, read
    return [
        row(
            measure,
            wall,
            read_wall,
            "gzip JSON-lines read of the bundle, whole process",
            "s",
            "<= 3x",
            wall <= 3 * read_wall if big else None,
        ),
        row(f"{measure}: peak memory", peak, read_peak, "the same read", "MiB", "< 200 MiB", peak < 200 if big else None),
    ]


def measurements(quick: bool) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="scale-", dir=studies.work_folder()))
    out: list[dict[str, Any]] = []
    try:
        for n in studies.sizes(quick):
            print(f"bench_scale: {n:,} contributions ...", file=sys.stderr, flush=True)
            out += measure(n, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    from .__main__ import table

    parser = argparse.ArgumentParser(prog="python -m bench.bench_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 only")
    parser.add_argument("--size", type=int, action="append", help="a study size to measure (repeat for several)")
    args = parser.parse_args(argv)
    if args.size:
        os.environ["CITIZEN_BENCH_SIZES"] = ",".join(map(str, args.size))
    try:
        print(table(measurements(args.quick)))
    finally:
        studies.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
