"""Serving the enrolment site alone, without the terminal app (`citizen serve`): start, say where, stop."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import qr
from ..domain.models import Invite, InviteState, utcnow
from ..services import Refused
from ..services.invite_links import invite_token
from ..store.serving_note import clear_serving_note, note_serving
from .server import EnrolmentServer


def open_invites(invites: Sequence[Invite]) -> list[Invite]:
    now = utcnow()
    return [i for i in invites if i.state(now) is InviteState.open]


def print_invites(server: EnrolmentServer, invites: Sequence[Invite], say: Callable[[str], None] = print) -> None:
    """One line per open invite: its label and the join link phones open (a QR may follow each)."""
    for invite in invites:
        try:
            link = server.join_url(invite_token(server.study, invite))
        except Refused as exc:  # made on another laptop: phones join through it, but it cannot be shown here
            say(f"  {invite.label}: {exc}")
            continue
        say(qr.terminal_ansi(link) if sys.stdout.isatty() else qr.terminal_text(link))
        say(f"  {invite.label}: {link}")


EVERY_NETWORK = {"0.0.0.0", "::", "[::]"}
EVERY_NETWORK_WARNING = (
    "Serving on every network of this laptop (--host 0.0.0.0), VPN and phone-tethered ones "
    "too: anyone on any of them can reach the join pages."
)
NO_NETWORK = (
    "This laptop is on no local network, so only this laptop can open the pages. Join the network the "
    "phones use (a Wi-Fi the team controls), then serve again."
)
NO_INVITE = (
    "This study has no open invite, so no one can join yet. Make one with "
    '`citizen serve {study} --new-invite "library poster"`, or on the Enrolment screen of the terminal app.'
)


async def serve(
    study,
    host: str | None,
    port: int,
    say: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    data_folder: Path | None = None,
) -> None:
    """Serve until Ctrl-C (or ``stop`` is set), then close every connection.

    With ``data_folder``, a note there says where it serves, so that the terminal app (or another
    `citizen serve`), refused the folder meanwhile, can tell the person where phones join.
    """
    server = EnrolmentServer(study, host, port)
    await server.start()
    if data_folder is not None:
        note_serving(data_folder, "citizen serve", study.id, server.base_url)
    if server.host.strip() in EVERY_NETWORK:
        say(EVERY_NETWORK_WARNING)
    elif server.host.startswith("127."):
        say(NO_NETWORK)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests): ``stop`` still ends it
    try:
        say(f"Serving '{study.repo.study().title}' at {server.base_url} (Ctrl-C stops).")
        say("Phones on the same network open a join link:")
        invites = await asyncio.to_thread(lambda: open_invites(study.repo.invites()))
        if invites:
            print_invites(server, invites, say)
        else:
            say(NO_INVITE.format(study=study.id))
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        await server.stop()
        if data_folder is not None:
            clear_serving_note(data_folder)
        say("Stopped.")
