"""``python -m bench [--size N ...] [--only GROUPS] [--from N=DATA ...]``: issue 16's table, every
path at each study size, each against its baseline measured in the same run, with peak memory.

Sizes: ``--size N`` (repeatable; 1,000, 10,000 and 100,000 by default; ``--size 1000000`` for the
million). Each size's demo study is made once (``citizen demo``) and used by every row of that
size, or copied from a folder made before (``--from 100000=/tmp/d100k``). The groups of rows are
in ``bench/growth.py``; ``--only adds,first-page`` runs some of them. ``--only core`` or
``--only bench_sync`` (any ``bench/bench_*.py``) runs that module's own measurements instead:
each defines ``measurements(quick: bool) -> list[dict]``, each dict holding ``measure``, ``ours``,
``baseline``, ``base`` (what the baseline is), ``unit``, ``target`` and ``ok``. A group or module
that fails is skipped with a note; the others still run.
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
    sized = any("size" in r for r in rows)
    head = [
        "Measure",
        *(["Size"] if sized else []),
        "Ours",
        "Baseline",
        "Ratio",
        "Target",
        "Met",
        *(["Peak MiB"] if sized else []),
    ]
    lines = [head]
    for r in rows:
        unit = r.get("unit") or ""
        base = r.get("baseline")
        lines.append(
            [
                str(r.get("measure", "?")),
                *([number(r.get("size"))] if sized else []),
                f"{number(r.get('ours'))} {unit}".strip(),
                "-" if base is None else f"{number(base)} {unit} ({r.get('base') or 'baseline'})",
                ratio(r),
                str(r.get("target") or "-"),
                verdict(r.get("ok")),
                *([number(r.get("peak"))] if sized else []),
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


def arguments(argv: list[str] | None) -> tuple[argparse.Namespace, list[str], list[str]]:
    """The options, the groups of bench/growth.py and the modules asked for; sizes and folders given
    are handed on through the environment (``bench/studies.py`` reads them)."""
    import os

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller studies and fewer rounds, for a fast look")
    parser.add_argument(
        "--only",
        default=None,
        metavar="NAMES",
        help="comma-separated groups of bench/growth.py (demo, adds, memory, first-screen, contributions-screen, "
        "first-page, burst, export, bundles), or modules run on their own (core, bench_sync ...)",
    )
    parser.add_argument(
        "--from",
        dest="given",
        action="append",
        default=[],
        metavar="N=DATA",
        help="use a copy of DATA (made by `citizen demo --contributions N ...`) as the study of size N",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated studies (their folder is printed)")
    parser.add_argument(
        "--size",
        type=int,
        action="append",
        default=None,
        metavar="N",
        help="a study size to measure (repeat; 1,000, 10,000 and 100,000 by default; 1000000 for the million)",
    )
    args = parser.parse_args(argv)
    if args.size:
        os.environ["CITIZEN_BENCH_SIZES"] = ",".join(map(str, args.size))
    for given in args.given:
        size, sep, path = given.partition("=")
        if not sep or not size.isdigit() or not Path(path, "studies").is_dir():
            parser.error(f"--from {given}: expected N=DATA, DATA a data folder holding the demo study")
    if args.given:
        os.environ["CITIZEN_BENCH_FROM"] = ",".join(args.given)

    from . import growth

    names = args.only.split(",") if args.only else list(growth.GROUPS)
    modules = [n for n in names if n == "core" or n.startswith("bench_")]
    groups = [n for n in names if n not in modules]
    unknown = [n for n in groups if n not in growth.GROUPS]
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)} (groups: {', '.join(growth.GROUPS)})")
    return args, groups, modules


def main(argv: list[str] | None = None) -> int:
    import os

    args, groups, modules = arguments(argv)
    from . import core, growth, studies

    def note(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        if groups:
            found, failed = growth.measurements(args.quick, groups)
            rows += found
            notes += failed
        if "core" in modules:
            try:
                rows += checked(core.measurements(args.quick, note), "core")
            except Exception as exc:  # a failure is reported and the other modules still run
                traceback.print_exc()
                notes.append(f"core measurements failed: {type(exc).__name__}: {exc}")
        for name in extra_modules():
            if name.split(".")[-1] not in modules:
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
        f"{_cores()} cores; load average {os.getloadavg()[0]:.1f} at the end; "
        f"{time.perf_counter() - started:.0f} s in all; commit {_commit()}"
    )
    print()
    print(table(rows))
    for n in notes:
        print(f"\nNote: {n}")
    missed = [r["measure"] for r in rows if r.get("ok") is False]
    if missed:
        print("\nTargets missed: " + "; ".join(missed))
    return 0


def _commit() -> str:
    import subprocess

    done = subprocess.run(
        ["git", "-C", str(Path(__file__).resolve().parent), "log", "-1", "--format=%h"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main())
