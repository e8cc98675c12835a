"""The phone pages' connections: how many may be open, how long a client may take, and the plain
page for a request that cannot even be read as HTTP.

aiohttp answers a broken request (an over-long header line, a bad request line) itself, before
any middleware; here that answer is the same plain page, with the same headers, as every other
refusal. A client that sends its headers or its body too slowly is cut off, and past
``max_connections`` a new connection is answered at once and closed, so that slow or stuck
clients cannot hold the laptop; each is counted, and logged at most every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .security import HEADERS

log = logging.getLogger("citizen.web")
SERVER = "citizen"  # the Server header: no program or version names
LOG_EVERY = 10.0


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0  # from connecting (or the last answer) to a request's last header line
    body_timeout: float = 20.0  # to read a form's body once its headers are in
    max_connections: int = 256


class Connections:
    """Open connections, counted, with what was cut off or turned away."""

    def __init__(self, limits: ConnectionLimits, error_page: Callable[[int], str]):
        self.limits = limits
        self.error_page = error_page
        self.open = 0
        self.counts: Counter[str] = Counter()
        self._logged: dict[str, float] = {}

    def note(self, kind: str, message: str) -> None:
        """Count an event; log it with the running count, at most every LOG_EVERY seconds per kind."""
        self.counts[kind] += 1
        now = time.monotonic()
        if now - self._logged.get(kind, -LOG_EVERY) >= LOG_EVERY:
            self._logged[kind] = now
            log.warning("%s (%d %s so far; %d connections open)", message, self.counts[kind], kind, self.open)

    def factory(self, manager: web.Server, **kwargs: Any) -> Callable[[], RequestHandler]:
        return lambda: GuardedHandler(manager, self, loop=asyncio.get_running_loop(), **kwargs)

    @staticmethod
    def request_started(request: web.BaseRequest) -> None:
        handler = request.protocol
        if isinstance(handler, GuardedHandler):
            handler.stop_clock()

    @staticmethod
    def request_ended(request: web.BaseRequest) -> None:
        handler = request.protocol
        if isinstance(handler, GuardedHandler):
            handler.start_clock()  # the next request's headers (or the end of an idle keep-alive)


def headed(response: web.StreamResponse) -> web.StreamResponse:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = SERVER
    response.headers["Cache-Control"] = "no-store"
    return response


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler, with a clock on slow clients, the cap, and a plain error page."""

    def __init__(self, manager: web.Server, connections: Connections, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._connections = connections
        self._clock: Optional[asyncio.TimerHandle] = None
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        connections = self._connections
        if connections.open >= connections.limits.max_connections:
            self._manager = None  # never handed to aiohttp: nothing of it to undo when it closes
            body = connections.error_page(503).encode()
            head = "".join(
                f"{k}: {v}\r\n"
                for k, v in {
                    **HEADERS,
                    "Server": SERVER,
                    "Cache-Control": "no-store",
                    "Retry-After": "5",
                    "Connection": "close",
                }.items()
            )
            transport.write(
                b"HTTP/1.1 503 Service Unavailable\r\n"
                + head.encode()  # type: ignore[attr-defined]
                + f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            transport.close()
            connections.note("turned away", "a connection was turned away: too many are open")
            return
        connections.open += 1
        self._counted = True
        super().connection_made(transport)
        self.start_clock()

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if self._counted:
            self._counted = False
            self._connections.open -= 1
        self.stop_clock()
        super().connection_lost(exc)

    def start_clock(self) -> None:
        self.stop_clock()
        loop = asyncio.get_running_loop()
        self._clock = loop.call_later(self._connections.limits.header_timeout, self._too_slow)

    def stop_clock(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None

    def _too_slow(self) -> None:
        self._clock = None
        self._connections.note("timed out", "a connection was too slow sending its request and was closed")
        self.force_close()

    def handle_error(
        self, request: web.BaseRequest, status: int = 500, exc: Optional[BaseException] = None, message: Optional[str] = None
    ) -> web.StreamResponse:
        """A request aiohttp could not read: the plain page, headed like every other, and one log line."""
        self.stop_clock()
        status = status if status in (400, 413, 431) else 400 if status < 500 else 500
        log.warning("a request could not be read (%d, %s)", status, type(exc).__name__ if exc else "no detail")
        if request.writer.output_size > 0:
            raise ConnectionError("the answer had begun; the connection is closed")
        response = web.Response(
            status=status, text=self._connections.error_page(status), content_type="text/html", charset="utf-8"
        )
        response.force_close()
        return headed(response)
