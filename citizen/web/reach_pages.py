"""How to reach you, on the phone: asked beside "the team may contact me", and its own small page.

The box stands right after the study's contact item (the consent item whose role is contacting
them later) on the join page, the re-consent form and the participant's choices; it is read only
when that item is answered yes. Their page shows what the team has, and ``/p/<token>/contact``
changes or removes it. A study without a contact item never shows the box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from aiohttp import web

from ..domain.models import ConsentRole, Contact, Participant, ProtocolVersion
from ..domain.reach import shown_reach
from ..services import NotFound, Refused
from ..services.contacts import contact_item, has_details, remove_contact, set_contact
from .i18n import N_
from .leaving import to_page
from .views import ContactView, ReachSection, ReachView

if TYPE_CHECKING:
    from .server import EnrolmentServer

# The services' refusals of a way to reach someone, as the pages translate them (kept in step by a test).
REACH_SAID = (
    N_("Please write a phone number or an e-mail address, or answer No to being contacted."),
    N_("This is too long: please write one phone number or one e-mail address."),
    N_("This does not look like a phone number or an e-mail address. Please check it."),
)
ASKED = N_("If yes: your phone number or e-mail address")
OWN = N_("Your phone number or e-mail address")


def current_reach(contact: Optional[Contact]) -> str:
    return shown_reach(contact.phone, contact.email) if contact is not None and has_details(contact) else ""


def reach_view(
    current: Optional[ProtocolVersion], gettext, label: str = ASKED, value: str = "", error: str = ""
) -> Optional[ReachView]:
    """The box for the current consent document, or None when it has no contact item."""
    item = contact_item(current.consent if current is not None else None)
    if item is None:
        return None
    return ReachView(item=item, text=gettext(label), value=value, error=error)  # the page's 'said' words it


def posted_reach(form: Any) -> Optional[str]:
    """What they wrote in the box; None when the form had no box (nothing asked, nothing changed)."""
    value = form.get("reach")
    return value if isinstance(value, str) else None


def reach_section(data: dict[str, Any]) -> Optional[ReachSection]:
    """What their page says about how the team can reach them (only if they agreed to be contacted)."""
    current: Optional[ProtocolVersion] = data["current"]
    signed = data["signed"]  # the document they agreed to: its contact item may have had another id
    if contact_item(current.consent if current is not None else None) is None or signed is None:
        return None
    if not data["state"].allows_role(ConsentRole.contact_later, signed, absent=False):
        return None
    return ReachSection(shown=current_reach(data["contact"]))


async def contact_page(server: EnrolmentServer, request: web.Request) -> web.Response:
    data, refusal = await server._load(request)
    if refusal is not None or data is None:
        return refusal or await server.plain(request, 404)
    if data["state"].withdrawn or reach_section(data) is None:
        return to_page(request)
    return await render_contact(server, request, data, current_reach(data["contact"]))


async def render_contact(
    server: EnrolmentServer, request: web.Request, data: dict[str, Any], value: str, error: str = "", status: int = 200
) -> web.Response:
    participant: Participant = data["participant"]
    gettext = await server._texts(server._language(request, data["record"])[0])
    token = data["link"]
    box = reach_view(data["current"], gettext, OWN, value, error)
    if box is None:  # no contact item any more: their page says so (the callers check it first)
        return to_page(request)
    view = ContactView(token=token, participant=participant, shown=current_reach(data["contact"]), reach=box)
    return await server.render(request, view, status, record=data["record"], page=f"/p/{token}/contact", bound_to="p:" + token)


async def contact(server: EnrolmentServer, request: web.Request) -> web.Response:
    """Save or remove how to reach them (``do=remove`` removes; their consent choices stay as they are)."""
    form, data, refusal = await server._checked_post(request)
    if refusal is not None or data is None:
        return refusal or await server.plain(request, 404)
    if data["state"].withdrawn or reach_section(data) is None:
        return to_page(request)
    participant: Participant = data["participant"]
    value = posted_reach(form) or ""
    try:
        if form.get("do") == "remove":
            if not has_details(data["contact"]):
                return to_page(request)
            await server._call(remove_contact, participant.id, participant.code)
            return await server._after(request, "contact_removed")
        await server._call(set_contact, participant.id, value, participant.code)
    except NotFound:
        return await server.plain(request, 404)
    except Refused as exc:
        if "reach" not in exc.errors:
            return await server.plain(request, 409, str(exc))
        return await render_contact(server, request, data, value, exc.errors["reach"], 422)
    return await server._after(request, "contact")
