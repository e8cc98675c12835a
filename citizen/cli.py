"""The command line: scripts, servers and old habits. Calls the services only.

Exit 0 on success; otherwise one plain line on stderr and a non-zero code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional

from . import __version__
from .domain.protocol_file import ProtocolFileError
from .store import DataFolder, StoreError, user_data_folder
from .store.crash_log import write_crash_log

EXIT_USAGE = 2
EXIT_FAILED = 1

# Each command module adds its sub-commands here: name -> (configure parser, run).
Command = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A plain message for stderr, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        self.code = code
        super().__init__(message)


def data_path(args: argparse.Namespace) -> Path:
    return Path(args.data).expanduser() if args.data else user_data_folder()


def open_data(args: argparse.Namespace, readonly: bool = False) -> DataFolder:
    return DataFolder(data_path(args), readonly=readonly)


def _say(text: str) -> None:
    print(text, flush=True)


def cmd_open(args: argparse.Namespace) -> int:
    from .tui.app import run_app

    return run_app(data_path(args), actor=args.actor_name)


def cmd_demo(args: argparse.Namespace) -> int:
    from .services.demo import create_demo

    if args.participants < 1 or args.contributions < 0:
        raise CliError("--participants must be 1 or more and --contributions 0 or more.", EXIT_USAGE)
    if args.contributions > 1_000_000:
        raise CliError("--contributions is limited to 1,000,000.", EXIT_USAGE)
    with open_data(args) as data:
        study = create_demo(data, participants=args.participants, contributions=args.contributions,
                            seed=args.seed, study_id=args.id)
        _say(f"Demo study '{study.id}' created in {data.path} "
             f"({args.participants} participants, {study.repo.contribution_count()} contributions).")
        study_id = study.id
    if args.no_open:
        return 0
    from .tui.app import run_app

    return run_app(data_path(args), study_id=study_id, actor=args.actor_name)


def cmd_study_list(args: argparse.Namespace) -> int:
    from .services.queries import list_studies

    with open_data(args, readonly=True) as data:
        studies = list_studies(data)
    if args.json:
        print(json.dumps([
            {"id": s.id, "title": s.title, "status": s.status.value, "participants": s.participants,
             "contributions": s.contributions, "protocol_version": s.protocol_version,
             "last_activity": s.last_activity.isoformat() if s.last_activity else None,
             "problem": s.problem or None}
            for s in studies
        ], ensure_ascii=False, indent=2))
    else:
        for s in studies:
            print(s.id)
    return 0


def cmd_study_import(args: argparse.Namespace) -> int:
    from .services import import_protocol

    args.actor = args.actor or getattr(args, "actor_name", None) or "coordinator"

    from .services.xlsform import is_xlsform

    path = Path(args.file)
    if is_xlsform(path):
        from .services.xlsform import import_xlsform

        with open_data(args) as data:
            existing = set(data.study_ids())
            study, report = import_xlsform(data, path, args.actor, study_id=args.id or "")
            if study.id in existing:
                _say(f"The draft form in {args.file} is now the open draft of '{study.id}'; nothing was published.")
            else:
                _say(f"Study '{study.id}' added from the XLSForm {args.file}; its questions are in a draft.")
            _say(report.summary())
            _say("Open it in the terminal app (citizen), write the consent document and publish the draft.")
        return 0
    from .services.drafts_shared import import_draft_file
    from .services.studies import load_protocol_file

    with open_data(args) as data:
        pf = load_protocol_file(path)
        if pf.draft is not None:
            _say(import_draft_file(data, pf, path.name, args.actor, study_id=args.id).summary())
            _say("Review it in the terminal app (citizen), then publish it there.")
            return 0
        study = import_protocol(data, path, args.actor, study_id=args.id)
        _say(f"Study '{study.id}' added from {args.file}.")
        for line in study.notices:
            _say(line)
    return 0


def cmd_study_export(args: argparse.Namespace) -> int:
    from .services import export_protocol, open_study

    path = Path(args.file)
    with open_data(args, readonly=True) as data:
        if path.suffix.lower() == ".xlsx":
            from .services.xlsform import export_xlsform

            report = export_xlsform(open_study(data, args.study), path, draft=args.draft)
            what = "draft form" if args.draft else "form"
            _say(f"The {what} of '{args.study}' written to {args.file} as an XLSForm.")
            for line in report.not_carried_over:
                _say(f"- {line}")
            return 0
        export_protocol(open_study(data, args.study), path, draft=args.draft)
    if args.draft:
        _say(f"The open draft of '{args.study}' written to {args.file}, marked as a draft (not a published version).")
    else:
        _say(f"Protocol of '{args.study}' written to {args.file}.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .services.queries import can_restore, check_data_folder, restore_last_good

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
                _say(f"restored {damage.path} from its last good copy (the damaged file is kept as {kept.name})")
        report = check_data_folder(path)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.problems:
        return EXIT_FAILED
    _say(f"{report.files} files checked in {path}: no damage found.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citizen",
        description="Run co-produced, citizen-science health studies from this laptop. "
                    "With no command, opens the terminal app.",
    )
    parser.add_argument("--data", metavar="DIR",
                        help="data folder (default: $CITIZEN_HOME, else your user data folder)")
    parser.add_argument("--version", action="version", version=f"citizen {__version__}")
    parser.add_argument("--as", dest="actor_name", metavar="NAME", default=None,
                        help="your name in the activity log (the terminal app asks once otherwise)")
    parser.set_defaults(run=cmd_open)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("demo", help="create the demo study (sized as asked) and open it")
    p.add_argument("--participants", type=int, default=60, metavar="N", help="participants to generate (60)")
    p.add_argument("--contributions", type=int, default=300, metavar="M", help="contributions to generate (300)")
    p.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable demo")
    p.add_argument("--id", default=None, help="study id (default: air-quality-walk, or the next free one)")
    p.add_argument("--no-open", action="store_true", help="only create it (for scripts)")
    p.set_defaults(run=cmd_demo)

    study = sub.add_parser("study", help="list, import and export studies").add_subparsers(
        title="study commands", metavar="COMMAND", required=True)
    p = study.add_parser("list", help="one study id per line, or JSON")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_study_list)
    p = study.add_parser("import", help="add a study from a protocol file (.json) or an XLSForm (.xlsx, .xls, ...); "
                                        "a draft file becomes a draft (of its own study, if here)")
    p.add_argument("file")
    p.add_argument("--id", default=None, help="a different study id for the copy")
    p.add_argument("--actor", default=None, help="who is importing (for the activity log; default: --as, else coordinator)")
    p.set_defaults(run=cmd_study_import)
    p = study.add_parser("export", help="write a study's protocol file (.json) or its form as XLSForm (.xlsx)")
    p.add_argument("study")
    p.add_argument("file")
    p.add_argument("--draft", action="store_true",
                   help="write the open draft instead, marked as a draft with the version it is based on")
    p.set_defaults(run=cmd_study_export)

    p = sub.add_parser("check", help="verify every study file and report damage")
    p.add_argument("--restore", action="store_true", help="put the last good copy of each damaged file back")
    p.set_defaults(run=cmd_check)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Modules that add sub-commands: each has ``register(subparsers)``; a missing one is skipped.
COMMAND_MODULES = ("citizen.qr_cli", "citizen.web.cli", "citizen.export.cli", "citizen.export.bundle_cli", "citizen.sync.cli",
                   "citizen.tui.cli")
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def _load_extra_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise  # a module that exists but fails to import is a real error
            continue
        if module.register not in EXTRA_COMMANDS:  # main() may run many times in one process
            EXTRA_COMMANDS.append(module.register)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .services import ServiceError

    _load_extra_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    from .services import common

    common.say_notice = lambda text: print(f"citizen: {text}", file=sys.stderr, flush=True)
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"citizen: {exc}", file=sys.stderr)
        return exc.code
    except ProtocolFileError as exc:
        print(f"citizen: {exc.name} cannot be used:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_FAILED
    except (StoreError, ServiceError) as exc:
        print(f"citizen: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("citizen: stopped.", file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort: a plain line, and the details in a log file
        log = write_crash_log(data_path(args), exc)
        print(f"citizen: something went wrong ({type(exc).__name__}: {exc}). Details: {log}", file=sys.stderr)
        return EXIT_FAILED

