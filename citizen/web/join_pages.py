"""Joining a study from an invite's link: the consent page, and enrolment when it is sent."""

from __future__ import annotations

from typing import Any, Optional

from aiohttp import web

from ..domain.models import (
    ConsentMethod,
    Invite,
    InviteState,
    ProtocolVersion,
    pick,
    utcnow,
)
from ..domain.models import Study as StudyRecord
from ..services import (
    InviteNotOpen,
    NotFound,
    NotOpen,
    Refused,
    enrol_participant,
)
from . import reach_pages
from .forms import consent_views, posted_answers
from .i18n import N_
from .messages import INVITE_REFUSALS, POSTED_LANG, STUDY_REFUSALS, qr_svg
from .views import JoinView, ReceiptView


class JoinPages:
    """Handlers of the enrolment server (mixed into ``EnrolmentServer``)."""

    def _join_data(self, token: str) -> tuple[StudyRecord, Optional[ProtocolVersion], Optional[Invite]]:
        return self._record(), self.study.repo.current_protocol(), self.study.repo.invite_by_token(token)

    async def _open_invite(self, request: web.Request, token: str):
        record, current, invite = await self._read(self._join_data, token)
        if invite is None:
            return None, await self.plain(
                request, 404, N_("This invitation link is not known. Please ask the study team for a new one.")
            )
        state = invite.state(utcnow())
        if state is not InviteState.open:
            return None, await self.plain(request, 410, INVITE_REFUSALS[state])
        if current is None:
            return None, await self.plain(request, 503)
        if not record.open_to_volunteers:
            return None, await self.plain(request, 409, STUDY_REFUSALS[record.status.value])
        return (record, current), None

    async def join_page(self, request: web.Request) -> web.Response:
        token = request.match_info["invite"]
        found, refusal = await self._open_invite(request, token)
        if refusal is not None:
            return refusal
        record, current = found
        return await self._render_join(request, token, record, current)

    async def _render_join(
        self,
        request: web.Request,
        token: str,
        record: StudyRecord,
        current: ProtocolVersion,
        status: int = 200,
        answers: Any = None,
        errors: Any = None,
        reach: str = "",
    ) -> web.Response:
        lang, _ = self._language(request, record)
        items = consent_views(current.consent, lang, answers, errors)
        box = reach_pages.reach_view(current, await self._texts(lang), value=reach, error=(errors or {}).get("reach", ""))
        view = JoinView(
            action=f"/j/{token}",
            aim=record.aim(lang),
            summary=pick(record.summary, lang),
            consent_text=pick(current.consent.text, lang),
            items=items,
            reach=box,
        )
        return await self.render(request, view, status, record=record, page=f"/j/{token}", bound_to="j:" + token)

    async def join(self, request: web.Request) -> web.Response:
        token = request.match_info["invite"]
        form = await self._form(request)
        found, refusal = await self._open_invite(request, token)
        if refusal is not None:
            return refusal
        record, current = found
        lang = self._posted_language(form, request, record)
        if not self.tokens.spend(form.get("csrf"), "j:" + token):
            return await self.plain(request, 403)
        answers = posted_answers(current.consent, form)
        reach = reach_pages.posted_reach(form)
        try:
            participant = await self._call(
                enrol_participant, answers, ConsentMethod.phone, "phone", language=lang, invite_token=token, reach=reach
            )
        except NotFound:
            return await self.plain(request, 404)
        except NotOpen as exc:
            return await self._not_open(request, exc)
        except InviteNotOpen as exc:  # closed, expired or used up while the form was being filled
            return await self.plain(request, 410, INVITE_REFUSALS[exc.state])
        except Refused as exc:
            if not exc.errors:
                return await self.plain(request, 410, str(exc))
            return await self._render_join(request, token, record, current, 422, answers, exc.errors, reach or "")
        link = self.private_url(participant.link)  # shown this once: only its fingerprint is kept
        view = ReceiptView(participant=participant, link=link, qr=qr_svg(link))
        return await self.render(request, view, record=record, page=f"/p/{participant.link}")

    async def _not_open(self, request: web.Request, exc: NotOpen) -> web.Response:
        """The study was paused or closed: the services refused what a phone asked (issue 18)."""
        return await self.plain(request, 409, STUDY_REFUSALS.get(exc.status, STUDY_REFUSALS["paused"]))

    def _posted_language(self, form: Any, request: web.Request, record: StudyRecord) -> str:
        """The language the form was shown in (as recorded in the consent event)."""
        posted = form.get("lang")
        if isinstance(posted, str) and posted in record.languages:
            request[POSTED_LANG] = posted
        return self._language(request, record)[0]

    # -- the participant's own page ---------------------------------------------------------
