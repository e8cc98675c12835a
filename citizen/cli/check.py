"""`citizen check [--restore]`: every study file verified; last good copies put back."""

from __future__ import annotations

import argparse
import sys

from .common import CliError, Exit, data_path, say


def cmd_check(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..services.queries import can_restore, check_data_folder, restore_last_good
    from ..store import DataFolder, StoreError

    path = data_path(args)
    if not path.is_dir():
        raise CliError(f"The data folder {path} does not exist.")
    report = check_data_folder(path)
    if args.restore and report.damaged:
        with DataFolder(path, repairing=True):  # hold the lock while files are put back
            for damage in report.damaged:
                if not can_restore(damage):
                    print(f"cannot restore {damage.path}: no last good copy is kept", file=sys.stderr)
                    continue
                try:
                    kept = restore_last_good(damage)
                except StoreError as exc:
                    print(f"cannot restore {damage.path}: {exc}", file=sys.stderr)
                    continue
                say(f"restored {damage.path} from its last good copy (the damaged file is kept as {kept.name})")
        report = check_data_folder(path)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.problems:
        return Exit.FAILED
    say(f"{report.files} files checked in {path}: no damage found.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="verify every study file and report damage")
    p.add_argument("--restore", action="store_true", help="put the last good copy of each damaged file back")
    p.set_defaults(run=cmd_check)
