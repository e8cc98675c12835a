"""Replies to the team's feedback, from the participant's own page: a small form under each feedback.

The form posts to ``/p/<token>/r/<contribution>`` with the time of the feedback it answers; the
services keep the reply with the contribution (never exported as data) and gate it as every
other change from a phone. A refused reply is said beside its box, and nothing is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..services import NotFound, NotOpen, Refused, reply_to_feedback
from .views import FeedbackView

if TYPE_CHECKING:
    from .server import EnrolmentServer


def feedback_key(at: datetime) -> str:
    """How a form names the feedback it answers: the time it was given, as stored."""
    return at.isoformat().replace("+00:00", "Z")


def conversation(c: Any) -> list[FeedbackView]:
    """Each feedback of a contribution, oldest first, with the contributor's replies to it."""
    return [
        FeedbackView(
            text=f.text,
            key=feedback_key(f.at),
            replies=[r.text for r in sorted(c.replies, key=lambda r: r.at) if r.to == f.at],
        )
        for f in sorted(c.feedback, key=lambda f: f.at)
    ]


def _answered(form: Any) -> datetime | None:
    raw = form.get("to")
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


async def reply(server: EnrolmentServer, request: web.Request) -> web.Response:
    """Keep a reply to one feedback; a refusal is shown beside the box it was typed in."""
    form, data, refusal = await server._checked_post(request)
    if refusal is not None or data is None:
        return refusal or await server.plain(request, 404)
    cid = request.match_info["cid"]
    contribution = server._own_contribution(data, cid)
    if contribution is None:
        return await server.plain(request, 404)
    to = _answered(form)
    text = form.get("reply") if isinstance(form.get("reply"), str) else ""
    if to is None:
        return await server.plain(request, 400)
    participant = data["participant"]
    try:
        await server._call(reply_to_feedback, participant.id, contribution.id, to, text, participant.code)
    except NotFound:
        return await server.plain(request, 404)
    except NotOpen as exc:
        return await server._not_open(request, exc)
    except Refused as exc:
        if "reply" not in exc.errors:
            return await server.plain(request, 409, str(exc))
        return await server._render_participant(
            request, data, 422, section="reply", errors=exc.errors, reply_to=(contribution.id, feedback_key(to)), reply_text=text
        )
    return await server._after(request, "replied")
