"""Export time of the demo study at 100,000 contributions (10,000 with ``--quick``).

Measured: the whole export (read the study, fold every participant's consent, build the rows,
the data-sharing check, write the five CSV files (activity.csv among them) and datapackage.json
with fsync and rename, and the audit record), against writing the same contribution rows with the
csv module alone (one ``csv.writer`` over the rows already in memory, no check, no fsync), in the
same run. Medians of several runs of each.

Run alone: ``python bench/bench_export.py [--quick]``; or ``python -m bench --only bench_export``.
"""

from __future__ import annotations

import csv
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import studies  # noqa: E402
from citizen.export.plan import make_options, prepare_export  # noqa: E402
from citizen.export.run import export_data  # noqa: E402
from citizen.services import open_study  # noqa: E402
from citizen.store import DataFolder  # noqa: E402

BASELINE = "the same rows written with the csv module alone"


def csv_alone(rows: list[list], header: list[str], path: Path) -> float:
    start = time.perf_counter()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return time.perf_counter() - start


def measure(contributions: int, runs: int) -> list[dict]:
    generated = studies.demo_study(contributions)
    tmp = Path(tempfile.mkdtemp(prefix="citizen-bench-export-"))
    ours: list[float] = []
    base: list[float] = []
    try:
        with DataFolder(generated.data) as data:
            study = open_study(data, studies.STUDY_ID)
            for n in range(runs):
                start = time.perf_counter()
                plan = prepare_export(study, make_options())
                result = export_data(study, plan, "bench", tmp / f"export-{n}")
                ours.append(time.perf_counter() - start)
                rows = len(plan.contributions)
                base.append(csv_alone(plan.contributions, [c.name for c in plan.columns], tmp / f"alone-{n}.csv"))
                shutil.rmtree(result.folder, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mine, theirs = statistics.median(ours), statistics.median(base)
    return [
        {
            "measure": f"export, {rows:,} contributions exported (median of {runs})",
            "ours": mine,
            "baseline": theirs,
            "base": BASELINE,
            "unit": "s",
            "target": "<= 2x",
            "ok": mine <= 2 * theirs,
        }
    ]


def measurements(quick: bool) -> list[dict]:
    return measure(10_000, 3) if quick else measure(100_000, 3)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    try:
        for m in measurements(quick):
            print(
                f"{m['measure']}: {m['ours']:.2f} s; {m['base']}: {m['baseline']:.2f} s; ratio {m['ours'] / m['baseline']:.1f}x",
                flush=True,
            )
    finally:
        studies.cleanup()
