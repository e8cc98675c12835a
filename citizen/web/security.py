"""What keeps the enrolment site safe on a shared network: form tokens, rate limits, request checks."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

MAX_BODY = 16 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class FormTokens:
    """Single-use CSRF tokens, each bound to the page (invite or participant token) that issued it."""

    def __init__(self, ttl: float = 4 * 3600, capacity: int = 50_000):
        self.ttl = ttl
        self.capacity = capacity
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def issue(self, bound_to: str) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (bound_to, time.monotonic() + self.ttl)
        while len(self._tokens) > self.capacity:
            self._tokens.popitem(last=False)
        return token

    def spend(self, token: Optional[str], bound_to: str) -> bool:
        """True once for a token issued for this page and not yet used or expired."""
        if not token or not isinstance(token, str):
            return False
        entry = self._tokens.pop(token, None)
        if entry is None:
            return False
        owner, expires = entry
        return secrets.compare_digest(owner, bound_to) and time.monotonic() < expires


@dataclass(frozen=True)
class RateLimits:
    """Token buckets per address: every request, and (stricter) every form sent."""

    burst: int = 120
    per_second: float = 4.0
    post_burst: int = 30
    post_per_second: float = 1.0


class RateLimiter:
    def __init__(self, burst: int, per_second: float, capacity: int = 10_000):
        self.burst = burst
        self.per_second = per_second
        self.capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.pop(address, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        allowed = tokens >= 1.0
        self._buckets[address] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        return allowed


def cross_site(method: str, site: Optional[str], mode: Optional[str], dest: Optional[str]) -> bool:
    """Fetch Metadata: refuse what another site makes the browser send, but for plain link navigation."""
    if site is None or site in ("same-origin", "same-site", "none"):
        return False
    if method == "GET" and mode == "navigate" and dest not in ("object", "embed", "iframe", "frame"):
        return False
    return True


def origin_matches(origin: Optional[str], scheme: str, host: str, site: Optional[str] = None) -> bool:
    """An Origin header, when a browser sends one, must be this site itself.

    Browsers that were told ``Referrer-Policy: no-referrer`` (older phones keep a cached page) send
    ``Origin: null`` for the site's own forms, and older ones send no Fetch Metadata at all: then
    only a browser's own word that the post is cross-site refuses it, and the single-use form
    token bound to the page decides.
    """
    if origin is None:
        return True
    if origin == "null":
        return site in (None, "same-origin")  # an old phone without Fetch Metadata: the form token decides
    return origin.lower() == f"{scheme}://{host}".lower()


def local_host(host: Optional[str]) -> bool:
    """The Host a phone sends must name this laptop: an address, localhost, or its local name.

    A page of another site whose name was pointed at this laptop's address (DNS rebinding)
    arrives with that site's name as Host, and is refused before anything else is read.
    """
    if not host:
        return False
    name = host.strip()
    if name.startswith("["):  # [IPv6]:port
        name = name[1:name.find("]")] if "]" in name else ""
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith((".local", ".localhost")):
        return True
    own = socket.gethostname().lower()
    return bool(own) and name in (own, own.split(".")[0])
