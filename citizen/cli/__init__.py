"""The command line: scripts, servers and old habits. Calls the services only.

A module per command group, registered below in the order `citizen --help` lists them. Exit 0
on success; otherwise one plain line on stderr and a code from ``common.Exit`` (README, "Exit codes").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Optional

from .. import __version__
from ..store.crash_log import write_crash_log
from . import bundles, check, demo, export, serve, studies, sync
from .common import CliError, Exit, data_path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citizen",
        description="Run co-produced, citizen-science health studies from this laptop. With no command, opens the terminal app.",
    )
    parser.add_argument("--data", metavar="DIR", help="data folder (default: $CITIZEN_HOME, else your user data folder)")
    parser.add_argument("--version", action="version", version=f"citizen {__version__}")
    parser.add_argument(
        "--as",
        dest="actor_name",
        metavar="NAME",
        default=None,
        help="your name in the activity log (a command's own --actor or --approved-by wins; "
        "the terminal app asks once otherwise)",
    )
    parser.set_defaults(run=demo.cmd_open)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    demo.register(sub)
    study_commands = studies.register(sub)
    check.register(sub)
    serve.register(sub)
    export.register(sub)
    bundles.register(sub)
    sync.register(sub, study_commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Each command imports what it uses when it runs (the terminal app then starts without the
    # web server, the exports, the sync client or the record models it does not draw).
    from ..services import notices
    from ..store import StoreError

    notices.say_notice = lambda text: print(f"citizen: {text}", file=sys.stderr, flush=True)
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"citizen: {exc}", file=sys.stderr)
        return exc.code
    except StoreError as exc:
        print(f"citizen: {exc}", file=sys.stderr)
        return Exit.FAILED
    except KeyboardInterrupt:
        print("citizen: stopped.", file=sys.stderr)
        return Exit.STOPPED
    except Exception as exc:
        return _failed(args, exc)


def _failed(args: argparse.Namespace, exc: Exception) -> int:
    """A refusal of the services or a protocol file said plainly; anything else in a crash log."""
    # lazy: loaded only when a command fails (start-up time)
    from ..domain.protocol_file import ProtocolFileError
    from ..services import ServiceError

    if isinstance(exc, ProtocolFileError):
        print(f"citizen: {exc.name} cannot be used:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return Exit.FAILED
    if isinstance(exc, ServiceError):
        print(f"citizen: {exc}", file=sys.stderr)
        return Exit.FAILED
    # the last resort: a plain line, and the details in a log file
    log = write_crash_log(data_path(args), exc)
    print(f"citizen: something went wrong ({type(exc).__name__}: {exc}). Details: {log}", file=sys.stderr)
    return Exit.FAILED
