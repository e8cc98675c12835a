"""What keeps the enrolment site safe on a shared network: form tokens, rate limits, request checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

MAX_BODY = 16 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class FormTokens:
    """Single-use CSRF tokens, each bound to the page (invite or participant token) that issued it.

    A token carries its own proof (an HMAC under a key made for this server run), so issuing one
    keeps nothing: a flood of form pages cannot push a volunteer's form out. Only spent tokens are
    remembered, until they expire; when more than ``capacity`` are remembered, the oldest is let go
    and every form issued before it is refused from then on (it can never be replayed).
    """

    def __init__(self, ttl: float = 4 * 3600, capacity: int = 200_000):
        self.ttl = ttl
        self.capacity = capacity
        self._key = secrets.token_bytes(32)
        self._spent: OrderedDict[str, float] = OrderedDict()  # nonce -> when its form was issued
        self._floor = -1.0  # forms issued at or before this moment are refused

    def _mac(self, bound_to: str, body: str) -> str:
        digest = hmac.new(self._key, f"{bound_to}\0{body}".encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()

    def issue(self, bound_to: str) -> str:
        body = f"{secrets.token_urlsafe(12)}.{time.monotonic():.3f}"
        return f"{body}.{self._mac(bound_to, body)}"

    def spend(self, token: Optional[str], bound_to: str) -> bool:
        """True once for a token issued for this page and not yet used or expired."""
        if not token or not isinstance(token, str) or len(token) > 100 or token.count(".") != 3:
            return False
        nonce, whole, part, mac = token.split(".")
        body = f"{nonce}.{whole}.{part}"
        if not hmac.compare_digest(mac, self._mac(bound_to, body)):
            return False
        issued = float(f"{whole}.{part}")
        if issued <= self._floor or time.monotonic() >= issued + self.ttl or nonce in self._spent:
            return False
        self._spent[nonce] = issued
        if len(self._spent) > self.capacity:
            now = time.monotonic()
            for old in [n for n, at in self._spent.items() if now >= at + self.ttl]:
                del self._spent[old]
            while len(self._spent) > self.capacity:
                _, at = self._spent.popitem(last=False)
                self._floor = max(self._floor, at)
        return True


@dataclass(frozen=True)
class RateLimits:
    """Token buckets, narrowest first, so that one device never spends what a hall shares.

    ``burst``/``per_second``: every page request from one address (phones behind one Wi-Fi router
    share it, so it is generous); ``post_*``: every form sent from one address; ``page_*``: one
    private page from one address; ``change_*``: forms sent to one private page, from anywhere;
    ``invite_*``: one join page from one address, and joinings through it from anywhere;
    ``static_*``: the style sheet from one address.
    """

    burst: int = 1000
    per_second: float = 30.0
    post_burst: int = 300
    post_per_second: float = 10.0
    page_burst: int = 60
    page_per_second: float = 2.0
    change_burst: int = 20
    change_per_second: float = 0.5
    invite_burst: int = 300
    invite_per_second: float = 5.0
    static_burst: int = 1000
    static_per_second: float = 100.0


class RateLimiter:
    def __init__(self, burst: int, per_second: float, capacity: int = 10_000):
        self.burst = burst
        self.per_second = per_second
        self.capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        return self.wait(key) == 0.0

    def wait(self, key: str) -> float:
        """0 when ``key`` may go on now (and it is charged); otherwise the seconds until it may."""
        now = time.monotonic()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / self.per_second if self.per_second > 0 else 3600.0


class Allowances:
    """Which buckets a request is charged to; the first that refuses says how long to wait."""

    def __init__(self, limits: RateLimits):
        self.address = RateLimiter(limits.burst, limits.per_second)
        self.posts = RateLimiter(limits.post_burst, limits.post_per_second)
        self.page = RateLimiter(limits.page_burst, limits.page_per_second)
        self.changes = RateLimiter(limits.change_burst, limits.change_per_second)
        self.invites = RateLimiter(limits.invite_burst, limits.invite_per_second)
        self.static = RateLimiter(limits.static_burst, limits.static_per_second)

    def wait(self, peer: str, method: str, page: Optional[str]) -> int:
        """Whole seconds to wait (0: go on). ``page`` is "static", "j:<invite>", "p:<token>" or None."""
        if page == "static":
            checks = [(self.static, peer)]
        else:
            checks = []
            if page:  # a join page is shared by everyone joining from one router: it has the larger allowance
                joining = page.startswith("j:")
                checks.append((self.invites if joining else self.page, f"{peer} {page}"))
                if method == "POST":
                    checks.append((self.invites if joining else self.changes, page))
            checks.append((self.address, peer))
            if method == "POST":
                checks.append((self.posts, peer))
        for limiter, key in checks:
            seconds = limiter.wait(key)
            if seconds:
                return max(1, math.ceil(seconds))
        return 0


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
        name = name[1 : name.find("]")] if "]" in name else ""
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
