"""The enrolment server: phones join a study from a QR code and use their own private page.

It runs inside whatever asyncio loop is running (the terminal app's, or ``citizen serve``'s).
Every read and every change goes through the services in a worker thread, so a write's fsync
never freezes the loop; the terminal app hears of changes through ``study.on_change``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Optional, TypeVar

import qrcode
import qrcode.image.svg
from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..domain.models import (
    ConsentDocument,
    ConsentMethod,
    ContributionSource,
    FormField,
    Invite,
    Participant,
    ProtocolVersion,
    ReviewState,
    pick,
    utcnow,
)
from ..domain.models import Study as StudyRecord
from ..domain.rules import ConsentState, consent_changes
from ..services import (
    NotFound,
    NotOpen,
    Refused,
    ServiceError,
    Study,
    add_contribution,
    change_consent,
    correct_contribution,
    enrol_participant,
    propose_change,
)
from . import address, leaving, reach_pages
from .address import join_link, private_link
from .forms import consent_views, display_value, field_views, posted_answers, posted_values
from .i18n import COOKIE, N_, StudyWords, choose_language, direction, native_name, said_filter
from .security import (
    FORM_TYPES,
    HEADERS,
    MAX_BODY,
    Allowances,
    FormTokens,
    RateLimits,
    cross_site,
    local_host,
    origin_matches,
)
from .wire import SERVER, ConnectionLimits, Connections

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
    403: (N_("This form cannot be sent"), N_("The form was already sent, or it came from another site. "
                                            "Please go back, reload the page and try again.")),
    404: (N_("Page not found"), N_("This link is not known. Please check it, or ask the study team for a new one.")),
    405: (N_("This page cannot do that"), N_("Please use the buttons on the page.")),
    409: (N_("This study is not taking anything new"), N_("Please ask the study team.")),
    410: (N_("This invitation cannot be used"), N_("Please ask the study team for a new one.")),
    421: (N_("This request could not be read"), N_("Please open the link the study team gave you.")),
    413: (N_("Too much was sent"), N_("Please shorten your answers and send them again.")),
    415: (N_("This request could not be read"), N_("Please use the form on the page.")),
    429: (N_("Too many requests"), N_("Please wait a minute, then try again.")),
    500: (N_("Something went wrong"), N_("Your last step may not have been saved. Please try again, "
                                         "or tell the study team.")),
    503: (N_("Not open yet"), N_("This study cannot take part over the phone right now. Please ask the study team.")),
}
INVITE_REFUSALS = {
    "closed": N_("This invitation has been closed by the study team."),
    "expired": N_("This invitation has expired."),
    "used": N_("This invitation has been used as many times as the team allowed."),
}

# What a phone is told when the study is not open to volunteers (StudyRecord.open_to_volunteers).
STUDY_REFUSALS = {
    "paused": N_("This study is paused: it is not taking anything new for now. Please try again later."),
    "closed": N_("This study has finished and no longer takes anything new. Thank you for your interest."),
}


def _refusal_kind(invite: Invite, now: datetime) -> Optional[str]:
    reason = invite.refusal(now)
    if reason is None:
        return None
    return "closed" if invite.closed else "expired" if "expired" in reason else "used"


def qr_svg(link: str) -> Markup:
    """The link as an inline SVG QR code (made here from our own link only)."""
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    svg = image.to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):]
    return Markup(svg)


class EnrolmentServer:
    """The phone pages of one study, served on the local network."""

    def __init__(self, study: Study, host: Optional[str] = None, port: int = 8080, *, log_dir: Optional[Path] = None,
                 limits: Optional[RateLimits] = None, connections: Optional[ConnectionLimits] = None):
        self.study = study
        self.host = host or address.local_address()  # every interface (VPN, tethering) only when asked: 0.0.0.0
        self.port = port
        self.log_dir = log_dir if log_dir is not None else study.store.folder.parent.parent / "logs"
        self.limits = limits or RateLimits()
        self.base_url = ""
        self.tokens = FormTokens()
        self._runner: Optional[web.AppRunner] = None
        self._listener: Optional[asyncio.AbstractServer] = None
        self.connections = Connections(connections or ConnectionLimits(), self._error_html)
        self._log_handler: Optional[logging.Handler] = None
        self._envs: dict[tuple[str, int], Environment] = {}
        self._study_cache: Optional[tuple[Any, StudyRecord]] = None
        self._allowances = Allowances(self.limits)

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Bind and serve; a port in use or a wrong address is a ServiceError in plain words."""
        if self._runner is not None:
            return
        await self._warm()
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        self._routes(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        assert runner.server is not None
        try:  # each connection is a GuardedHandler (see wire.py): clocks, a cap, plain error pages
            self._listener = await asyncio.get_running_loop().create_server(
                self.connections.factory(runner.server, access_log=None), self.host, self.port, backlog=256)
        except (OSError, socket.gaierror) as exc:
            await runner.cleanup()
            raise ServiceError(self._bind_problem(exc)) from None
        self._runner = runner
        port = self._listener.sockets[0].getsockname()[1] if self._listener.sockets else self.port
        self.base_url = address.base_url(self.host, port)
        self._start_log()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if runner is not None:
            await runner.cleanup()
        if self._log_handler is not None:
            log.removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    async def _warm(self) -> None:
        """Ready before the first phone: templates compiled, indexes and the protocol read.

        Phones arrive together after a briefing; the first of them must not wait for what every
        request needs (and the others queue behind it).
        """
        record = await self._read(self._read_once)
        for lang in dict.fromkeys([*record.languages, "en"]):
            env = await self._env(lang)
            for name in env.list_templates(extensions=["html"]):
                env.get_template(name)

    def _read_once(self) -> StudyRecord:
        """What every request reads: the study, its protocol, and the indexes it looks people up by."""
        record = self._record()
        self.study.repo.current_protocol()
        self.study.repo.protocol_versions()
        self._participant("")
        self.study.repo.invite_by_token("")
        self.study.repo.consent_state("")
        self.study.repo.contributions_of("")
        return record

    def join_url(self, invite_token: str) -> str:
        return join_link(self.base_url, invite_token)

    def private_url(self, participant_token: str) -> str:
        return private_link(self.base_url, participant_token)

    def _bind_problem(self, exc: Exception) -> str:
        code = getattr(exc, "errno", None)
        if code == errno.EADDRINUSE:
            return (f"Port {self.port} is already in use on this laptop (is citizen already serving?). "
                    f"Choose another port, for example {self.port + 1 if self.port else 8081}.")
        if code == errno.EACCES:
            return f"Port {self.port} needs administrator rights; choose a port above 1023, such as 8080."
        return (f"'{self.host}' is not an address of this laptop. Use 0.0.0.0 to serve on every network, "
                "or one of this laptop's own addresses.")

    def _start_log(self) -> None:
        try:  # for the laptop's user alone: it may name a route and an error, never a link or an answer
            self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.log_dir, 0o700)
            path = self.log_dir / "web.log"
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            os.chmod(path, 0o600)
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            handler = logging.NullHandler()  # no log file: pages still never show the details
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        self._log_handler = handler

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/static/citizen.css", self.css)
        app.router.add_get("/", self.home)
        app.router.add_get(f"/j/{{invite:{TOKEN}}}", self.join_page)
        app.router.add_post(f"/j/{{invite:{TOKEN}}}", self.join)
        app.router.add_get(f"/p/{{token:{TOKEN}}}", self.participant_page)
        app.router.add_post(f"/p/{{token:{TOKEN}}}/contribute", self.contribute)
        app.router.add_get(f"/p/{{token:{TOKEN}}}/c/{{cid:{UUID}}}", self.correct_page)
        app.router.add_post(f"/p/{{token:{TOKEN}}}/c/{{cid:{UUID}}}", self.correct)
        app.router.add_post(f"/p/{{token:{TOKEN}}}/consent", self.consent)
        app.router.add_get(f"/p/{{token:{TOKEN}}}/leave", partial(leaving.leave_page, self))
        app.router.add_post(f"/p/{{token:{TOKEN}}}/withdraw", partial(leaving.confirm, self))
        app.router.add_get(f"/p/{{token:{TOKEN}}}/contact", partial(reach_pages.contact_page, self))
        app.router.add_post(f"/p/{{token:{TOKEN}}}/contact", partial(reach_pages.contact, self))
        app.router.add_post(f"/p/{{token:{TOKEN}}}/propose", self.propose)

    # -- the guard every request passes ----------------------------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        Connections.request_started(request)
        try:
            refusal = self._refuse(request)
            if refusal:
                response: web.StreamResponse = await self.plain(request, refusal)
            else:
                response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = await self.plain(request, exc.status if exc.status in PLAIN else 400)
            if exc.status == 405:
                response.headers["Allow"] = exc.headers.get("Allow", "GET")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("error on %s %s", request.method, self._route(request))
            response = await self.plain(request, 500)
        finally:
            Connections.request_ended(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Server"] = SERVER
        if response.status == 408:
            response.force_close()  # the rest of its body is not waited for
        if response.status == 429:
            response.headers["Retry-After"] = str(request.get(RETRY_AFTER, 60))
        if request.path != "/static/citizen.css":
            response.headers["Cache-Control"] = "no-store"
        return response

    def _refuse(self, request: web.Request) -> Optional[int]:
        """What costs nothing comes first; then the allowances, narrowest first (see RateLimits)."""
        if not local_host(request.headers.get("Host")):
            return 421
        if request.method not in ("GET", "HEAD", "POST"):
            return 405
        headers = request.headers
        if cross_site(request.method, headers.get("Sec-Fetch-Site"), headers.get("Sec-Fetch-Mode"),
                      headers.get("Sec-Fetch-Dest")):
            return 403
        wait = self._allowances.wait(request.remote or "?", request.method, self._page_key(request))
        if wait:
            request[RETRY_AFTER] = wait
            return 429
        if request.method == "POST":
            if not origin_matches(headers.get("Origin"), request.scheme, request.host, headers.get("Sec-Fetch-Site")):
                return 403
            if request.content_length is not None and request.content_length > MAX_BODY:
                return 413
            if request.content_type not in FORM_TYPES:
                return 415
        return None

    @staticmethod
    def _page_key(request: web.Request) -> Optional[str]:
        """What a request is about: the style sheet, one invite, one private page, or nothing known."""
        if request.path == "/static/citizen.css":
            return "static"
        info = request.match_info
        if "invite" in info:
            return "j:" + info["invite"]
        if "token" in info:
            return "p:" + info["token"]
        return None

    @staticmethod
    def _route(request: web.Request) -> str:
        """The route a request took (/p/{token}/propose): a log never holds a link's token."""
        resource = request.match_info.route.resource
        return resource.canonical if resource is not None else "(no route)"

    async def _form(self, request: web.Request):
        try:
            return await asyncio.wait_for(request.post(), self.connections.limits.body_timeout)
        except asyncio.TimeoutError:
            self.connections.note("timed out", "a form's body came too slowly; the connection was closed")
            raise web.HTTPRequestTimeout() from None
        except web.HTTPRequestEntityTooLarge:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=MAX_BODY + 1) from None
        except (ValueError, UnicodeDecodeError, LookupError):  # LookupError: a charset no codec knows
            raise web.HTTPBadRequest() from None

    # -- reading the study, off the loop ----------------------------------------------------
    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        def locked() -> T:
            with self.study.store.lock:  # one consistent view, never half a change
                return fn(*args)

        return await asyncio.to_thread(locked)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(partial(fn, self.study, *args, **kwargs))

    def _record(self) -> StudyRecord:
        doc = self.study.repo.study_doc()
        if self._study_cache is None or self._study_cache[0] is not doc:
            self._study_cache = (doc, self.study.repo.study())
        return self._study_cache[1]

    def _participant(self, token: str) -> Optional[Participant]:
        return self.study.repo.participant_by_link(token)

    def _consent_document(self, version: Optional[int]) -> Optional[ConsentDocument]:
        for v in reversed(self.study.repo.protocol_versions()):
            if v.consent.version == version:
                return v.consent
        return None

    # -- rendering ---------------------------------------------------------------------------
    def _page_words(self, lang: str) -> tuple[int, StudyWords]:
        """The pages' words in a language, with the current protocol's own translation laid over the catalogue."""
        current = self.study.repo.current_protocol()
        number = current.number if current is not None else 0
        env = self._envs.get((lang, number))
        if env is not None:
            return number, env.globals["words"]
        return number, StudyWords(lang, current.page_words.get(lang, {}) if current is not None else {})

    async def _words(self, lang: str) -> StudyWords:
        return (await self._env(lang)).globals["words"]

    async def _texts(self, lang: str):
        return (await self._words(lang)).gettext

    async def _env(self, lang: str) -> Environment:
        number, words = await self._read(self._page_words, lang)
        env = self._envs.get((lang, number))
        if env is None:
            if len(self._envs) > 64:
                self._envs.clear()
            env = self._envs[(lang, number)] = self._make_env(words)
        return env

    @staticmethod
    def _make_env(words: StudyWords) -> Environment:
        env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(
            default=True, default_for_string=True), extensions=["jinja2.ext.i18n"], trim_blocks=True,
            lstrip_blocks=True)
        env.install_gettext_translations(words, newstyle=True)  # type: ignore[attr-defined]
        env.globals["words"] = words
        env.filters["said"] = said_filter(words)
        return env

    def _language(self, request: web.Request, record: Optional[StudyRecord]) -> tuple[str, bool]:
        languages = record.languages if record is not None else ["en"]
        if request.get(POSTED_LANG) in languages:  # a form answers in the language it was shown in
            return request[POSTED_LANG], True
        return choose_language(languages, request.query.get("lang"), request.cookies,
                               request.headers.get("Accept-Language", ""))

    async def render(self, request: web.Request, template: str, status: int = 200, *, record: Optional[StudyRecord],
                     page: str = "", bound_to: str = "", **context: Any) -> web.Response:
        lang, asked = self._language(request, record)
        languages = record.languages if record is not None else []
        joint = "&" if "?" in page else "?"
        switch = [(code, native_name(code), f"{page}{joint}lang={code}") for code in languages] if len(languages) > 1 else []
        html = (await self._env(lang)).get_template(template).render(
            lang=lang, dir=direction(lang), study=record, switch=switch, page=page,
            csrf=(lambda: self.tokens.issue(bound_to)), **context,
        )
        response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
        if asked:
            response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, path="/", httponly=True, samesite="Strict")
        return response

    async def plain(self, request: web.Request, status: int, message: str = "") -> web.Response:
        """A plain page for a refusal or an error: its title, a sentence, the right status code."""
        record = None
        if status != 421:  # a request under another site's name learns nothing, not even the study's name
            try:
                record = await self._read(self._record)
            except Exception:
                record = None
        title, text = PLAIN.get(status, PLAIN[400])
        gettext = await self._texts(self._language(request, record)[0])
        # Translated here, not in the template: a message may come from the services as it is.
        return await self.render(request, "plain.html", status, record=record, heading=gettext(title),
                                 message=message or text)

    def _error_html(self, status: int) -> str:
        """The plain page for a connection whose request could not be read at all (in English, no study name)."""
        title, text = PLAIN.get(status, PLAIN[400])
        env = self._envs.get(("en", -1)) or self._envs.setdefault(("en", -1), self._make_env(StudyWords("en", {})))
        return env.get_template("plain.html").render(
            lang="en", dir="ltr", study=None, switch=[], page="", csrf=lambda: "", heading=title, message=text)

    # -- static and home ---------------------------------------------------------------------
    async def css(self, request: web.Request) -> web.Response:
        response = web.Response(body=(HERE / "static" / "citizen.css").read_bytes(), content_type="text/css",
                                charset="utf-8")
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    async def home(self, request: web.Request) -> web.Response:
        return await self.plain(request, 404)

    # -- joining ----------------------------------------------------------------------------
    def _join_data(self, token: str) -> tuple[StudyRecord, Optional[ProtocolVersion], Optional[Invite]]:
        return self._record(), self.study.repo.current_protocol(), self.study.repo.invite_by_token(token)

    async def _open_invite(self, request: web.Request, token: str):
        record, current, invite = await self._read(self._join_data, token)
        if invite is None:
            return None, await self.plain(request, 404, N_("This invitation link is not known. "
                                                          "Please ask the study team for a new one."))
        kind = _refusal_kind(invite, utcnow())
        if kind:
            return None, await self.plain(request, 410, INVITE_REFUSALS[kind])
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

    async def _render_join(self, request: web.Request, token: str, record: StudyRecord, current: ProtocolVersion,
                           status: int = 200, answers: Any = None, errors: Any = None, reach: str = "") -> web.Response:
        lang, _ = self._language(request, record)
        items = consent_views(current.consent, lang, answers, errors)
        box = reach_pages.reach_view(current, await self._texts(lang), value=reach, error=(errors or {}).get("reach", ""))
        return await self.render(request, "join.html", status, record=record, page=f"/j/{token}",
                                 bound_to="j:" + token, action=f"/j/{token}", consent_text=pick(current.consent.text, lang),
                                 items=items, reach=box, errors=errors or {}, summary=pick(record.summary, lang),
                                 aim=record.aim(lang))

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
            participant = await self._call(enrol_participant, answers, ConsentMethod.phone, "phone",
                                           language=lang, invite_token=token, reach=reach)
        except NotFound:
            return await self.plain(request, 404)
        except NotOpen as exc:
            return await self._not_open(request, exc)
        except Refused as exc:
            if not exc.errors:
                return await self.plain(request, 410, str(exc))
            return await self._render_join(request, token, record, current, 422, answers, exc.errors, reach or "")
        link = self.private_url(participant.link)  # shown this once: only its fingerprint is kept
        return await self.render(request, "receipt.html", record=record, page=f"/p/{participant.link}",
                                 participant=participant, link=link, qr=qr_svg(link))

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
    def _participant_data(self, token: str) -> Optional[dict[str, Any]]:
        participant = self._participant(token)
        if participant is None:
            return None
        repo = self.study.repo
        state = repo.consent_state(participant.id)
        current = repo.current_protocol()
        contributions = sorted((c for c in repo.contributions_of(participant.id) if not c.removed),
                               key=lambda c: c.submitted_at, reverse=True)
        versions = {v.number: v for v in repo.protocol_versions()}
        return {"record": self._record(), "participant": participant, "link": token, "state": state, "current": current,
                "contact": repo.contact(participant.id),
                "contributions": contributions, "versions": versions, "updates": repo.updates(),
                "signed": self._consent_document(state.document_version)}

    async def _load(self, request: web.Request) -> tuple[Optional[dict[str, Any]], Optional[web.Response]]:
        data = await self._read(self._participant_data, request.match_info["token"])
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

    async def _render_participant(self, request: web.Request, data: dict[str, Any], status: int = 200, *,
                                  notice: str = "", problem: str = "", section: str = "", values: Any = None,
                                  errors: Any = None, answers: Any = None, reach: Optional[str] = None) -> web.Response:
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
        context: dict[str, Any] = {
            "participant": participant, "state": state, "reconsent": reconsent,
            "can_contribute": can_contribute, "notice": notice, "problem": problem, "section": section,
            "errors": errors, "token": token, "proposal": values if section == "propose" else {},
            "updates": [(u.title_in(lang), pick(u.body, lang), u.posted_at) for u in data["updates"]],
        }
        everything = data["contributions"]
        start = self._offset(request, len(everything))
        shown = everything[start:start + SHOWN_CONTRIBUTIONS]
        context["earlier"] = len(everything) - start - len(shown)
        context["older"] = start + SHOWN_CONTRIBUTIONS if context["earlier"] else None
        context["newer"] = max(0, start - SHOWN_CONTRIBUTIONS) if start else None
        context["contributions"] = [self._contribution_view(c, data["versions"], lang, gettext) for c in shown]
        typed = reach if reach is not None else reach_pages.current_reach(data["contact"])
        context["reach"] = reach_pages.reach_view(current, gettext, value=typed,
                                                  error=errors.get("reach", "") if section == "consent" else "")
        context["reach_section"] = reach_pages.reach_section(data)
        if current is not None and can_contribute:
            context["fields"] = field_views(current.fields, lang, gettext, values if section == "contribute" else None,
                                            errors if section == "contribute" else None)
            context["optional"] = consent_views(
                current.consent, lang,
                answers if section == "consent" else {i: i in state.granted for i in current.consent.item_ids},
                errors if section == "consent" else None, only_optional=True)
        if current is not None and reconsent:
            context["items"] = consent_views(current.consent, lang, answers if section == "consent" else None,
                                             errors if section == "consent" else None)
            context["consent_text"] = pick(current.consent.text, lang)
            signed = data["signed"]
            context["changes"] = consent_changes(signed, current.consent, lang) if signed is not None else {}
        return await self.render(request, "participant.html", status, record=record, page=f"/p/{token}",
                                 bound_to="p:" + token, **context)

    @staticmethod
    def _offset(request: web.Request, count: int) -> int:
        """Which of their contributions the page starts at (``?from=N``, newest first)."""
        raw = request.query.get("from", "0")
        offset = int(raw) if raw.isdigit() and len(raw) < 9 else 0
        return offset if offset < count else 0

    def _contribution_view(self, c: Any, versions: dict[int, ProtocolVersion], lang: str, gettext) -> dict[str, Any]:
        version = versions.get(c.protocol_version)
        fields: dict[str, FormField] = {f.key: f for f in version.fields} if version else {}
        answers = [(fields[k].text(lang) if k in fields else k, display_value(fields.get(k), v, lang, gettext))
                   for k, v in c.values.items()]
        answers = [(label, value if len(value) <= ANSWER_SHOWN else value[:ANSWER_SHOWN] + "…")
                   for label, value in answers]
        return {"id": c.id, "at": c.submitted_at, "answers": answers, "revised": c.revised,
                "state": REVIEW_STATES.get(c.review_state, c.review_state.value),
                "feedback": [f.text for f in c.feedback]}

    async def _checked_post(self, request: web.Request) -> tuple[Any, Optional[dict[str, Any]], Optional[web.Response]]:
        """Read a participant's post: their page must exist and the form token must be theirs and fresh."""
        form = await self._form(request)
        data, refusal = await self._load(request)
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
        form, data, refusal = await self._checked_post(request)
        if refusal is not None:
            return refusal
        current: Optional[ProtocolVersion] = data["current"]
        if current is None:
            return await self.plain(request, 503)
        values = posted_values(current.fields, form)
        participant: Participant = data["participant"]
        try:
            await self._call(add_contribution, participant.id, values, ContributionSource.phone, participant.code)
        except NotFound:
            return await self.plain(request, 404)
        except NotOpen as exc:
            return await self._not_open(request, exc)
        except Refused as exc:
            return await self._render_participant(request, data, 422, section="contribute" if exc.errors else "",
                                                  values=values,
                                                  errors=exc.errors, problem="" if exc.errors else str(exc))
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

    async def _render_correct(self, request: web.Request, data: dict[str, Any], contribution: Any, values: Any,
                              status: int = 200, errors: Any = None, problem: str = "") -> web.Response:
        record = data["record"]
        lang, _ = self._language(request, record)
        version = data["versions"][contribution.protocol_version]
        token = data["link"]
        return await self.render(request, "correct.html", status, record=record, page=f"/p/{token}/c/{contribution.id}",
                                 bound_to="p:" + token, token=token, contribution=contribution, problem=problem,
                                 errors=errors or {},
                                 fields=field_views(version.fields, lang, await self._texts(lang), values, errors))

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
            return await self._render_correct(request, data, contribution, values, 422, exc.errors,
                                              "" if exc.errors else str(exc))
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
            await self._call(change_consent, participant.id, answers, ConsentMethod.phone, participant.code,
                             language=lang, reach=reach)
        except NotFound:
            return await self.plain(request, 404)
        except Refused as exc:
            # A refused way to reach them is said beside its box, in the page's language.
            return await self._render_participant(request, data, 422, section="consent", answers=answers,
                                                  errors=exc.errors, reach=reach,
                                                  problem=str(exc) if set(exc.errors) - {"reach"} else "")
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
            await self._call(propose_change, title, rationale, f"participant {participant.code}",
                             participant_id=participant.id, from_phone=True)
        except NotOpen as exc:
            return await self._not_open(request, exc)
        except Refused as exc:
            errors = {k: v for k, v in exc.errors.items() if k in values} or {"rationale": str(exc)}
            return await self._render_participant(request, data, 422, section="propose", values=values,
                                                  errors=errors)
        return await self._after(request, "proposed")
