"""A proxy in front of the hub that misbehaves on request: a 401, a 5xx, a malformed answer, a cut.

It runs its own event loop in a thread, so a test can sync through it with ``asyncio.run``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Optional

import aiohttp
from aiohttp import web

from .hub import ThreadedApp


@dataclass
class Fault:
    path: str  # a part of the request path, e.g. "_bulk_docs"
    action: str  # "500", "401", "garbage", "cut" (the hub gets the request, the answer is lost)
    after: int = 0  # let this many matching requests through first
    times: int = 1_000_000  # then misbehave this many times
    seen: int = 0


@dataclass
class HubProxy(ThreadedApp):
    target: str  # the hub's base address, http://127.0.0.1:PORT
    login: Optional[tuple[str, str]] = None  # required Basic credentials, when set
    faults: list[Fault] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def started(self) -> None:
        self.base = f"http://127.0.0.1:{self.port}"

    def _fault(self, path: str) -> Optional[str]:
        for fault in self.faults:
            if fault.path in path:
                fault.seen += 1
                if fault.after < fault.seen <= fault.after + fault.times:
                    return fault.action
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs
        self.requests.append(f"{request.method} {path}")
        if self.login is not None:
            expected = "Basic " + base64.b64encode(f"{self.login[0]}:{self.login[1]}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return web.json_response({"error": "unauthorized", "reason": "Name or password is incorrect."}, status=401)
        action = self._fault(path)
        if action == "401":
            return web.json_response({"error": "unauthorized", "reason": "Name or password is incorrect."}, status=401)
        if action == "500":
            return web.json_response({"error": "internal_server_error", "reason": "boom"}, status=500)
        if action == "garbage":
            return web.json_response({"results": "not a list", "ok": 3})
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")}
        async with aiohttp.ClientSession() as session:
            async with session.request(request.method, self.target + path, data=body or None, headers=headers) as resp:
                raw = await resp.read()
                status, ctype = resp.status, resp.headers.get("Content-Type", "application/json")
        if action == "cut":  # the hub did the work; the answer never arrives
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        return web.Response(body=raw, status=status, headers={"Content-Type": ctype})
