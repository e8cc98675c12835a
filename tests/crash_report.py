"""Print the crash-safety figures: ``python -m tests.crash_report [--trials N] [--writes N] [--seed S]``.

Runs the same trials as tests/test_crash.py (a writer killed with SIGKILL at a random point of up
to N writes, then every acknowledged record checked) and prints the totals, with ``--json`` too.
Exit 0 only when no acknowledged record was lost and no trial found a problem.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .support.harness import run_trials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.crash_report", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--writes", type=int, default=1000, help="writes per trial before the random kill point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="FILE", help="also write the totals as JSON")
    parser.add_argument("--keep", metavar="DIR", help="keep every trial's data folder in DIR")
    args = parser.parse_args(argv)
    if args.keep:
        workdir = Path(args.keep)
        workdir.mkdir(parents=True, exist_ok=True)
        totals = run_trials(workdir, args.trials, args.writes, args.seed, keep=True)
    else:
        with tempfile.TemporaryDirectory(prefix="citizen-crash-") as tmp:
            totals = run_trials(Path(tmp), args.trials, args.writes, args.seed)
    print(totals.line())
    for failed in totals.failed_trials:
        print(f"  trial seed {failed['seed']} (killed after {failed['kill_after']} writes):", file=sys.stderr)
        for problem in failed["problems"]:
            print(f"    - {problem}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(totals.as_dict(), indent=2))
    return 0 if not totals.failed_trials and totals.records_lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
