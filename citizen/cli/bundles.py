"""`citizen bundle export STUDY FILE` and `citizen bundle import FILE [--yes]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .common import CliError, Exit, acting, open_data

PROGRESS_FROM = 20_000  # records: a smaller bundle is merged before a line would help


def cmd_bundle_export(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..domain.plural import count
    from ..export.bundle import export_bundle
    from ..services import open_study

    with open_data(args, readonly=True) as data:
        info = export_bundle(open_study(data, args.study), Path(args.file))
    print(
        f"Study '{info.study_id}' from laptop {info.laptop} written to {info.path} "
        f"({count(info.counts.get('participants', 0), 'participant')}, "
        f"{count(info.counts.get('contributions', 0), 'contribution')}, "
        f"sha256 {info.sha256[:16]}...).",
        flush=True,
    )
    return 0


def progress_lines() -> Callable[[int, int, str], None]:
    """A line on standard error at every tenth of each step of a long import (checking, writing, merging)."""
    # lazy: a command loads only what it uses (start-up time)
    from ..domain.plural import count

    shown: dict[str, int] = {}

    def say(done: int, total: int, what: str) -> None:
        tenth = done * 10 // total if total else 0
        if total < PROGRESS_FROM or shown.get(what, 0) >= tenth:
            return
        shown[what] = tenth
        print(
            f"{what.capitalize()} the bundle: {done:,} of {count(total, 'record')} ({tenth * 10}%).", file=sys.stderr, flush=True
        )

    return say


def cmd_bundle_import(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..domain.plural import count
    from ..export.bundle_file import open_bundle
    from ..services.merge import merge_stream, plan_stream

    progress = progress_lines()
    with open_bundle(Path(args.file)) as source, open_data(args) as data:
        if not args.yes:
            report = plan_stream(data, source, into=args.study, progress=progress)
            for line in report.lines(limit=args.show):
                print(line, flush=True)
            if report.nothing_to_merge:
                return 0
            if not sys.stdin.isatty():
                raise CliError(
                    "Not merged: there is no terminal to ask for confirmation. Add --yes to merge without asking.",
                    Exit.NOT_CONFIRMED,
                )
            answer = input("Merge this bundle into this laptop's copy? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print("Not merged; nothing was changed.")
                return Exit.NOT_CONFIRMED
        report = merge_stream(data, source, acting(args), into=args.study, progress=progress)
        if args.yes:  # the report says what was done
            for line in report.lines(limit=args.show):
                print(line, flush=True)
        if report.creates_study:
            print(f"Study '{report.study_id}' created: {report.changes} records written.", flush=True)
        elif not report.nothing_to_merge:
            print(
                f"Study '{report.study_id}' merged: {report.changes} records written "
                f"in {count(report.writes, 'durable change')}.",
                flush=True,
            )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    bundle = subparsers.add_parser(
        "bundle", help="carry a study between laptops: export a bundle, import and merge one"
    ).add_subparsers(title="bundle commands", metavar="COMMAND", required=True)
    p = bundle.add_parser("export", help="write the whole study to one bundle file")
    p.add_argument("study")
    p.add_argument("file")
    p.set_defaults(run=cmd_bundle_export)
    p = bundle.add_parser("import", help="merge a bundle into this laptop (creates the study if it is new)")
    p.add_argument("file")
    p.add_argument("--yes", action="store_true", help="merge without asking (for scripts)")
    p.add_argument("--study", default=None, metavar="ID", help="refuse a bundle of any other study")
    p.add_argument("--actor", default=None, help="who is merging (for the activity log; default: --as, else coordinator)")
    p.add_argument("--show", type=int, default=20, metavar="N", help="conflicts to list in the report (20)")
    p.set_defaults(run=cmd_bundle_import)
