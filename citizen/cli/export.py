"""`citizen export STUDY [--out DIR] [--yes] [options]` and `citizen report STUDY [--out FILE] [--language LANG]`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .common import CliError, Exit, acting, open_data

if TYPE_CHECKING:
    from ..export.plan import ExportOptions


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date as year-month-day, like 2026-05-31") from None


def _versions(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of version numbers, like 1,2") from None


def options_from(args: argparse.Namespace) -> ExportOptions:
    # lazy: a command loads only what it uses (start-up time)
    from ..export.plan import make_options

    values = {
        "format": args.format,
        "audience": args.audience,
        "identifying": args.include_identifying,
        "contacts": args.include_contacts,
        "drop_free_text": args.drop_free_text,
        "hash_codes": args.hash_codes,
        "shift_dates": args.shift_dates,
        "date_from": args.date_from,
        "date_to": args.date_to,
        "versions": args.versions or [],
        "labels": args.labels,
        "language": args.language,
        "bom": args.bom,
        "fhir": args.fhir,
    }
    if args.review:
        values["review_states"] = [s.strip() for s in args.review.split(",") if s.strip()]
    return make_options(**values)


def cmd_export(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..domain.plural import count
    from ..export.plan import prepare_export
    from ..export.run import export_data
    from ..services import open_study

    options = options_from(args)
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CliError(f"{out} already exists; choose another folder for --out so that nothing is overwritten.")
    if not args.yes:
        with open_data(args, readonly=True) as data:
            plan = prepare_export(open_study(data, args.study), options)
        for line in plan.check.lines():
            print(line)
        raise CliError(
            "Nothing was written. Read the check above, then run the same command again with --yes to confirm and export.",
            Exit.NOT_CONFIRMED,
        )
    approver = acting(args, default=None)  # --approved-by, else --as; never a made-up name
    if not approver:
        raise CliError(
            'Say who approves this export: citizen --as "Your Name" export ... --yes '
            "(it is recorded in datapackage.json and the activity log)."
        )
    with open_data(args) as data:
        study = open_study(data, args.study)
        plan = prepare_export(study, options)
        for line in plan.check.lines():
            print(line)
        result = export_data(study, plan, approver, out)
    rows = result.manifest["rows"]
    counts = ", ".join(f"{name}: {count(n, 'row')}" for name, n in rows.items())
    print(f"Exported to {result.folder} ({counts}); approved by {approver}.", flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..export.report import write_report
    from ..services import open_study

    with open_data(args, readonly=True) as data:
        path = write_report(open_study(data, args.study), Path(args.out) if args.out else None, args.language)
    print(f"Study report written to {path}.", flush=True)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write analysis-ready CSV that honours consent (shows a data-sharing check first)",
        description="Write contributions.csv, participants.csv, consent_log.csv, data_dictionary.csv, "
        "activity.csv and datapackage.json (a Frictionless Data Package) into "
        "DATA/exports/<study>/<study>-<UTC time>/, beside the data (or --out DIR). Without --yes only the "
        "data-sharing check is printed and nothing is written.",
    )
    p.add_argument("study")
    p.add_argument(
        "--out", metavar="DIR", default=None, help="the folder to create (default: DATA/exports/<study>/<study>-<time>/)"
    )
    p.add_argument("--yes", action="store_true", help="confirm the data-sharing check and write the export")
    p.add_argument(
        "--approved-by",
        dest="actor",
        metavar="NAME",
        default=None,
        help="who approves this export (default: the global --as NAME)",
    )
    p.add_argument(
        "--format",
        choices=["csv", "redcap"],
        default="csv",
        help="csv (default) or redcap: a REDCap data dictionary and records file",
    )
    p.add_argument(
        "--audience",
        choices=["team", "partners"],
        default="team",
        help="partners: only what participants agreed to share with partner organisations",
    )
    p.add_argument("--include-identifying", action="store_true", help="include fields marked as identifying")
    p.add_argument("--include-contacts", action="store_true", help="include contact details of those who agreed to be contacted")
    p.add_argument("--drop-free-text", action="store_true", help="leave out every free-text field")
    p.add_argument("--hash-codes", action="store_true", help="hash participant codes with a salt made for this export")
    p.add_argument("--shift-dates", action="store_true", help="move each participant's dates by a secret offset")
    p.add_argument(
        "--review",
        metavar="STATES",
        default=None,
        help="review states to include, comma separated (received,accepted,needs attention,rejected)",
    )
    p.add_argument("--from", dest="date_from", type=_day, metavar="YYYY-MM-DD", default=None, help="submitted on or after")
    p.add_argument("--to", dest="date_to", type=_day, metavar="YYYY-MM-DD", default=None, help="submitted on or before")
    p.add_argument("--versions", type=_versions, metavar="N,N", default=None, help="protocol versions to include")
    p.add_argument("--labels", action="store_true", help="choice labels instead of codes")
    p.add_argument("--language", default=None, help="language of the labels (default: the study's main language)")
    p.add_argument("--bom", action="store_true", help="UTF-8 with a byte-order mark (for spreadsheets)")
    p.add_argument(
        "--fhir",
        action="store_true",
        help="also write the consent log as a FHIR R5 Bundle of Consent resources (consent.fhir.json)",
    )
    p.set_defaults(run=cmd_export)

    p = subparsers.add_parser("report", help="write the study report (Markdown, no personal data)")
    p.add_argument("study")
    p.add_argument("--out", metavar="FILE", default=None, help="default: DATA/exports/<study>/<study>-report-<time>.md")
    p.add_argument("--language", metavar="LANG", default=None, help="one of the study's languages (default: its main language)")
    p.set_defaults(run=cmd_report)
