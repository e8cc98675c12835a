"""Leaving the study from the phone: what will happen, a confirmation, then what was done.

Nothing changes until the person confirms on a page that says what is removed and what is kept:
the choice made on their page only opens that page (a GET), and a post to ``/withdraw`` without
the confirmation shows it too. Once they have left, their private link shows what was done.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from aiohttp import web

from ..domain.models import ConsentKind, ConsentMethod, Participant, pick
from ..services import NotFound, Refused, withdraw
from .i18n import N_
from .views import LeaveView, LeftView

if TYPE_CHECKING:
    from .server import EnrolmentServer

CHOICES = ("remove", "keep")
NO_CHOICE = N_("Please choose what happens to what you gave.")


def _counts(server: EnrolmentServer, participant: Participant) -> tuple[int, int, int, Optional[datetime]]:
    """How many contributions they have and had removed, their proposals, and when they left (if they did)."""
    repo = server.study.repo
    mine = repo.contributions_of(participant.id)
    proposals = sum(1 for p in repo.proposals() if p.participant_id == participant.id)
    left = [e.at for e in repo.consent_events(participant.id) if e.kind is ConsentKind.withdraw]
    return (sum(1 for c in mine if not c.removed), sum(1 for c in mine if c.removed), proposals, min(left, default=None))


async def leave_page(server: EnrolmentServer, request: web.Request) -> web.Response:
    """What leaving with the chosen option will do, and a button to confirm it (changes nothing)."""
    data, refusal = await server._load(request)
    if refusal is not None or data is None:
        return refusal or await server.plain(request, 404)
    if data["state"].withdrawn:
        return to_page(request)
    choice = request.query.get("remove")
    if choice not in CHOICES:
        return await server._render_participant(request, data, 422, section="withdraw", errors={"remove": NO_CHOICE})
    return await render_confirmation(server, request, data, choice)


async def render_confirmation(
    server: EnrolmentServer, request: web.Request, data: dict[str, Any], choice: str, status: int = 200
) -> web.Response:
    participant: Participant = data["participant"]
    kept, _, proposals, _ = await server._read(_counts, server, participant)
    token = data["link"]
    view = LeaveView(token=token, participant=participant, choice=choice, count=kept, proposals=proposals)
    return await server.render(
        request, view, status, record=data["record"], page=f"/p/{token}/leave?remove={choice}", bound_to="p:" + token
    )


async def render_left(
    server: EnrolmentServer, request: web.Request, data: dict[str, Any], notice: str = "", problem: str = "", status: int = 200
) -> web.Response:
    """The private link of someone who has left: what was done, and what the study keeps."""
    participant: Participant = data["participant"]
    lang, _ = server._language(request, data["record"])
    kept, removed, proposals, left_at = await server._read(_counts, server, participant)
    updates = [(u.title_in(lang), pick(u.body, lang), u.posted_at) for u in data["updates"]]
    view = LeftView(
        participant=participant,
        removed=data["state"].remove_data,
        kept=kept,
        deleted=removed,
        proposals=proposals,
        left_at=left_at,
        updates=updates,
        notice=notice,
        problem=problem,
    )
    return await server.render(request, view, status, record=data["record"], page=f"/p/{data['link']}")


async def confirm(server: EnrolmentServer, request: web.Request) -> web.Response:
    """Leave the study: only with a choice and the confirmation from the page that explained it."""
    form, data, refusal = await server._checked_post(request)
    if refusal is not None or data is None:
        return refusal or await server.plain(request, 404)
    if data["state"].withdrawn:
        return to_page(request)
    choice = form.get("remove")
    if choice not in CHOICES:
        return await server._render_participant(request, data, 422, section="withdraw", errors={"remove": NO_CHOICE})
    if form.get("confirm") != "yes":
        # An older page, or a form that skipped the explanation: explain first, change nothing.
        return await render_confirmation(server, request, data, choice)
    lang = server._posted_language(form, request, data["record"])
    participant: Participant = data["participant"]
    try:
        await server._call(withdraw, participant.id, choice == "remove", ConsentMethod.phone, participant.code, language=lang)
    except NotFound:
        return await server.plain(request, 404)
    except Refused as exc:
        return await server.plain(request, 409, str(exc))
    return await server._after(request, "withdrawn")


def to_page(request: web.Request) -> web.Response:
    response = web.Response(status=303)
    response.headers["Location"] = f"/p/{request.match_info['token']}"
    return response
