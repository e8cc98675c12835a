"""The enrolment server: phones join a study from a QR code and use their own private page.

It runs inside whatever asyncio loop is running (the terminal app's, or ``citizen serve``'s).
Every read and every change goes through the services in a worker thread, so a write's fsync
never freezes the loop; the terminal app hears of changes through ``study.on_change``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Optional

from aiohttp import web
from jinja2 import Environment
from markupsafe import Markup

from ..domain.models import (
    ConsentDocument,
    Participant,
    ProtocolVersion,
)
from ..domain.models import Study as StudyRecord
from ..services import (
    ServiceError,
    Study,
)
from ..services.contribution_index import settle_memory
from . import address, leaving, reach_pages, reply_pages
from .address import join_link, private_link
from .environment import page_environment
from .forms import field_views
from .i18n import COOKIE, StudyWords, choose_language, direction, native_name
from .join_pages import JoinPages
from .messages import HERE, PLAIN, POSTED_LANG, RETRY_AFTER, TOKEN, UUID, T, log
from .participant_pages import ParticipantPages
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
from .views import PageView, PlainView
from .wire import SERVER, ConnectionLimits, Connections
from .writer import ContributionWriter


class EnrolmentServer(JoinPages, ParticipantPages):
    """The phone pages of one study, served on the local network."""

    def __init__(
        self,
        study: Study,
        host: Optional[str] = None,
        port: int = 8080,
        *,
        log_dir: Optional[Path] = None,
        limits: Optional[RateLimits] = None,
        connections: Optional[ConnectionLimits] = None,
    ):
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
        self._protocol_number: Optional[int] = None  # of the protocol in force; None: read it again
        self._blank_forms: dict[tuple[str, int], Markup] = {}
        self._study_cache: Optional[tuple[Any, StudyRecord]] = None
        self._allowances = Allowances(self.limits)
        self.writer = ContributionWriter(study)  # phones' contributions, stored together (group commit)

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Bind and serve; a port in use or a wrong address is a ServiceError in plain words."""
        if self._runner is not None:
            return
        self.study.on_change(self._changed)
        await self._warm()
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        self._routes(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        assert runner.server is not None
        try:  # each connection is a GuardedHandler (see wire.py): clocks, a cap, plain error pages
            self._listener = await asyncio.get_running_loop().create_server(
                self.connections.factory(runner.server, access_log=None), self.host, self.port, backlog=256
            )
        except (OSError, socket.gaierror) as exc:
            await runner.cleanup()
            raise ServiceError(address.bind_problem(exc, self.host, self.port)) from None
        self._runner = runner
        port = self._listener.sockets[0].getsockname()[1] if self._listener.sockets else self.port
        self.base_url = address.base_url(self.host, port)
        self._start_log()

    async def stop(self) -> None:
        self.study.remove_listener(self._changed)
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if runner is not None:
            await runner.cleanup()
        await self.writer.finish()
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
        # What was read here lives as long as the server: out of the collector's full passes, the first
        # phones do not wait while one walks the indexes (50 ms of a first page at 100,000 here).
        settle_memory()

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
        app.router.add_post(f"/p/{{token:{TOKEN}}}/r/{{cid:{UUID}}}", partial(reply_pages.reply, self))

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
        if cross_site(
            request.method, headers.get("Sec-Fetch-Site"), headers.get("Sec-Fetch-Mode"), headers.get("Sec-Fetch-Dest")
        ):
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
    async def _read(self, fn: Callable[..., T], *args: Any, quick: bool = False) -> T:
        """``fn(*args)`` under the study's lock, in a thread: a change being written is waited for
        there, never on the loop. ``quick``: what one phone's page reads (its own records, found by
        their indexes), read at once on the loop when no change holds the lock: no trip to a thread."""
        lock = self.study.store.lock
        if quick and lock.acquire(blocking=False):
            try:
                return fn(*args)
            finally:
                lock.release()

        def locked() -> T:
            with lock:  # one consistent view, never half a change
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

    def _changed(self, ops: Any) -> None:
        if any(table == "protocol_versions" for table, _, _ in ops):
            self._protocol_number = None  # a version published: the pages' words are read again

    async def _env(self, lang: str) -> Environment:
        # Every page asks for its words two or three times: while the protocol in force is the
        # same, they are found without a trip to the store (where a write may hold the lock).
        number = self._protocol_number
        env = self._envs.get((lang, number)) if number is not None else None
        if env is not None:
            return env
        number, words = await self._read(self._page_words, lang, quick=True)
        self._protocol_number = number
        env = self._envs.get((lang, number))
        if env is None:
            if len(self._envs) > 64:
                self._envs.clear()
            env = self._envs[(lang, number)] = self._make_env(words)
        return env

    async def blank_form(self, lang: str, current: ProtocolVersion) -> Markup:
        """A version's questions with no answer given, in a language: rendered once, then reused
        (most of a participant's page, and the same for every phone)."""
        key = (lang, current.number)
        form = self._blank_forms.get(key)
        if form is None:
            env = await self._env(lang)
            fields = field_views(current.fields, lang, env.globals["words"].gettext, None, None)
            form = self._blank_forms[key] = Markup(env.get_template("form_fields.html").render(lang=lang, fields=fields))
        return form

    @staticmethod
    def _make_env(words: StudyWords) -> Environment:
        return page_environment(words)

    def _language(self, request: web.Request, record: Optional[StudyRecord]) -> tuple[str, bool]:
        languages = record.languages if record is not None else ["en"]
        if request.get(POSTED_LANG) in languages:  # a form answers in the language it was shown in
            return request[POSTED_LANG], True
        return choose_language(languages, request.query.get("lang"), request.cookies, request.headers.get("Accept-Language", ""))

    async def render(
        self,
        request: web.Request,
        view: PageView,
        status: int = 200,
        *,
        record: Optional[StudyRecord],
        page: str = "",
        bound_to: str = "",
    ) -> web.Response:
        """A page from its view model (views.py), with what every page shows: language, study, form token."""
        lang, asked = self._language(request, record)
        languages = record.languages if record is not None else []
        joint = "&" if "?" in page else "?"
        switch = [(code, native_name(code), f"{page}{joint}lang={code}") for code in languages] if len(languages) > 1 else []
        html = (
            (await self._env(lang))
            .get_template(view.template)
            .render(
                lang=lang,
                dir=direction(lang),
                study=record,
                switch=switch,
                page=page,
                csrf=(lambda: self.tokens.issue(bound_to)),
                **view.context(),
            )
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
                record = await self._read(self._record, quick=True)
            except Exception:
                record = None
        title, text = PLAIN.get(status, PLAIN[400])
        gettext = await self._texts(self._language(request, record)[0])
        # Translated here, not in the template: a message may come from the services as it is.
        return await self.render(request, PlainView(heading=gettext(title), message=message or text), status, record=record)

    def _error_html(self, status: int) -> str:
        """The plain page for a connection whose request could not be read at all (in English, no study name)."""
        title, text = PLAIN.get(status, PLAIN[400])
        env = self._envs.get(("en", -1)) or self._envs.setdefault(("en", -1), self._make_env(StudyWords("en", {})))
        view = PlainView(heading=title, message=text)
        return env.get_template(view.template).render(
            lang="en", dir="ltr", study=None, switch=[], page="", csrf=lambda: "", **view.context()
        )

    # -- static and home ---------------------------------------------------------------------
    async def css(self, request: web.Request) -> web.Response:
        response = web.Response(body=(HERE / "static" / "citizen.css").read_bytes(), content_type="text/css", charset="utf-8")
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    async def home(self, request: web.Request) -> web.Response:
        return await self.plain(request, 404)

    # -- joining ----------------------------------------------------------------------------
