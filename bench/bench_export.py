"""Export time of the demo study at 100,000 contributions (10,000 with ``--quick``; any with ``--size N``).

Measured: the whole export (read the study, fold every participant's consent, build the rows,
the data-sharing check, write the five CSV files (activity.csv among them) and datapackage.json
with fsync and rename, and the audit record), against the yardstick of issue 16: the csv module
reading and writing the same rows (every CSV file that export wrote, read back with ``csv.reader``
and written again with ``csv.writer``; no check, no fsync), in the same run. A second row keeps the
narrower yardstick used before: only the contribution rows, already in memory (read back from the
contributions.csv that export wrote), written by ``csv.writer``. Medians of three runs of each,
wall and CPU (process time: steadier than the wall clock on a busy machine).

Each run opens the data folder afresh, as ``citizen export`` does. Run alone:
``python bench/bench_export.py [--quick | --size N | --data FOLDER]`` (FOLDER: a data folder holding
the demo study, e.g. made by ``citizen --data FOLDER demo --contributions N --participants N/50 --seed 1``);
or ``python -m bench --only bench_export``.
"""

from __future__ import annotations

import csv
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import studies  # noqa: E402
from citizen.export.plan import make_options, prepare_export  # noqa: E402
from citizen.export.run import export_data  # noqa: E402
from citizen.services import open_study  # noqa: E402
from citizen.store import DataFolder  # noqa: E402

BASELINE = "the csv module reading and writing the same rows (every CSV file of the export)"
WRITE_ONLY = "the contribution rows, already in memory, written with the csv module alone"


def csv_alone(rows: list[list], header: list[str], path: Path) -> float:
    start = time.perf_counter()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return time.perf_counter() - start


def csv_read_and_write(export: Path, out: Path) -> float:
    """Every CSV file of an export read with the csv module and written again with it."""
    out.mkdir()
    start = time.perf_counter()
    for path in sorted(export.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as source, (out / path.name).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(csv.reader(source))
    return time.perf_counter() - start


def measure(contributions: int, runs: int, folder: Optional[Path] = None) -> list[dict]:
    """Each run opens the data folder afresh, as ``citizen export`` does (nothing of the study loaded yet)."""
    data_folder = folder or studies.demo_study(contributions).data
    tmp = Path(tempfile.mkdtemp(prefix="citizen-bench-export-"))
    ours: list[float] = []
    base: list[float] = []
    alone: list[float] = []
    ours_cpu: list[float] = []
    base_cpu: list[float] = []
    try:
        for n in range(runs):
            with DataFolder(data_folder) as data:
                study = open_study(data, studies.STUDY_ID)
                start, cpu = time.perf_counter(), time.process_time()
                plan = prepare_export(study, make_options())
                result = export_data(study, plan, "bench", tmp / f"export-{n}")
                ours.append(time.perf_counter() - start)
                ours_cpu.append(time.process_time() - cpu)
            rows = len(plan.contributions)
            cpu = time.process_time()
            base.append(csv_read_and_write(result.folder, tmp / f"copy-{n}"))
            base_cpu.append(time.process_time() - cpu)
            with (result.folder / "contributions.csv").open(newline="", encoding="utf-8") as fh:
                header, *in_memory = list(csv.reader(fh))  # the rows as the export wrote them, held in memory
            alone.append(csv_alone(in_memory, header, tmp / f"alone-{n}.csv"))
            del in_memory
            del plan
            shutil.rmtree(result.folder, ignore_errors=True)
            shutil.rmtree(tmp / f"copy-{n}", ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mine, theirs, written = statistics.median(ours), statistics.median(base), statistics.median(alone)
    measure = f"export, {rows:,} contributions exported (median of {runs})"
    return [
        {
            "measure": measure,
            "ours": mine,
            "baseline": theirs,
            "base": BASELINE,
            "unit": "s",
            "target": "<= 2x",
            "ok": mine <= 2 * theirs,
        },
        {
            "measure": measure + ", CPU",
            "ours": statistics.median(ours_cpu),
            "baseline": statistics.median(base_cpu),
            "base": BASELINE + ", CPU",
            "unit": "s",
            "target": "<= 2x",
            "ok": statistics.median(ours_cpu) <= 2 * statistics.median(base_cpu),
        },
        {"measure": measure, "ours": mine, "baseline": written, "base": WRITE_ONLY, "unit": "s", "target": "-", "ok": None},
    ]


def measurements(quick: bool) -> list[dict]:
    return measure(10_000, 3) if quick else measure(100_000, 3)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    try:
        if "--data" in sys.argv:  # a data folder already holding the demo study (made by `citizen demo`)
            chosen = measure(0, 3, Path(sys.argv[sys.argv.index("--data") + 1]))
        elif "--size" in sys.argv:
            chosen = measure(int(sys.argv[sys.argv.index("--size") + 1]), 3)
        else:
            chosen = measurements(quick)
        for m in chosen:
            print(
                f"{m['measure']}: {m['ours']:.2f} s; {m['base']}: {m['baseline']:.2f} s; ratio {m['ours'] / m['baseline']:.1f}x",
                flush=True,
            )
    finally:
        studies.cleanup()
