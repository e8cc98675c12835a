"""Merge time of study bundles of 10,000 and 100,000 contributions.

A second laptop (its own data folder and laptop id) generates the demo study with
``services.demo.create_demo`` and exports a bundle. Measured, each against reading and parsing
the same bundle file alone (gzip + one json.loads per line, nothing else), in the same run:

- import into a laptop that does not have the study yet (read, check, build, write);
- import into a laptop holding an older copy with half the contributions (a real merge: half the
  contributions are new and land as ONE journal line);
- the same bundle again (everything compared, nothing written).

Run alone: ``python bench/bench_bundle.py [--quick]``; or through the bench runner.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from citizen.export.bundle import export_bundle, read_bundle  # noqa: E402
from citizen.services import open_study  # noqa: E402
from citizen.services.demo import create_demo  # noqa: E402
from citizen.services.merge import Bundle, check_bundle, merge_bundle  # noqa: E402
from citizen.store import DataFolder  # noqa: E402

STUDY = "air-quality-walk"
BASELINE = "read and parse the same bundle file alone (gzip + json per line)"


def _folder(path: Path, laptop: str) -> DataFolder:
    path.mkdir(parents=True, exist_ok=True)
    (path / "laptop.json").write_text(json.dumps({"laptop": laptop}))
    return DataFolder(path)


class Timer:
    """Wall-clock and CPU seconds of a block (CPU time is steadier on a busy, shared machine)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def parse_only(path: Path) -> Timer:
    with Timer() as t:
        raw = gzip.decompress(path.read_bytes())
        lines = raw.split(b"\n")
        json.loads(lines[0])
        for line in lines[1:]:
            if line:
                json.loads(line)
    return t


def _pair(measure: str, ours: Timer, base: Timer, factor: float, extra_ok: bool = True) -> list[dict]:
    """The same measure in wall-clock seconds and in CPU seconds, each against the baseline."""
    return [
        {
            "measure": f"{measure} [{kind}]",
            "ours": getattr(ours, attr),
            "baseline": BASELINE,
            "base": getattr(base, attr),
            "unit": unit,
            "target": f"<= {factor:g}x baseline",
            "ok": extra_ok and getattr(ours, attr) <= factor * getattr(base, attr),
        }
        for kind, attr, unit in (("wall", "wall", "s"), ("cpu", "cpu", "s cpu"))
    ]


def _older_copy(bundle: Bundle) -> Bundle:
    """The same study as another laptop held it earlier: half the contributions, none of their reviews."""
    records = dict(bundle.records)
    half = len(records["contributions"]) // 2
    records["contributions"] = [
        dict(c, reviews=[], feedback=[], review_state="received") for c in records["contributions"][:half]
    ]
    records["audit"] = records["audit"][: len(records["audit"]) // 2]
    return check_bundle(Bundle(bundle.study_id, bundle.laptop, bundle.created_at, records))


def measure_size(contributions: int, tmp: Path) -> list[dict]:
    participants = max(50, contributions // 5)
    with _folder(tmp / "source", "DE") as source:
        create_demo(source, participants=participants, contributions=contributions, seed=11, study_id=STUDY)
        path = tmp / f"{contributions}.citizen-bundle"
        with Timer() as export_t:
            info = export_bundle(open_study(source, STUDY), path)
    n = info.counts["contributions"]
    base = min((parse_only(path) for _ in range(2)), key=lambda t: t.cpu)
    label = f"{n:,} contributions ({path.stat().st_size / 1e6:.1f} MB bundle)"
    out = _pair(f"bundle export, {label}", export_t, base, 10)

    with _folder(tmp / "new", "AC") as fresh:
        with Timer() as create_t:
            merge_bundle(fresh, read_bundle(path), "bench")
    out += _pair(f"bundle import into a laptop without the study, {label}", create_t, base, 15)

    bundle = read_bundle(path)
    with _folder(tmp / "older", "FG") as older:
        merge_bundle(older, _older_copy(bundle), "bench")
        study = open_study(older, STUDY)
        commits: list[int] = []
        study.on_change(lambda ops: commits.append(len(ops)))
        with Timer() as merge_t:
            report = merge_bundle(older, read_bundle(path), "bench")
        one_change = len(commits) == 1
        new = report.new.get("contributions", 0)
        out += _pair(
            f"bundle merge into an older copy ({new:,} new, {report.updated.get('contributions', 0):,} "
            f"updated contributions, one change: {one_change}), {label}",
            merge_t,
            base,
            15,
            one_change,
        )
        with Timer() as again_t:
            again = merge_bundle(older, read_bundle(path), "bench")
        out += _pair(
            f"the same bundle again (nothing new: {again.nothing_to_merge}), {label}", again_t, base, 10, again.nothing_to_merge
        )
    return out


def measurements(quick: bool) -> list[dict]:
    sizes = (2_000,) if quick else (10_000, 100_000)
    results: list[dict] = []
    for size in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="citizen-bench-bundle-"))
        try:
            results += measure_size(size, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


if __name__ == "__main__":
    for m in measurements("--quick" in sys.argv):
        ratio = m["ours"] / m["base"] if m["base"] else float("nan")
        print(
            f"{'ok ' if m['ok'] else 'BAD'} {m['measure']}: {m['ours']:.2f} {m['unit']} "
            f"(baseline {m['base']:.2f}, {ratio:.1f}x; target {m['target']})",
            flush=True,
        )
