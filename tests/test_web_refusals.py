"""Every refusal over real HTTP: form tokens, other sites, methods, sizes, floods, hosts, unknown paths."""

from __future__ import annotations

import asyncio

import pytest

from citizen.services import (
    create_invite,
)
from citizen.web.security import RateLimits

from .support.web import (
    CONSENT,
    WALK,
    enrol,
    fetch,
    form_token,
    pairs,
    path_of,
    phone,
    send,
    served,
    stored,
)


async def test_form_tokens_missing_wrong_or_replayed_are_refused(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        action = link + "/contribute"
        before = stored(study)
        for data in ({}, {"csrf": ""}, {"csrf": "made-up-token-000000000"}):
            async with p.post(action, data=pairs({**data, **WALK}), allow_redirects=False) as r:
                assert r.status == 403
                assert "already sent" in await r.text()
        assert stored(study) == before
        _, page = await fetch(p, link)
        token = form_token(page, path_of(action))
        async with p.post(action, data=pairs({"csrf": token, **WALK}), allow_redirects=False) as r:
            assert r.status == 303
        after = stored(study)
        async with p.post(action, data=pairs({"csrf": token, **WALK}), allow_redirects=False) as r:
            assert r.status == 403  # the same form sent twice is kept once
        assert stored(study) == after
        # A join page's token cannot enrol through another invite.
        other = create_invite(study, "market stall", "Amina Yusuf")
        after = stored(study)
        _, join = await fetch(p, server.join_url(invite.token))
        token = form_token(join, f"/j/{invite.token}")
        answers = {f"consent_{k}": v for k, v in CONSENT.items()}
        async with p.post(server.join_url(other.token), data={"csrf": token, **answers}) as r:
            assert r.status == 403
    assert stored(study) == after


async def test_cross_site_posts_and_foreign_origins_are_refused(study, invite):
    async with served(study) as server, phone() as p:
        _, join = await fetch(p, server.join_url(invite.token))
        answers = {f"consent_{k}": v for k, v in CONSENT.items()}
        for headers in (
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": "http://evil.example"},
            {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        ):
            token = form_token((await fetch(p, server.join_url(invite.token)))[1], f"/j/{invite.token}")
            async with p.post(server.join_url(invite.token), data={"csrf": token, **answers}, headers=headers) as r:
                assert r.status == 403, headers
        # A page embedded or fetched by another site is refused; following a link from one is not.
        status, _ = await fetch(
            p,
            server.join_url(invite.token),
            headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "iframe"},
        )
        assert status == 403
        status, _ = await fetch(
            p,
            server.join_url(invite.token),
            headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
        )
        assert status == 200
        token = form_token(join, f"/j/{invite.token}")
        async with p.post(
            server.join_url(invite.token),
            data={"csrf": token, **answers},
            headers={"Origin": server.base_url, "Sec-Fetch-Site": "same-origin"},
        ) as r:
            assert r.status == 200
    assert study.repo.participant_count() == 1


async def test_get_never_changes_anything_and_other_methods_are_refused(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        before = stored(study)
        for suffix in ("/contribute", "/consent", "/withdraw", "/propose"):
            status, page = await fetch(p, link + suffix + "?remove=remove&title=x&rationale=y")
            assert status == 405 and "<form" not in page
        async with p.delete(link) as r:
            assert r.status == 405
        async with p.put(link + "/withdraw", data={"remove": "remove"}) as r:
            assert r.status == 405
    assert stored(study) == before


async def test_large_bodies_other_content_types_and_floods_are_refused(study, invite):
    limits = RateLimits(burst=40, per_second=0.01, post_burst=5, post_per_second=0.01)
    async with served(study, limits=limits) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        before = stored(study)
        async with p.post(link + "/contribute", data={"notes": "x" * 20_000}) as r:
            assert r.status == 413 and "Too much was sent" in await r.text()
        async with p.post(link + "/contribute", json={"notes": "x"}) as r:
            assert r.status == 415
        async with p.post(link + "/contribute", data=b"notes=x", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415

        async def chunks():
            for _ in range(40):
                yield b"notes=" + b"y" * 1000

        async with p.post(
            link + "/contribute", data=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        ) as r:
            assert r.status == 413  # no Content-Length: the limit holds while reading
        statuses = []
        for _ in range(5):
            async with p.post(link + "/propose", data={"title": "t", "rationale": "r"}) as r:
                statuses.append(r.status)
        assert statuses[-1] == 429
        gets = []
        for _ in range(40):
            async with p.get(link) as r:
                gets.append((r.status, await r.text()))
        assert gets[-1][0] == 429 and "Too many requests" in gets[-1][1]
    assert stored(study) == before


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fserver.py",
        "/j/../../../etc/passwd",
        "/p/%2e%2e%2fserver.py",
        "/templates/base.html",
        "/static/citizen.css/../server.py",
        "/locale/ar/LC_MESSAGES/citizen.po",
        "//etc/passwd",
        "/",
        "/admin",
        "/export",
    ],
)
async def test_no_file_or_administration_is_reachable(study, invite, path):
    async with served(study) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(server.base_url.rsplit(":", 1)[1]))
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = (await reader.read()).decode("utf-8", "replace")
        writer.close()
    status = int(raw.split(" ", 2)[1])
    assert status in (400, 404)
    assert "root:" not in raw and "import" not in raw and "{%" not in raw and "msgid" not in raw


async def test_the_style_sheet_is_served(study, invite):
    async with served(study) as server, phone() as p:
        status, css = await fetch(p, server.base_url + "/static/citizen.css")
    assert status == 200 and "box-sizing" in css


async def test_an_unknown_participant_token_gets_a_plain_page(study):
    async with served(study) as server, phone() as p:
        status, page = await fetch(p, server.private_url("B" * 24))
        async with p.post(server.private_url("B" * 24) + "/contribute", data={"csrf": "x"}) as r:
            posted = r.status
    assert status == 404 and posted == 404 and "<form" not in page


async def test_an_error_shows_a_plain_page_and_the_details_go_to_the_log(study, invite, tmp_path, monkeypatch):
    import citizen.web.join_pages as join_pages

    def broken(*args, **kwargs):
        raise RuntimeError("disk gremlin 4711")

    monkeypatch.setattr(join_pages, "enrol_participant", broken)
    async with served(study, log_dir=tmp_path / "logs") as server, phone() as p:
        status, page, _ = await send(
            p,
            server.join_url(invite.token),
            f"/j/{invite.token}",
            {f"consent_{k}": v for k, v in CONSENT.items()},
            server.base_url,
        )
    assert status == 500
    assert "Something went wrong" in page and "gremlin" not in page and "Traceback" not in page
    log = (tmp_path / "logs" / "web.log").read_text()
    assert "Traceback" in log and "disk gremlin 4711" in log


@pytest.mark.parametrize(
    "host,ok",
    [
        ("127.0.0.1:8080", True),
        ("192.168.1.20:8080", True),
        ("[::1]:8080", True),
        ("localhost:8080", True),
        ("laptop.local:8080", True),
        ("attacker.example:8080", False),
        ("", False),
    ],
)
def test_only_hosts_naming_this_laptop_are_served(host, ok):
    from citizen.web.security import local_host

    assert local_host(host) is ok


async def test_a_page_asked_for_under_another_sites_name_is_refused(study, invite):
    """DNS rebinding: another site's name pointed at the laptop arrives with that name as Host."""
    before = stored(study)
    async with served(study) as server, phone() as p:
        async with p.get(server.join_url(invite.token), headers={"Host": "attacker.example"}) as r:
            page = await r.text()
            assert r.status == 421 and "Clean Air Walks" not in page and "<form" not in page
        async with p.post(
            server.join_url(invite.token), headers={"Host": "attacker.example"}, data={"csrf": "x", "consent_take_part": "yes"}
        ) as r:
            assert r.status == 421
        got, page = await fetch(p, server.join_url(invite.token))  # under its own address, as always
        assert got == 200 and "Clean Air Walks" in page
    assert stored(study) == before
