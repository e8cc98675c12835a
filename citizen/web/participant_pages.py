"""A participant's own page: contributing, correcting, consent choices and proposals."""

from __future__ import annotations

from typing import Any, Optional

from aiohttp import web
from markupsafe import Markup

from ..domain.models import (
    ConsentMethod,
    ContributionSource,
    FormField,
    Participant,
    ProtocolVersion,
    pick,
)
from ..domain.models import Study as StudyRecord
from ..domain.rules import ConsentState, consent_changes
from ..services import (
    NotFound,
    NotOpen,
    Refused,
    change_consent,
    correct_contribution,
    propose_change,
)
from ..services.bulk import NewContribution
from . import leaving, reach_pages, reply_pages
from .forms import ConsentItemView, FieldView, consent_views, display_value, field_views, posted_answers, posted_values
from .messages import ANSWER_SHOWN, DONE, REVIEW_STATES, SHOWN_CONTRIBUTIONS
from .views import ContributionView, CorrectView, ParticipantView, ProposalDraft


class ParticipantPages:
    """Handlers of the enrolment server (mixed into ``EnrolmentServer``)."""

    def _participant_data(self, token: str, whole: bool = True) -> Optional[dict[str, Any]]:
        """What a participant's page shows; not ``whole``: only what a post is checked and made with."""
        participant = self._participant(token)
        if participant is None:
            return None
        repo = self.study.repo
        state = repo.consent_state(participant.id)
        data = {"record": self._record(), "participant": participant, "link": token, "state": state}
        data["current"] = repo.current_protocol()
        if not whole:
            return data
        contributions = sorted(
            (c for c in repo.contributions_of(participant.id) if not c.removed), key=lambda c: c.submitted_at, reverse=True
        )
        data.update(
            contact=repo.contact(participant.id),
            contributions=contributions,
            versions={v.number: v for v in repo.protocol_versions()},
            updates=repo.updates(),
            signed=self._consent_document(state.document_version),
        )
        return data

    async def _load(self, request: web.Request, whole: bool = True) -> tuple[Optional[dict[str, Any]], Optional[web.Response]]:
        data = await self._read(self._participant_data, request.match_info["token"], whole, quick=True)
        if data is None:
            return None, await self.plain(request, 404)
        return data, None

    async def participant_page(self, request: web.Request) -> web.Response:
        data, refusal = await self._load(request)
        if refusal is not None:
            return refusal
        key = request.query.get("done", "")
        done = DONE.get(key, "") if (key == "withdrawn") == data["state"].withdrawn else ""
        return await self._render_participant(request, data, notice=done)

    async def _render_participant(
        self,
        request: web.Request,
        data: dict[str, Any],
        status: int = 200,
        *,
        notice: str = "",
        problem: str = "",
        section: str = "",
        values: Any = None,
        errors: Any = None,
        answers: Any = None,
        reach: Optional[str] = None,
        reply_to: Optional[tuple[str, str]] = None,
        reply_text: str = "",
    ) -> web.Response:
        if data["state"].withdrawn:  # their page says what was done, and offers nothing more
            return await leaving.render_left(self, request, data, notice=notice, problem=problem, status=status)
        record: StudyRecord = data["record"]
        lang, _ = self._language(request, record)
        gettext = await self._texts(lang)
        participant: Participant = data["participant"]
        state: ConsentState = data["state"]
        current: Optional[ProtocolVersion] = data["current"]
        token = data["link"]
        errors = errors or {}
        reconsent = current is not None and state.needs_reconsent(current.consent)
        can_contribute = current is not None and state.covers(current.consent)
        everything = data["contributions"]
        start = self._offset(request, len(everything))
        shown = everything[start : start + SHOWN_CONTRIBUTIONS]
        earlier = len(everything) - start - len(shown)
        typed = reach if reach is not None else reach_pages.current_reach(data["contact"])
        # What only some states of the page show (the empty values show nothing).
        fields: list[FieldView] = []
        blank_form: Optional[Markup] = None
        optional: list[ConsentItemView] = []
        items: list[ConsentItemView] = []
        consent_text = ""
        changes: dict[str, list[str]] = {}
        if current is not None and can_contribute and section == "contribute":
            fields = field_views(current.fields, lang, gettext, values, errors)
        elif current is not None and can_contribute:  # no answer given yet: the form made once per language
            blank_form = await self.blank_form(lang, current)
        if current is not None and can_contribute:
            optional = consent_views(
                current.consent,
                lang,
                answers if section == "consent" else {i: i in state.granted for i in current.consent.item_ids},
                errors if section == "consent" else None,
                only_optional=True,
            )
        if current is not None and reconsent:
            items = consent_views(
                current.consent, lang, answers if section == "consent" else None, errors if section == "consent" else None
            )
            consent_text = pick(current.consent.text, lang)
            signed = data["signed"]
            changes = consent_changes(signed, current.consent, lang) if signed is not None else {}
        view = ParticipantView(
            token=token,
            participant=participant,
            reconsent=reconsent,
            can_contribute=can_contribute,
            contributions=[self._contribution_view(c, data["versions"], lang, gettext) for c in shown],
            start=start,
            earlier=earlier,
            older=start + SHOWN_CONTRIBUTIONS if earlier else None,
            newer=max(0, start - SHOWN_CONTRIBUTIONS) if start else None,
            updates=[(u.title_in(lang), pick(u.body, lang), u.posted_at) for u in data["updates"]],
            reach=reach_pages.reach_view(
                current, gettext, value=typed, error=errors.get("reach", "") if section == "consent" else ""
            ),
            reach_section=reach_pages.reach_section(data),
            notice=notice,
            problem=problem,
            section=section,
            errors=errors,
            proposal=ProposalDraft(**values) if section == "propose" else ProposalDraft(),
            reply_to=reply_to,
            reply_text=reply_text,
            fields=fields,
            blank_form=blank_form,
            optional=optional,
            items=items,
            consent_text=consent_text,
            changes=changes,
        )
        return await self.render(request, view, status, record=record, page=f"/p/{token}", bound_to="p:" + token)

    @staticmethod
    def _offset(request: web.Request, count: int) -> int:
        """Which of their contributions the page starts at (``?from=N``, newest first)."""
        raw = request.query.get("from", "0")
        offset = int(raw) if raw.isdigit() and len(raw) < 9 else 0
        return offset if offset < count else 0

    def _contribution_view(self, c: Any, versions: dict[int, ProtocolVersion], lang: str, gettext) -> ContributionView:
        version = versions.get(c.protocol_version)
        fields: dict[str, FormField] = {f.key: f for f in version.fields} if version else {}
        answers = [
            (fields[k].text(lang) if k in fields else k, display_value(fields.get(k), v, lang, gettext))
            for k, v in c.values.items()
        ]
        answers = [(label, value if len(value) <= ANSWER_SHOWN else value[:ANSWER_SHOWN] + "…") for label, value in answers]
        return ContributionView(
            id=c.id,
            at=c.submitted_at,
            answers=answers,
            revised=c.revised,
            state=REVIEW_STATES.get(c.review_state, c.review_state.value),
            conversation=reply_pages.conversation(c),
        )

    async def _checked_post(
        self, request: web.Request, whole: bool = True
    ) -> tuple[Any, Optional[dict[str, Any]], Optional[web.Response]]:
        """Read a participant's post: their page must exist and the form token must be theirs and fresh."""
        form = await self._form(request)
        data, refusal = await self._load(request, whole)
        if refusal is not None:
            return form, None, refusal
        self._posted_language(form, request, data["record"])
        if not self.tokens.spend(form.get("csrf"), "p:" + data["link"]):
            return form, None, await self.plain(request, 403)
        return form, data, None

    async def _after(self, request: web.Request, key: str) -> web.Response:
        response = web.Response(status=303)
        response.headers["Location"] = f"/p/{request.match_info['token']}?done={key}"
        return response

    async def contribute(self, request: web.Request) -> web.Response:
        # Checked with the participant, their consent and the form alone: their earlier
        # contributions are read only if the page has to be shown again.
        form, data, refusal = await self._checked_post(request, whole=False)
        if refusal is not None:
            return refusal
        current: Optional[ProtocolVersion] = data["current"]
        if current is None:
            return await self.plain(request, 503)
        values = posted_values(current.fields, form)
        participant: Participant = data["participant"]
        try:
            # Stored with the contributions other phones send at the same moment (writer.py).
            await self.writer.add(NewContribution(participant.id, values, ContributionSource.phone, participant.code))
        except NotFound:
            return await self.plain(request, 404)
        except NotOpen as exc:
            return await self._not_open(request, exc)
        except Refused as exc:
            data, refusal = await self._load(request)
            if refusal is not None:
                return refusal
            return await self._render_participant(
                request,
                data,
                422,
                section="contribute" if exc.errors else "",
                values=values,
                errors=exc.errors,
                problem="" if exc.errors else str(exc),
            )
        return await self._after(request, "contributed")

    # -- correcting one contribution --------------------------------------------------------
    def _own_contribution(self, data: dict[str, Any], cid: str):
        for c in data["contributions"]:
            if c.id == cid:
                return c
        return None

    async def correct_page(self, request: web.Request) -> web.Response:
        data, refusal = await self._load(request)
        if refusal is not None:
            return refusal
        if data["state"].withdrawn:  # nothing is corrected after leaving: their page says what was done
            return leaving.to_page(request)
        contribution = self._own_contribution(data, request.match_info["cid"])
        if contribution is None:
            return await self.plain(request, 404)
        return await self._render_correct(request, data, contribution, contribution.values)

    async def _render_correct(
        self,
        request: web.Request,
        data: dict[str, Any],
        contribution: Any,
        values: Any,
        status: int = 200,
        errors: Any = None,
        problem: str = "",
    ) -> web.Response:
        record = data["record"]
        lang, _ = self._language(request, record)
        version = data["versions"][contribution.protocol_version]
        token = data["link"]
        view = CorrectView(
            token=token, fields=field_views(version.fields, lang, await self._texts(lang), values, errors), problem=problem
        )
        return await self.render(
            request, view, status, record=record, page=f"/p/{token}/c/{contribution.id}", bound_to="p:" + token
        )

    async def correct(self, request: web.Request) -> web.Response:
        form, data, refusal = await self._checked_post(request)
        if refusal is not None:
            return refusal
        contribution = self._own_contribution(data, request.match_info["cid"])
        if contribution is None:
            return await self.plain(request, 404)
        version = data["versions"][contribution.protocol_version]
        values = posted_values(version.fields, form)
        participant: Participant = data["participant"]
        try:
            await self._call(correct_contribution, participant.id, contribution.id, values, participant.code)
        except NotFound:
            return await self.plain(request, 404)
        except NotOpen as exc:
            return await self._not_open(request, exc)
        except Refused as exc:
            return await self._render_correct(
                request, data, contribution, values, 422, exc.errors, "" if exc.errors else str(exc)
            )
        return await self._after(request, "corrected")

    # -- consent, withdrawal, proposals --------------------------------------------------------
    async def consent(self, request: web.Request) -> web.Response:
        form, data, refusal = await self._checked_post(request)
        if refusal is not None:
            return refusal
        current: Optional[ProtocolVersion] = data["current"]
        state: ConsentState = data["state"]
        if current is None:
            return await self.plain(request, 503)
        answers = posted_answers(current.consent, form)
        if not state.needs_reconsent(current.consent):
            # Changing optional choices only: taking part is left as it is (leaving is "withdraw").
            for item_id in current.consent.required_ids:
                answers[item_id] = item_id in state.granted or answers[item_id]
        lang = self._posted_language(form, request, data["record"])
        participant: Participant = data["participant"]
        reach = reach_pages.posted_reach(form)
        try:
            await self._call(
                change_consent, participant.id, answers, ConsentMethod.phone, participant.code, language=lang, reach=reach
            )
        except NotFound:
            return await self.plain(request, 404)
        except Refused as exc:
            # A refused way to reach them is said beside its box, in the page's language.
            return await self._render_participant(
                request,
                data,
                422,
                section="consent",
                answers=answers,
                errors=exc.errors,
                reach=reach,
                problem=str(exc) if set(exc.errors) - {"reach"} else "",
            )
        return await self._after(request, "consent")

    async def propose(self, request: web.Request) -> web.Response:
        form, data, refusal = await self._checked_post(request)
        if refusal is not None:
            return refusal
        participant: Participant = data["participant"]
        if data["state"].withdrawn:
            return await self._render_participant(request, data, 409)
        title = form.get("title") if isinstance(form.get("title"), str) else ""
        rationale = form.get("rationale") if isinstance(form.get("rationale"), str) else ""
        values = {"title": title, "rationale": rationale}
        try:
            await self._call(
                propose_change,
                title,
                rationale,
                f"participant {participant.code}",
                participant_id=participant.id,
                from_phone=True,
            )
        except NotOpen as exc:
            return await self._not_open(request, exc)
        except Refused as exc:
            errors = {k: v for k, v in exc.errors.items() if k in values} or {"rationale": str(exc)}
            return await self._render_participant(request, data, 422, section="propose", values=values, errors=errors)
        return await self._after(request, "proposed")
