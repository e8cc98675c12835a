"""The store's and the services' own measurements: durable writes, the app's start and memory, cold start."""

from __future__ import annotations

import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .studies import STUDY_ID, Generated, citizen_command, copy_study, demo_study, study_bytes, work_folder

PROBE = Path(__file__).with_name("app_probe.py")


def row(measure: str, ours: float, baseline: float | None, base: str, unit: str, target: str, ok: bool | None) -> dict[str, Any]:
    return {"measure": measure, "ours": ours, "baseline": baseline, "base": base, "unit": unit, "target": target, "ok": ok}


# -- 1. durable add-contribution against stock TinyDB ----------------------------------------------
def time_adds(gen: Generated, count: int) -> tuple[list[float], dict[str, Any]]:
    """Seconds per acknowledged add_contribution (journal fsynced) on a copy of the study."""
    from citizen.domain.models import ContributionSource
    from citizen.services import add_contribution, open_study
    from citizen.store import DataFolder

    copy = copy_study(gen.data, Path(tempfile.mkdtemp(prefix="adds-", dir=work_folder())) / "data")
    samples: list[float] = []
    shape: dict[str, Any] = {}
    try:
        with DataFolder(copy) as data:
            study = open_study(data, STUDY_ID)
            current = study.repo.current_protocol()
            assert current is not None
            people = [p.id for p in study.repo.participants() if study.repo.consent_state(p.id).covers(current.consent)]
            # What a phone sends: strings, as typed (every required field and a few more).
            values = {
                "walk_date": "2026-05-01",
                "route": "high_street",
                "walk_minutes": "30",
                "traffic": "3",
                "smelled_fumes": "yes",
                "symptoms": "cough",
                "breathing": "4",
                "pm25": "12.5",
                "worst_spot": "Bus station",
                "start_time": "08:15",
                "inhaler_used": "no",
                "notes": "Busy morning by the bus station.",
            }
            values = {k: v for k, v in values.items() if current.field(k) is not None}
            cycle = itertools.cycle(people)
            store = study.store
            for i in range(count + 20):
                start = time.perf_counter()
                add_contribution(study, next(cycle), values, ContributionSource.phone, "bench")
                took = time.perf_counter() - start
                if i >= 20:  # the first adds build the in-memory indexes once
                    samples.append(took)
            table = store.table("contributions")
            shape = {
                "segments_loaded": len(table.loaded_segments()),
                "segments": len(table.segment_numbers()),
                "compactions": store.compactions,
            }
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    return samples, shape


def stock_tinydb_inserts(gen: Generated, count: int) -> list[float]:
    """Seconds per insert into stock TinyDB (JSONStorage) holding as many same-shaped documents."""
    from tinydb import TinyDB

    from citizen.services import open_study
    from citizen.store import DataFolder

    with DataFolder(gen.data, readonly=True) as data:
        docs = [dict(d) for d in itertools.islice(open_study(data, STUDY_ID).repo.contribution_docs(), 1000)]
    assert docs, "the study holds contributions"
    folder = Path(tempfile.mkdtemp(prefix="tinydb-", dir=work_folder()))
    try:
        n = gen.contributions
        db = TinyDB(folder / "stock.json")
        db.insert_multiple(dict(docs[i % len(docs)], id=f"stock-{i}") for i in range(n))
        samples = []
        for i in range(count):
            doc = dict(docs[i % len(docs)], id=f"new-{i}")
            start = time.perf_counter()
            db.insert(doc)
            samples.append(time.perf_counter() - start)
        db.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return samples


# -- 2 and 3. the app on the study: first screen, overview, peak memory -----------------------------
def probe(args: list[str]) -> dict[str, float]:
    """Run the app probe in a fresh process; wall seconds (from outside) to each stage, and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(PROBE), *args], stdout=subprocess.PIPE, text=True)
    out: dict[str, float] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        word, _, value = line.strip().partition(" ")
        if word in ("READY", "OVERVIEW"):
            out[word.lower()] = time.perf_counter() - start
        elif word == "RSS":
            out["rss_kib"] = float(value)
    if proc.wait() != 0 or "ready" not in out:
        raise RuntimeError(f"the app probe failed: {' '.join(args)}")
    return out


def interleaved(runs: int, *jobs: Callable[[], dict[str, float]]) -> list[list[dict[str, float]]]:
    """Run the jobs in turn, several rounds, so that load on the machine touches each alike."""
    results: list[list[dict[str, float]]] = [[] for _ in jobs]
    for _ in range(runs):
        for i, job in enumerate(jobs):
            results[i].append(job())
    return results


def median_of(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def cold_start(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measurements(quick: bool, note: Callable[[str], None] = print) -> list[dict[str, Any]]:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    big = sizes[-1]
    full = big == 100_000  # the targets are set for 100,000 contributions; a quick run only shows the trend

    def judged(ok: bool) -> bool | None:
        return ok if full else None

    rows: list[dict[str, Any]] = []

    # Demo generation through the real command (every change through the services).
    made = {}
    for n in sizes:
        note(f"generating the demo study with {n:,} contributions ...")
        made[n] = demo_study(n)
        note(f"  {made[n].wall:.1f} s wall, {made[n].cpu:.1f} s CPU")
    g = made[big]
    rows.append(row(f"`citizen demo` with {big:,} contributions (wall)", g.wall, None, "", "s", "< 30 s", judged(g.wall < 30)))
    rows.append(row(f"`citizen demo` with {big:,} contributions (CPU)", g.cpu, None, "", "s", "", None))

    # 1. Durable add-contribution.
    adds = 60 if quick else 200
    stock_runs = 2 if quick else 5
    ours: dict[int, float] = {}
    for n in sizes:
        note(f"durable adds at {n:,} ...")
        samples, shape = time_adds(made[n], adds)
        ours[n] = statistics.median(samples) * 1000
        stock = statistics.median(stock_tinydb_inserts(made[n], stock_runs if n < 100_000 else 3)) * 1000
        rows.append(
            row(
                f"durable add-contribution at {n:,}",
                ours[n],
                stock,
                "stock TinyDB insert",
                "ms",
                ">= 100x faster" if n == big else "",
                judged(stock / ours[n] >= 100) if n == big else None,
            )
        )
        note(
            f"  ours {ours[n]:.2f} ms (segments read {shape['segments_loaded']} of {shape['segments']}), "
            f"stock TinyDB {stock:.1f} ms"
        )
    rows.append(
        row(
            f"durable add at {big:,} vs at 1,000",
            ours[big],
            ours[1_000],
            "ours at 1,000",
            "ms",
            "<= 2x",
            judged(ours[big] <= 2 * ours[1_000]),
        )
    )

    # 2. First screen and 3. peak memory, against a minimal Textual app, in fresh processes.
    runs = 3 if quick else 5
    note(f"opening the app on the {big:,} study, {runs} rounds ...")
    data = str(g.data)
    mine, minimal = interleaved(runs, lambda: probe(["citizen", data, "--overview"]), lambda: probe(["minimal"]))
    base_start = median_of(minimal, "ready")
    first = median_of(mine, "ready")
    overview = median_of(mine, "overview")
    rows.append(
        row(
            f"app to first screen ({big:,} study)",
            first * 1000,
            base_start * 1000,
            "minimal Textual app",
            "ms",
            "<= 1.5x",
            judged(first <= 1.5 * base_start),
        )
    )
    rows.append(
        row(f"app to overview with figures ({big:,})", overview * 1000, base_start * 1000, "minimal Textual app", "ms", "", None)
    )
    rss = median_of(mine, "rss_kib") / 1024
    base_rss = median_of(minimal, "rss_kib") / 1024
    on_disk = study_bytes(g.data) / 2**20
    with_bak = study_bytes(g.data, last_good_copies=True) / 2**20
    rows.append(
        row(
            f"peak memory, app with the {big:,} study open",
            rss,
            on_disk,
            "study data files on disk (no .bak)",
            "MiB",
            "<= 2x",
            judged(rss <= 2 * on_disk),
        )
    )
    rows.append(row("peak memory, same", rss, base_rss, "minimal Textual app", "MiB", "", None))
    note(f"  study on disk: {on_disk:.1f} MiB of data files, {with_bak:.1f} MiB with the .bak last good copies")

    # 6. Cold start of the command line.
    runs = 5 if quick else 10
    cmd = [*citizen_command(), "--help"]
    pairs = interleaved(runs, lambda: {"t": cold_start(cmd)}, lambda: {"t": cold_start([sys.executable, "-c", "pass"])})
    ours_help, python = median_of(pairs[0], "t"), median_of(pairs[1], "t")
    rows.append(row("cold start `citizen --help`", ours_help * 1000, python * 1000, "`python -c pass`", "ms", "", None))
    return rows
