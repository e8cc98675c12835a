"""The phone pages in a crowded hall (issue 18): old phones post, one device never locks out the others.

Everything runs over real HTTP on 127.0.0.1, with the header sets real browsers send.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from citizen.services import create_invite
from citizen.web.security import RateLimits

from .support.web import CONSENT, WALK, enrol, fetch, form_lang, form_token, path_of, phone, send, served

ANSWERS = {f"consent_{k}": v for k, v in CONSENT.items()}


@pytest.fixture
def invite(study):
    return create_invite(study, "library poster", "Amina Yusuf")


def browsers(base: str) -> dict[str, dict[str, str]]:
    """What each browser sends with a page's own form post (the page served with our Referrer-Policy)."""
    modern = {
        "Origin": base,
        "Sec-Fetch-Site": "same-origin",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "document",
        "Sec-Fetch-User": "?1",
    }
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
    "a modern browser on another site's page": {
        "Origin": "http://evil.example",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "document",
    },
    "a sandboxed frame on another site": {
        "Origin": "null",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "iframe",
    },
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


async def test_fifty_phones_behind_one_address_enrol_while_one_device_floods(study, invite, capsys):
    """Finding 2: a flood from one address (the same Wi-Fi router) left every phone there with 429."""
    async with served(study, limits=RateLimits()) as server:
        base = server.base_url
        stop = asyncio.Event()
        flood = {"sent": 0, "refused": 0}

        async def flooder() -> None:
            async with phone() as f:
                link, _ = await enrol(f, server, invite.token)
                kinds = [
                    (base + "/static/citizen.css", {}),
                    (link, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}),
                    (link, {"Host": "evil.example"}),
                    (link, {}),
                ]

                async def loop(kind: int) -> None:  # four requests in flight at every moment
                    url, headers = kinds[kind]
                    while not stop.is_set() and flood["sent"] < 20_000:
                        async with f.get(url, headers=headers, allow_redirects=False) as r:
                            await r.read()
                            flood["sent"] += 1
                            flood["refused"] += r.status != 200

                await asyncio.gather(*(loop(kind) for kind in range(len(kinds))))

        async def volunteer(i: int) -> tuple[int, int]:
            async with phone() as p:
                link, _ = await enrol(p, server, invite.token)
                status, _, _ = await send(p, link, path_of(link) + "/contribute", dict(WALK, walk_minutes=str(i + 1)), base)
                css, _ = await fetch(p, base + "/static/citizen.css")
                return status, css

        flooding = asyncio.create_task(flooder())
        while flood["sent"] < 400:  # the flood is under way before the hall arrives
            await asyncio.sleep(0.01)
        started = time.monotonic()
        results = await asyncio.gather(*(volunteer(i) for i in range(50)))
        took = time.monotonic() - started
        stop.set()
        await flooding
    assert results == [(303, 200)] * 50
    assert study.repo.participant_count() == 51 and study.repo.contribution_count() == 50
    assert flood["refused"] > 0  # the flood itself was slowed down
    with capsys.disabled():
        print(
            f"\n50 phones enrolled and contributed in {took:.1f} s behind one address while one device sent "
            f"{flood['sent']} requests ({flood['refused']} refused)"
        )


async def test_a_refusal_for_too_many_requests_says_when_to_try_again(study, invite):
    """Finding 2: the 429 carried no Retry-After."""
    limits = RateLimits(burst=3, per_second=0.5, post_burst=3, post_per_second=0.5)
    async with served(study, limits=limits) as server, phone() as p:
        statuses = []
        for _ in range(10):
            async with p.get(server.join_url(invite.token)) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert 1 <= int(r.headers["Retry-After"]) <= 5
                    assert "Too many requests" in await r.text()
        assert statuses[:3] == [200] * 3 and statuses[-1] == 429
        css, _ = await fetch(p, server.base_url + "/static/citizen.css")
        assert css == 200  # the style sheet has its own, generous allowance


async def test_a_page_under_another_sites_name_learns_nothing_even_when_the_address_is_slowed(study, invite):
    """Finding 5: the 429 page (rate check before the Host check) named the study to another site's page."""
    limits = RateLimits(burst=2, per_second=0.01, post_burst=2, post_per_second=0.01)
    async with served(study, limits=limits) as server, phone() as p:
        for _ in range(4):
            await fetch(p, server.join_url(invite.token))
        status, page = await fetch(p, server.join_url(invite.token), headers={"Host": "attacker.example"})
    assert status == 421
    assert "Clean Air Walks" not in page


async def test_a_flood_of_form_pages_never_spends_a_volunteers_form(study, invite):
    """Finding 12: at the token store's capacity the oldest forms were evicted, so volunteers mid-form got 403."""
    async with served(study) as server, phone() as p, phone() as flooder:
        server.tokens.capacity = 100
        _, page = await fetch(p, server.join_url(invite.token))  # a volunteer starts reading the consent
        for _ in range(300):
            await fetch(flooder, server.join_url(invite.token))
        data = {"csrf": form_token(page, f"/j/{invite.token}"), "lang": form_lang(page), **ANSWERS}
        async with p.post(server.join_url(invite.token), data=data) as r:
            assert r.status == 200
        async with p.post(server.join_url(invite.token), data=data) as r:
            assert r.status == 403  # still single use
    assert study.repo.participant_count() == 1


async def test_the_pages_are_served_on_the_local_network_address_unless_every_network_is_asked_for(study, invite):
    """Finding 10: the server bound every interface by default (0.0.0.0), VPN and tethered ones included."""
    import socket

    from citizen.web import address
    from citizen.web.server import EnrolmentServer

    local = address.local_address()
    server = EnrolmentServer(study, port=0, limits=RateLimits())
    await server.start()
    try:
        port = int(server.base_url.rsplit(":", 1)[1])
        assert server.host == local and server.base_url == f"http://{local}:{port}"
        _, writer = await asyncio.open_connection(local, port)  # phones on the local network reach it
        writer.close()
        if local != "127.0.0.1":  # another interface of this laptop does not
            with pytest.raises(OSError):
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    pass
    finally:
        await server.stop()


def test_citizen_serve_says_plainly_when_it_serves_every_network(data_path, demo_file, run_env):
    import signal
    import subprocess

    from citizen.web import address

    from .support.commands import citizen_command, read_until, start_serve

    proc = start_serve(data_path, demo_file, run_env, "--host", "0.0.0.0")  # the last --host counts
    try:
        seen: list[str] = []
        read_until(proc, "Serving '", seen)
        assert any("every network of this laptop (--host 0.0.0.0), VPN" in line for line in seen)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    proc = subprocess.Popen(
        [*citizen_command(), "--data", str(data_path), "serve", "air-quality-walk", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env,
    )
    try:  # by default: this laptop's address on its local network, and nothing said about every network
        seen = []
        line = read_until(proc, "Serving '", seen)
        assert f"at http://{address.local_address()}:" in line
        assert not any("every network" in x for x in seen)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
