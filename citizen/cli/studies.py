"""`citizen study list | import | export`: the studies of this data folder, and their protocol files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import acting, open_data, say


def cmd_study_list(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..services.listing import list_studies

    with open_data(args, readonly=True) as data:
        studies = list_studies(data)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "title": s.title,
                        "status": s.status.value,
                        "participants": s.participants,
                        "contributions": s.contributions,
                        "protocol_version": s.protocol_version,
                        "last_activity": s.last_activity.isoformat() if s.last_activity else None,
                        "problem": s.problem or None,
                    }
                    for s in studies
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for s in studies:
            print(s.id)
    return 0


def cmd_study_import(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..services import import_protocol
    from ..services.drafts_shared import import_draft_file
    from ..services.studies import load_protocol_file
    from ..services.xlsform import import_xlsform, is_xlsform

    actor = acting(args)
    path = Path(args.file)
    if is_xlsform(path):
        with open_data(args) as data:
            existing = set(data.study_ids())
            study, report = import_xlsform(data, path, actor, study_id=args.id or "")
            if study.id in existing:
                say(f"The draft form in {args.file} is now the open draft of '{study.id}'; nothing was published.")
            else:
                say(f"Study '{study.id}' added from the XLSForm {args.file}; its questions are in a draft.")
            say(report.summary())
            say("Open it in the terminal app (citizen), write the consent document and publish the draft.")
        return 0
    with open_data(args) as data:
        pf = load_protocol_file(path)
        if pf.draft is not None:
            say(import_draft_file(data, pf, path.name, actor, study_id=args.id).summary())
            say("Review it in the terminal app (citizen), then publish it there.")
            return 0
        study = import_protocol(data, path, actor, study_id=args.id)
        say(f"Study '{study.id}' added from {args.file}.")
        for line in study.notices:
            say(line)
    return 0


def cmd_study_export(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..services import open_study
    from ..services.study_files import write_study_file

    path = Path(args.file)
    with open_data(args, readonly=True) as data:
        report = write_study_file(open_study(data, args.study), path, draft=args.draft)
    if report is not None:
        what = "draft form" if args.draft else "form"
        say(f"The {what} of '{args.study}' written to {args.file} as an XLSForm.")
        for line in report.not_carried_over:
            say(f"- {line}")
        return 0
    if args.draft:
        say(f"The open draft of '{args.study}' written to {args.file}, marked as a draft (not a published version).")
    else:
        say(f"Protocol of '{args.study}' written to {args.file}.")
    return 0


def register(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Adds `citizen study ...`; returns its sub-commands, for `study clone` (cli/sync.py)."""
    study = sub.add_parser("study", help="list, import and export studies").add_subparsers(
        title="study commands", metavar="COMMAND", required=True
    )
    p = study.add_parser("list", help="one study id per line, or JSON")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_study_list)
    p = study.add_parser(
        "import",
        help="add a study from a protocol file (.json) or an XLSForm (.xlsx, .xls, ...); "
        "a draft file becomes a draft (of its own study, if here)",
    )
    p.add_argument("file")
    p.add_argument("--id", default=None, help="a different study id for the copy")
    p.add_argument("--actor", default=None, help="who is importing (for the activity log; default: --as, else coordinator)")
    p.set_defaults(run=cmd_study_import)
    p = study.add_parser("export", help="write a study's protocol file (.json) or its form as XLSForm (.xlsx)")
    p.add_argument("study")
    p.add_argument("file")
    p.add_argument(
        "--draft", action="store_true", help="write the open draft instead, marked as a draft with the version it is based on"
    )
    p.set_defaults(run=cmd_study_export)
    return study
