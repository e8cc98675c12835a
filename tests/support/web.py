"""Shared by the web tests: a served study on 127.0.0.1, and a phone that reads forms like a browser."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import AsyncIterator
from typing import Any, Optional

import aiohttp

from citizen.web.security import RateLimits
from citizen.web.server import EnrolmentServer

CONSENT = {"take_part": "yes", "share_partners": "yes", "quote_words": "no", "contact_later": "no"}
WALK = {
    "walk_date": "2026-05-02",
    "route": "canal_path",
    "walk_minutes": "35",
    "traffic": "2",
    "smelled_fumes": "no",
    "symptoms": ["cough", "wheeze"],
    "breathing": "4",
    "pm25": "12.5",
    "worst_spot": "Station Road",
    "start_time": "08:15",
    "notes": "Windy, fresh air.",
    "home_street": "",
}
GENEROUS = RateLimits(**{name: 100_000 for name in RateLimits.__dataclass_fields__})


@contextlib.asynccontextmanager
async def served(study, limits: Optional[RateLimits] = GENEROUS, **kwargs: Any) -> AsyncIterator[EnrolmentServer]:
    server = EnrolmentServer(study, "127.0.0.1", 0, limits=limits, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def phone(lang: Optional[str] = None) -> aiohttp.ClientSession:
    """A browser-like client: keeps cookies for 127.0.0.1, does not follow redirects by itself."""
    headers = {"Accept-Language": lang} if lang else {}
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers)


def form_token(page: str, action: str) -> str:
    """The CSRF token of the form posting to ``action`` (as a browser would send it)."""
    match = re.search(
        r'<form method="post" action="' + re.escape(action) + r'"[^>]*>\s*'
        r'<input type="hidden" name="csrf" value="([^"]+)">',
        page,
    )
    assert match, f"no form posting to {action}"
    return match.group(1)


def form_lang(page: str) -> str:
    return re.search(r'<input type="hidden" name="lang" value="([^"]+)">', page).group(1)


def pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in values.items():
        for v in value if isinstance(value, list) else [value]:
            out.append((key, v))
    return out


async def fetch(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False, **kwargs) as r:
        return r.status, await r.text()


async def send(
    session: aiohttp.ClientSession, page_url: str, action: str, values: dict[str, Any], base: str
) -> tuple[int, str, aiohttp.ClientResponse]:
    """Open a page, fill the form posting to ``action`` and send it, as a phone would."""
    _, page = await fetch(session, page_url)
    data = pairs({"csrf": form_token(page, action), "lang": form_lang(page), **values})
    async with session.post(base + action, data=data, allow_redirects=False) as r:
        return r.status, await r.text(), r


async def enrol(
    session: aiohttp.ClientSession, server: EnrolmentServer, invite_token: str, consent: Optional[dict[str, str]] = None
) -> tuple[str, str]:
    """Enrol through the join page; returns the participant's private link and code."""
    status, page, _ = await send(
        session,
        server.join_url(invite_token),
        f"/j/{invite_token}",
        {f"consent_{k}": v for k, v in (consent or CONSENT).items()},
        server.base_url,
    )
    assert status == 200, page
    return receipt(page)


def receipt(page: str) -> tuple[str, str]:
    """The private link and the code that a receipt page gives."""
    link = html.unescape(re.search(r'id="private-link"[^>]*>([^<]+)<', page).group(1))
    code = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
    return link, code


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


async def leave(session: aiohttp.ClientSession, link: str, choice: str, base: str) -> tuple[int, str, aiohttp.ClientResponse]:
    """Leave the study as a phone does: choose, read the page saying what will happen, confirm there."""
    return await send(
        session, f"{link}/leave?remove={choice}", path_of(link) + "/withdraw", {"remove": choice, "confirm": "yes"}, base
    )


SCRIPT = "<script>alert('x')</script><b>bold</b>"


def stored(study) -> tuple[int, int, int, int, int]:
    """Everything a refused request must leave as it was."""
    repo = study.repo
    return (
        repo.participant_count(),
        len(repo.consent_events()),
        repo.contribution_count(),
        len(repo.proposals()),
        len(repo.audit()),
    )


def no_markup(page: str) -> None:
    """Text sent as SCRIPT comes back escaped: no script runs, no markup applies."""
    assert "<script>" not in page and "<b>bold</b>" not in page


def css_text() -> str:
    """The one style sheet every page uses."""
    from citizen.web.server import HERE

    return (HERE / "static" / "citizen.css").read_text()
