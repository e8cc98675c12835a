"""What the phone pages share: their limits, the request keys they set, the messages they show, and QR drawing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

import qrcode
import qrcode.image.svg
from aiohttp import web
from markupsafe import Markup

from ..domain.models import (
    InviteState,
    ReviewState,
)
from .i18n import N_

HERE = Path(__file__).resolve().parent
TOKEN = r"[A-Za-z0-9_-]{16,64}"
UUID = r"[0-9a-f-]{36}"
SHOWN_CONTRIBUTIONS = 5  # a page at a time, so that a page stays small on a slow phone
ANSWER_SHOWN = 300
log = logging.getLogger("citizen.web")
T = TypeVar("T")
POSTED_LANG: Any = web.RequestKey("posted_lang", str) if hasattr(web, "RequestKey") else "posted_lang"
RETRY_AFTER: Any = web.RequestKey("retry_after", int) if hasattr(web, "RequestKey") else "retry_after"

# Messages shown after a change, chosen by a fixed key in the address (nothing from the request is echoed).
DONE = {
    "contributed": N_("Thank you: your contribution was received."),
    "corrected": N_("Your correction was saved. The team will see that it changed."),
    "consent": N_("Your consent choices were saved."),
    "withdrawn": N_("Thank you for taking part."),
    "contact": N_("How to reach you was saved."),
    "contact_removed": N_("How to reach you was removed."),
    "proposed": N_("Thank you: your proposal was sent to the study team."),
    "replied": N_("Your reply was sent to the study team."),
}
REVIEW_STATES = {
    ReviewState.received: N_("received"),
    ReviewState.accepted: N_("accepted"),
    ReviewState.needs_attention: N_("needs attention"),
    ReviewState.rejected: N_("not used"),
}
PLAIN = {
    400: (N_("This request could not be read"), N_("Please go back and try again.")),
    408: (N_("This request could not be read"), N_("Please go back and try again.")),  # sent too slowly
    403: (
        N_("This form cannot be sent"),
        N_("The form was already sent, or it came from another site. Please go back, reload the page and try again."),
    ),
    404: (N_("Page not found"), N_("This link is not known. Please check it, or ask the study team for a new one.")),
    405: (N_("This page cannot do that"), N_("Please use the buttons on the page.")),
    409: (N_("This study is not taking anything new"), N_("Please ask the study team.")),
    410: (N_("This invitation cannot be used"), N_("Please ask the study team for a new one.")),
    421: (N_("This request could not be read"), N_("Please open the link the study team gave you.")),
    413: (N_("Too much was sent"), N_("Please shorten your answers and send them again.")),
    415: (N_("This request could not be read"), N_("Please use the form on the page.")),
    429: (N_("Too many requests"), N_("Please wait a minute, then try again.")),
    500: (N_("Something went wrong"), N_("Your last step may not have been saved. Please try again, or tell the study team.")),
    503: (N_("Not open yet"), N_("This study cannot take part over the phone right now. Please ask the study team.")),
}
# Why an invite enrols no one (Invite.state), as a phone is told it.
INVITE_REFUSALS = {
    InviteState.closed: N_("This invitation has been closed by the study team."),
    InviteState.expired: N_("This invitation has expired."),
    InviteState.used_up: N_("This invitation has been used as many times as the team allowed."),
}

# What a phone is told when the study is not open to volunteers (StudyRecord.open_to_volunteers).
STUDY_REFUSALS = {
    "paused": N_("This study is paused: it is not taking anything new for now. Please try again later."),
    "closed": N_("This study has finished and no longer takes anything new. Thank you for your interest."),
}


def qr_svg(link: str) -> Markup:
    """The link as an inline SVG QR code (made here from our own link only)."""
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    svg = image.to_string(encoding="unicode")
    svg = svg[svg.index("<svg") :]
    return Markup(svg)
