"""The phone pages in a crowded hall (issue 18): old phones post, one device never locks out the others.

Everything runs over real HTTP on 127.0.0.1, with the header sets real browsers send.
"""

from __future__ import annotations

import pytest

from citizen.services import create_invite

from .web_helpers import CONSENT, fetch, form_lang, form_token, phone, served

ANSWERS = {f"consent_{k}": v for k, v in CONSENT.items()}


@pytest.fixture
def invite(study):
    return create_invite(study, "library poster", "Amina Yusuf")


def browsers(base: str) -> dict[str, dict[str, str]]:
    """What each browser sends with a page's own form post (the page served with our Referrer-Policy)."""
    modern = {"Origin": base, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate",
              "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"}
    return {
        "iPhone, Safari 15 (no Fetch Metadata)": {"Origin": base},
        "iPhone, Safari 15 under no-referrer": {"Origin": "null"},
        "Android 7 WebView (no Origin at all)": {},
        "Android 9 WebView under no-referrer": {"Origin": "null"},
        "Chromium 120": modern,
        "Firefox 120": modern,
        "Safari 17": modern,
    }


CROSS_SITE = {
    "an old phone on another site's page": {"Origin": "http://evil.example"},
    "a modern browser on another site's page": {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site",
                                                "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
    "a sandboxed frame on another site": {"Origin": "null", "Sec-Fetch-Site": "cross-site",
                                          "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"},
}


async def test_every_phone_can_join_and_only_cross_site_posts_are_refused(study, invite):
    """Finding 1: Origin null without Fetch Metadata was refused, so old phones could not join."""
    async with served(study) as server, phone() as p:
        for name, headers in browsers(server.base_url).items():
            _, page = await fetch(p, server.join_url(invite.token))
            data = {"csrf": form_token(page, f"/j/{invite.token}"), "lang": form_lang(page), **ANSWERS}
            async with p.post(server.join_url(invite.token), data=data, headers=headers) as r:
                assert r.status == 200, name
                assert "private-link" in await r.text()
        joined = study.repo.participant_count()
        assert joined == len(browsers(server.base_url))
        for name, headers in CROSS_SITE.items():
            _, page = await fetch(p, server.join_url(invite.token))
            data = {"csrf": form_token(page, f"/j/{invite.token}"), **ANSWERS}
            async with p.post(server.join_url(invite.token), data=data, headers=headers) as r:
                assert r.status == 403, name
        # An old phone sends Origin: null from another site's page too; that page has no form token.
        async with p.post(server.join_url(invite.token), data=ANSWERS, headers={"Origin": "null"}) as r:
            assert r.status == 403
        async with p.get(server.join_url(invite.token)) as r:
            assert r.headers["Referrer-Policy"] == "same-origin"  # nothing to other sites; own posts name us
    assert study.repo.participant_count() == joined
