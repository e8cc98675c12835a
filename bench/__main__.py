"""``python -m bench [--quick]``: generate studies, measure, and print medians against baselines.

Rows come from ``bench/core.py`` (the store and the services) and from every ``bench/bench_*.py``
that defines ``measurements(quick: bool) -> list[dict]``, each dict holding ``measure``, ``ours``,
``baseline``, ``base`` (what the baseline is), ``unit``, ``target`` and ``ok``. A module that
fails is skipped with a note; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import math
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

KEYS = ("measure", "ours", "baseline", "base", "unit", "target", "ok")


def number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (int, float)):
        a = abs(value)
        if a >= 100:
            return f"{value:,.0f}"
        if a >= 10:
            return f"{value:.1f}"
        if a >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)


def ratio(row: dict[str, Any]) -> str:
    ours, base = row.get("ours"), row.get("baseline")
    if not isinstance(ours, (int, float)) or not isinstance(base, (int, float)) or not base:
        return "-"
    r = ours / base
    if r and r < 0.1:
        return f"{r:.2g}x (1/{base / ours:,.0f})"
    return f"{r:.2f}x"


def verdict(ok: Any) -> str:
    return {True: "yes", False: "NO"}.get(ok, "-") if isinstance(ok, bool) or ok is None else str(ok)


def table(rows: list[dict[str, Any]]) -> str:
    head = ["Measure", "Ours", "Baseline", "Ratio", "Target", "Met"]
    lines = [head]
    for r in rows:
        unit = r.get("unit") or ""
        base = r.get("baseline")
        lines.append(
            [
                str(r.get("measure", "?")),
                f"{number(r.get('ours'))} {unit}".strip(),
                "-" if base is None else f"{number(base)} {unit} ({r.get('base') or 'baseline'})",
                ratio(r),
                str(r.get("target") or "-"),
                verdict(r.get("ok")),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def extra_modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return [f"bench.{p.stem}" for p in sorted(here.glob("bench_*.py"))]


def checked(rows: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "measure" in r for r in rows):
        raise TypeError(f"{name}.measurements() should return a list of dicts with {', '.join(KEYS)}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller studies and fewer rounds, for a fast look")
    parser.add_argument("--only", default=None, help="run only the module with this name (core, bench_web ...)")
    parser.add_argument("--keep", action="store_true", help="keep the generated studies (their folder is printed)")
    parser.add_argument(
        "--size",
        type=int,
        action="append",
        default=None,
        metavar="N",
        help="the study sizes bench_scale measures (repeat; --size 1000000 for the million)",
    )
    args = parser.parse_args(argv)
    if args.size:
        import os

        os.environ["CITIZEN_BENCH_SIZES"] = ",".join(map(str, args.size))

    from . import core, studies

    def note(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        if args.only in (None, "core"):
            try:
                rows += checked(core.measurements(args.quick, note), "core")
            except Exception as exc:  # a failure is reported and the other modules still run
                traceback.print_exc()
                notes.append(f"core measurements failed: {type(exc).__name__}: {exc}")
        for name in extra_modules():
            if args.only not in (None, name.split(".")[-1]):
                continue
            note(f"running {name} ...")
            try:
                module = importlib.import_module(name)
                rows += checked(module.measurements(args.quick), name)
            except Exception as exc:
                traceback.print_exc()
                notes.append(f"{name} skipped: {type(exc).__name__}: {exc}")
    finally:
        if args.keep:
            note(f"generated studies kept in {studies.work_folder()}")
        else:
            studies.cleanup()
    print(
        f"citizen benchmarks ({'quick' if args.quick else 'full'}), medians; "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
        f"{_cores()} cores; {time.perf_counter() - started:.0f} s in all"
    )
    print()
    print(table(rows))
    for n in notes:
        print(f"\nNote: {n}")
    missed = [r["measure"] for r in rows if r.get("ok") is False]
    if missed:
        print("\nTargets missed: " + "; ".join(missed))
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main())
