"""Requests the phone pages cannot read (issue 18): slow clients, bogus bodies, broken HTTP, the logs.

Raw sockets on 127.0.0.1 send exactly the bytes a broken or hostile client would.
"""

from __future__ import annotations

import asyncio
import logging
import stat

import pytest

from citizen.services import create_invite

from .support.web import CONSENT, enrol, fetch, form_lang, form_token, path_of, phone, served

ANSWERS = {f"consent_{k}": v for k, v in CONSENT.items()}


@pytest.fixture
def invite(study):
    return create_invite(study, "library poster", "Amina Yusuf")


def port_of(server) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


async def raw(server, data: bytes, timeout: float = 20) -> bytes:
    """Send bytes, read the whole answer until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


def stored(study) -> tuple[int, int, int]:
    return study.repo.participant_count(), len(study.repo.proposals()), len(study.repo.audit())


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
async def test_a_bogus_charset_is_a_plain_400_in_the_pages_language(study, invite, kind):
    """Finding 4: a charset no codec knows escaped as a 500."""
    async with served(study) as server, phone("zh") as p:
        link, _ = await enrol(p, server, invite.token)
        before = stored(study)
        _, page = await fetch(p, link)
        token = form_token(page, path_of(link) + "/propose")
        if kind == "urlencoded":
            body = f"csrf={token}&title=Bus+stop&rationale=Please".encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded; charset=no-such-codec"}
        else:
            body = (
                f'--xx\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
                '--xx\r\nContent-Disposition: form-data; name="title"\r\n'
                "Content-Type: text/plain; charset=no-such-codec\r\n\r\nBus stop\r\n--xx--\r\n"
            ).encode()
            headers = {"Content-Type": "multipart/form-data; boundary=xx"}
        async with p.post(link + "/propose", data=body, headers=headers) as r:
            assert r.status == 400
            page = await r.text()
    assert "无法读取" in page  # "This request could not be read", in the phone's language
    assert stored(study) == before


async def test_the_log_names_the_route_never_the_link_and_only_its_owner_reads_it(study, invite, tmp_path, monkeypatch):
    """Finding 4: the log kept /p/<token>/... and was readable by everyone on the laptop."""
    import citizen.web.participant_pages as participant_pages

    def broken(*args, **kwargs):
        raise RuntimeError("disk gremlin 4711")

    monkeypatch.setattr(participant_pages, "propose_change", broken)
    async with served(study, log_dir=tmp_path / "logs") as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        _, page = await fetch(p, link)
        data = {
            "csrf": form_token(page, path_of(link) + "/propose"),
            "lang": form_lang(page),
            "title": "Bus stop",
            "rationale": "secret words 0815",
        }
        async with p.post(link + "/propose", data=data) as r:
            assert r.status == 500
    log = (tmp_path / "logs" / "web.log").read_text()
    token = link.rsplit("/", 1)[1]
    assert "/p/{token}/propose" in log and "disk gremlin 4711" in log
    assert token not in log and "0815" not in log
    assert stat.S_IMODE((tmp_path / "logs" / "web.log").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700


async def test_an_over_long_header_gets_the_plain_headed_page_and_names_no_versions(study, invite, caplog):
    """Finding 9: aiohttp's own error answer skipped the middleware, echoed the request and logged a traceback."""
    async with served(study) as server:
        answer = await raw(
            server,
            b"GET /j/" + invite.token.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"secretecho" * 2000 + b"\r\n\r\n",
        )
        normal = await raw(server, b"GET /static/citizen.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert b"Content-Security-Policy: default-src 'none'" in head and b"X-Content-Type-Options: nosniff" in head
    assert b"secretecho" not in answer and b"Traceback" not in answer
    assert b"This request could not be read" in body
    for h in (head, normal.partition(b"\r\n\r\n")[0]):
        server_line = [line for line in h.split(b"\r\n") if line.lower().startswith(b"server:")]
        assert all(b"Python" not in line and b"aiohttp" not in line for line in server_line)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]


async def test_slow_clients_are_cut_off_and_open_connections_are_capped(study, invite, tmp_path):
    """Finding 3: half-sent headers and slow bodies held connections for good; nothing counted them."""
    from citizen.web.wire import ConnectionLimits

    limits = ConnectionLimits(header_timeout=1.0, body_timeout=1.0, max_connections=24)
    async with served(study, connections=limits, log_dir=tmp_path / "logs") as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        _, page = await fetch(p, link)
        token = form_token(page, path_of(link) + "/propose")
        slow = []
        for _ in range(20):  # half-sent headers
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
            writer.write(b"GET " + path_of(link).encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1")
            slow.append((reader, writer))
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
        writer.write(
            f"POST {path_of(link)}/propose HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n\r\ncsrf={token}&title=".encode()
        )
        slow.append((reader, writer))
        await asyncio.gather(*(w.drain() for _, w in slow))
        crowded = [await asyncio.open_connection("127.0.0.1", port_of(server)) for _ in range(6)]
        turned_away = 0
        for r, w in crowded:  # past the cap a connection is answered at once and closed
            w.write(b"GET /static/citizen.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = await asyncio.wait_for(r.read(), 10)
            turned_away += answer.startswith(b"HTTP/1.1 503")
            w.close()
        assert turned_away >= 3
        answers = await asyncio.wait_for(asyncio.gather(*(r.read() for r, _ in slow)), 15)  # all cut off
        for _, w in slow:
            w.close()
        assert answers[-1].startswith(b"HTTP/1.1 408")  # the slow body is told so
        status, _ = await fetch(p, link)
        assert status == 200  # the page still serves everyone else
        counts = dict(server.connections.counts)
    assert counts["timed out"] >= 21 and counts["turned away"] >= 3
    log = (tmp_path / "logs" / "web.log").read_text()
    assert "too slow" in log and "turned away" in log
