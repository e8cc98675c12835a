"""`citizen sync STUDY [URL]` and `citizen study clone URL [--id ID]`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from typing import TYPE_CHECKING, Optional

from ..sync import PASSWORD_ENV
from .common import CliError, acting, open_data

if TYPE_CHECKING:
    from ..sync.run import HubLogin

# The sync client needs aiohttp, whose import takes about a second on an old laptop: it is imported
# inside the commands below, so every other command starts without it.


def _password(user: str, from_url: str) -> str:
    if not user or from_url:
        return from_url
    from ..sync.client import password_from_env  # lazy: aiohttp (see above)

    env = password_from_env()
    if env:
        return env
    if not sys.stdin.isatty():
        raise CliError(f"No password for {user}: set {PASSWORD_ENV}, or run this in a terminal to be asked.")
    return getpass.getpass(f"Password for {user} on the hub: ")


def _login(url: str, user: Optional[str]) -> HubLogin:
    from ..sync.client import HubError, split_url, warnings_for  # lazy: aiohttp (see above)
    from ..sync.run import HubLogin

    try:
        address, url_user, url_password = split_url(url)
    except HubError as exc:
        raise CliError(str(exc)) from None
    for line in warnings_for(address):
        print(line, file=sys.stderr, flush=True)
    name = user or url_user
    return HubLogin(url, name, _password(name, url_password))


class _Progress:
    """A line now and then (at most one a second), for a terminal or a log."""

    def __init__(self) -> None:
        self.shown = 0.0
        self.what = ""

    def __call__(self, done: int, total: int, what: str) -> None:
        now = time.monotonic()
        if what == self.what and now - self.shown < 1.0 and done < total:
            return
        self.shown, self.what = now, what
        print(f"{what.capitalize()}: {done} of {total} documents", flush=True)


def cmd_sync(args: argparse.Namespace) -> int:
    from ..sync.client import HubError  # lazy: aiohttp (see above)
    from ..sync.run import sync_study
    from ..sync.state import Settings

    with open_data(args) as data:
        settings = Settings.load(data.path, args.study)
        url = args.url or settings.url
        if not url:
            raise CliError(f"Which hub? Give its address: citizen sync {args.study} https://hub.example.org/DATABASE")
        user = args.user if args.user is not None else (settings.user if not args.url or args.url == settings.url else "")
        login = _login(url, user)
        direction = "pull" if args.pull_only else "push" if args.push_only else "both"
        contacts = args.include_contacts or (settings.include_contacts and url == settings.url)
        try:
            report = asyncio.run(
                sync_study(data, args.study, login, direction, contacts, acting(args, default="sync"), _Progress())
            )
        except HubError as exc:
            raise CliError(str(exc)) from None
    for line in report.lines():
        print(line, flush=True)
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    from ..sync.client import HubError  # lazy: aiohttp (see above)
    from ..sync.run import clone_study

    login = _login(args.url, args.user)
    with open_data(args) as data:
        try:
            report = asyncio.run(clone_study(data, login, args.id, acting(args, default="sync"), _Progress()))
        except HubError as exc:
            raise CliError(str(exc)) from None
    for line in report.lines():
        print(line, flush=True)
    return 0


def register(subparsers: argparse._SubParsersAction, study: argparse._SubParsersAction) -> None:
    """Adds `citizen sync` and, to the study commands, `citizen study clone`."""
    p = subparsers.add_parser("sync", help="sync a study with a CouchDB database (a hub), both ways")
    p.add_argument("study")
    p.add_argument(
        "url",
        nargs="?",
        default=None,
        help="the hub's database, e.g. https://hub.example.org/northgate-air (default: the last one)",
    )
    p.add_argument("--user", default=None, help=f"user name on the hub (the password: asked, or {PASSWORD_ENV})")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--pull-only", action="store_true", help="only receive the hub's changes")
    way.add_argument("--push-only", action="store_true", help="only send this laptop's changes")
    p.add_argument(
        "--include-contacts",
        action="store_true",
        help="send and receive contact details too (they stay on this laptop otherwise)",
    )
    p.add_argument("--actor", default=None, help="who is syncing (for the activity log)")
    p.set_defaults(run=cmd_sync)
    p = study.add_parser("clone", help="put a study that is on a hub onto this laptop")
    p.add_argument("url", help="the hub's database, e.g. https://hub.example.org/northgate-air")
    p.add_argument("--id", default=None, help="the study's id on this laptop (default: its id on the hub)")
    p.add_argument("--user", default=None, help=f"user name on the hub (the password: asked, or {PASSWORD_ENV})")
    p.add_argument("--actor", default=None, help="who is cloning (for the activity log)")
    p.set_defaults(run=cmd_clone)
