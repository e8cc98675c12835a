"""`citizen` (the terminal app) and `citizen demo`: the demo study, made and opened."""

from __future__ import annotations

import argparse
from typing import Optional

from .common import CliError, Exit, data_path, open_data, say


def open_app(args: argparse.Namespace, study_id: Optional[str] = None) -> int:
    from ..tui.app import run_app  # lazy: Textual loads only when the app opens (start-up time)

    return run_app(data_path(args), study_id=study_id, actor=args.actor_name)


def cmd_open(args: argparse.Namespace) -> int:
    return open_app(args)


def cmd_demo(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..domain.plural import count
    from ..services.demo import create_demo

    if args.participants < 1 or args.contributions < 0:
        raise CliError("--participants must be 1 or more and --contributions 0 or more.", Exit.USAGE)
    if args.contributions > 1_000_000:
        raise CliError("--contributions is limited to 1,000,000.", Exit.USAGE)
    with open_data(args) as data:
        study = create_demo(
            data, participants=args.participants, contributions=args.contributions, seed=args.seed, study_id=args.id
        )
        say(
            f"Demo study '{study.id}' created in {data.path} "
            f"({count(args.participants, 'participant')}, {count(study.repo.contribution_count(), 'contribution')})."
        )
        study_id = study.id
    if args.no_open:
        return 0
    return open_app(args, study_id)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="create the demo study (sized as asked) and open it")
    p.add_argument("--participants", type=int, default=60, metavar="N", help="participants to generate (60)")
    p.add_argument("--contributions", type=int, default=300, metavar="M", help="contributions to generate (300)")
    p.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable demo")
    p.add_argument("--id", default=None, help="study id (default: air-quality-walk, or the next free one)")
    p.add_argument("--no-open", action="store_true", help="only create it (for scripts)")
    p.set_defaults(run=cmd_demo)
