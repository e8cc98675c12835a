"""`citizen serve`, `citizen invite create | list | close`, `citizen qr` and `citizen participant relink`:
phones reaching this laptop."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..store import StoreLocked
from ..store.serving_note import locked_message
from .common import CliError, Exit, acting, data_path, open_data


def _check_url_base(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise CliError(f"--url-base must be an address such as http://192.168.1.20:8080 (not '{text}').", Exit.USAGE)
    return text.strip().rstrip("/")


def cmd_qr(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from .. import qr
    from ..domain.models import InviteState
    from ..services import open_study
    from ..services.invite_links import invite_token
    from ..services.invites import STATE_WORDS, find_invite, only_open_invite
    from ..web.address import default_url_base, join_link

    url_base = _check_url_base(args.url_base) if args.url_base else default_url_base()
    with open_data(args, readonly=True) as data:
        study = open_study(data, args.study)
        invite = find_invite(study, args.invite) if args.invite is not None else only_open_invite(study)
        state = invite.state()
        if state is not InviteState.open:
            raise CliError(
                f"The invite '{invite.label}' is {STATE_WORDS[state]}: its link enrols no one. "
                f"Create a new one with `citizen invite create {study.id} LABEL`."
            )
        record = study.repo.study()
        link = join_link(url_base, invite_token(study, invite))  # refused plainly on a laptop that cannot show it
    poster = args.png or args.svg
    if poster:
        save = qr.save_png if args.png else qr.save_svg
        path = save(Path(poster), link, record.title, record.shared_aim)
        print(f"Poster for the invite '{invite.label}' written to {path}. Its link: {link}", flush=True)
        return 0
    art = qr.terminal_ansi(link) if sys.stdout.isatty() else qr.terminal_text(link)
    print(art)
    print(f"Invite '{invite.label}': {link}", flush=True)
    return 0


def cmd_invite_create(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..services import open_study
    from ..services.invites import create_invite_as_typed

    with open_data(args) as data:
        invite = create_invite_as_typed(
            open_study(data, args.study), args.label, acting(args), limit=args.limit or "", expires=args.expires or ""
        )
    print(
        f"Invite '{invite.label}' created. `citizen qr {args.study} --invite \"{invite.label}\"` shows its QR code.", flush=True
    )
    return 0


def cmd_invite_list(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..services import open_study
    from ..services.invite_links import invite_link_or_none
    from ..services.invites import invite_rows

    with open_data(args, readonly=True) as data:
        study = open_study(data, args.study)
        rows = invite_rows(study)
        tokens = {r.invite.id: invite_link_or_none(study, r.invite) for r in rows} if args.json else {}
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "label": r.label,
                        "status": r.state_word,
                        "uses": r.invite.uses,
                        "limit": r.invite.limit,
                        "expires_at": r.invite.expires_at.isoformat() if r.invite.expires_at else None,
                        "created_at": r.invite.created_at.isoformat(),
                        "token": tokens[r.invite.id],  # null where this laptop cannot show the link
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not rows:
        print(f"No invites yet. `citizen invite create {args.study} LABEL` makes one.")
    for r in rows:
        expires = r.invite.expires_at.astimezone().strftime("%Y-%m-%d %H:%M") if r.invite.expires_at else "never"
        print(f"{r.label}\t{r.state_word}\tused {r.uses}\texpires {expires}")
    return 0


def cmd_invite_close(args: argparse.Namespace) -> int:
    # lazy: a command loads only what it uses (start-up time)
    from ..services import close_invite, open_study
    from ..services.invites import find_invite

    with open_data(args) as data:
        study = open_study(data, args.study)
        invite = find_invite(study, args.label)
        if invite.closed:
            raise CliError(f"The invite '{invite.label}' is already closed.")
        close_invite(study, invite.id, acting(args))
    print(f"Invite '{invite.label}' closed: its link and QR code no longer enrol anyone.", flush=True)
    return 0


def cmd_participant_relink(args: argparse.Namespace) -> int:
    """A new private link for a participant (its QR code, then the link); the old one stops at once."""
    # lazy: a command loads only what it uses (start-up time)
    from .. import qr
    from ..services import open_study, relink_participant
    from ..services.browse import participant_by_code
    from ..web.address import default_url_base, private_link

    url_base = _check_url_base(args.url_base) if args.url_base else default_url_base()
    with open_data(args) as data:
        study = open_study(data, args.study)
        person = participant_by_code(study, args.code)
        made = relink_participant(study, person.id, acting(args))
    link = private_link(url_base, made.link)
    print(qr.terminal_ansi(link) if sys.stdout.isatty() else qr.terminal_text(link))
    print(f"New private link for {made.code} (shown only now; the old link no longer works): {link}", flush=True)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ..services import create_invite, open_study
    from ..web.serving import open_invites, serve  # aiohttp and Jinja2 load only when phones are served

    if not 0 <= args.port <= 65535:
        raise CliError("--port must be a number from 0 to 65535 (8080 is usual).", Exit.USAGE)
    try:
        data = open_data(args)
    except StoreLocked:  # the terminal app (or another `citizen serve`) has the folder: say where, and why
        raise CliError(locked_message(data_path(args).resolve(), to_serve=True)) from None
    with data:
        study = open_study(data, args.study)
        label = (args.new_invite or "").strip()
        if label and not any(i.label == label for i in open_invites(study.repo.invites())):
            create_invite(study, label, acting(args))
        try:
            asyncio.run(serve(study, args.host, args.port, lambda line: print(line, flush=True), data_folder=data.path))
        except KeyboardInterrupt:
            print("Stopped.", flush=True)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="serve the study's enrolment pages to phones on this network")
    p.add_argument("study")
    p.add_argument(
        "--host",
        default=None,
        help="the address to listen on (default: this laptop's address on its local network; "
        "0.0.0.0 serves every network, VPN and tethered ones too)",
    )
    p.add_argument("--port", type=int, default=8080, help="the port (default 8080; 0 picks a free one)")
    p.add_argument(
        "--new-invite",
        default=None,
        metavar="LABEL",
        help="first make an open invite with this label (such as 'library poster'), unless one is open already",
    )
    p.set_defaults(run=cmd_serve)

    p = subparsers.add_parser("qr", help="print an invite's QR code, or save it as a PNG or SVG poster")
    p.add_argument("study")
    p.add_argument("--invite", metavar="LABEL", default=None, help="which invite (default: the only open one)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--png", metavar="FILE", help="save a poster as PNG (code, title, shared aim and link)")
    out.add_argument("--svg", metavar="FILE", help="save the poster as SVG instead")
    p.add_argument(
        "--url-base",
        metavar="URL",
        default=None,
        help="the address phones reach (default: this laptop's local address, port 8080)",
    )
    p.set_defaults(run=cmd_qr)

    invite = subparsers.add_parser("invite", help="create, list and close a study's invite links").add_subparsers(
        title="invite commands", metavar="COMMAND", required=True
    )
    p = invite.add_parser("create", help="a new invite link, such as 'library poster'")
    p.add_argument("study")
    p.add_argument("label")
    p.add_argument("--limit", metavar="N", default=None, help="at most N enrolments through it")
    p.add_argument(
        "--expires", metavar="DATE", default=None, help="its last day, YYYY-MM-DD (or a date and time, ISO 8601), in local time"
    )
    p.set_defaults(run=cmd_invite_create)
    p = invite.add_parser("list", help="every invite with its state, uses and expiry")
    p.add_argument("study")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_invite_list)
    p = invite.add_parser("close", help="close an invite: its link stops enrolling")
    p.add_argument("study")
    p.add_argument("label")
    p.set_defaults(run=cmd_invite_close)

    participant = subparsers.add_parser("participant", help="a participant's private link").add_subparsers(
        title="participant commands", metavar="COMMAND", required=True
    )
    p = participant.add_parser("relink", help="a new private link and its QR code; the old link stops at once")
    p.add_argument("study")
    p.add_argument("code", help="the participant's code, such as K7-3MXQ")
    p.add_argument(
        "--url-base",
        metavar="URL",
        default=None,
        help="the address phones reach (default: this laptop's local address, port 8080)",
    )
    p.set_defaults(run=cmd_participant_relink)
