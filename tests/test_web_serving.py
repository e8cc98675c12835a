"""The phone server running: live changes, many phones at once, starting, stopping, `citizen serve`."""

from __future__ import annotations

import asyncio
import re
import signal
import socket

import aiohttp
import pytest

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.services import (
    ServiceError,
    add_contribution,
    enrol_participant,
    give_feedback,
    post_update,
    publish_protocol_version,
    withdraw,
)
from citizen.web import address
from citizen.web.server import EnrolmentServer

from .support.commands import read_until, start_serve
from .support.web import (
    CONSENT,
    WALK,
    css_text,
    enrol,
    fetch,
    phone,
    send,
    served,
)


async def test_the_terminal_app_hears_of_an_enrolment_made_over_http(study, invite):
    heard = []
    study.on_change(lambda ops: heard.extend(table for table, _, _ in ops))
    async with served(study) as server, phone() as p:
        await enrol(p, server, invite.token)
    assert "participants" in heard and "consent_events" in heard


async def test_fifty_phones_contributing_at_once_are_all_kept(study, invite):
    people = [
        enrol_participant(
            study, {k: v == "yes" for k, v in CONSENT.items()}, ConsentMethod.phone, "phone", invite_token=invite.token
        )
        for _ in range(50)
    ]
    async with served(study) as server:

        async def one(i: int, token: str) -> int:
            async with phone() as p:
                link = server.private_url(token)
                status, _, _ = await send(p, link, f"/p/{token}/contribute", dict(WALK, walk_minutes=str(i + 1)), server.base_url)
                return status

        statuses = await asyncio.gather(*(one(i, p.link) for i, p in enumerate(people)))
    assert statuses == [303] * 50
    docs = list(study.repo.contribution_docs())
    assert len(docs) == 50 and len({d["id"] for d in docs}) == 50
    assert sorted(d["values"]["walk_minutes"] for d in docs) == list(range(1, 51))
    assert study.repo.contribution_count() == 50


async def test_a_port_in_use_is_a_plain_service_error(study):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = EnrolmentServer(study, "127.0.0.1", port)
        with pytest.raises(ServiceError, match="already in use"):
            await server.start()
    with pytest.raises(ServiceError, match="not an address of this laptop"):
        await EnrolmentServer(study, "203.0.113.77", 0).start()


async def test_start_gives_the_address_and_links_and_stop_closes(study, invite):
    server = EnrolmentServer(study, "127.0.0.1", 0)
    await server.start()
    port = int(server.base_url.rsplit(":", 1)[1])
    assert server.base_url == f"http://127.0.0.1:{port}" and port > 0
    assert server.join_url("T" * 24) == f"http://127.0.0.1:{port}/j/{'T' * 24}"
    assert server.private_url("T" * 24) == f"http://127.0.0.1:{port}/p/{'T' * 24}"
    await server.stop()
    with pytest.raises(aiohttp.ClientConnectorError):
        async with aiohttp.ClientSession() as s, s.get(server.join_url(invite.token)):
            pass


def test_the_local_address_is_found_without_traffic():
    found = address.local_address()
    socket.inet_aton(found)  # an IPv4 address
    assert address.base_url("0.0.0.0", 8080) == f"http://{found}:8080"
    assert address.base_url("192.168.1.20", 80) == "http://192.168.1.20:80"
    assert address.base_url("::1", 8080) == "http://[::1]:8080"


def test_withdrawal_records_the_language_it_was_asked_in(study):
    p = enrol_participant(study, {k: v == "yes" for k, v in CONSENT.items()}, ConsentMethod.phone, "phone")
    event = withdraw(study, p.id, False, ConsentMethod.phone, p.code, language="ar")
    assert event.language == "ar"
    assert event.text_sha256 == study.repo.current_protocol().consent.text_sha256("ar")
    q = enrol_participant(study, {k: v == "yes" for k, v in CONSENT.items()}, ConsentMethod.phone, "phone", language="zh")
    assert withdraw(study, q.id, False, ConsentMethod.phone, q.code).language == "zh"  # as they last consented


def test_citizen_serve_prints_the_links_and_stops_cleanly_on_ctrl_c(data_path, demo_file, run_env):
    import urllib.request

    proc = start_serve(data_path, demo_file, run_env, "--new-invite", "library poster")
    try:
        seen: list[str] = []
        line = read_until(proc, "/j/", seen)
        assert line.startswith("  library poster: http://127.0.0.1:")
        from .support.qr_images import decoded, terminal_image  # the QR printed above the link reads back as the link

        art = "\n".join(x for x in seen[:-1] if x and set(x) <= set("▀▄█ "))
        assert decoded(terminal_image(art)) == [line.split(": ", 1)[1].strip()]
        with urllib.request.urlopen(line.split(": ", 1)[1].strip(), timeout=10) as r:
            assert r.status == 200 and "Clean Air Walks" in r.read().decode()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "Stopped." in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_citizen_serve_says_how_to_make_an_invite_when_there_is_none(data_path, demo_file, run_env):
    proc = start_serve(data_path, demo_file, run_env)
    try:
        assert "--new-invite" in read_until(proc, "no open invite")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_a_busy_participant_page_stays_small(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        participant = study.repo.participants()[0]
        for i in range(15):
            c = add_contribution(
                study,
                participant.id,
                dict(WALK, notes=f"Walk {i}: " + "windy by the canal " * 8),
                ContributionSource.phone,
                participant.code,
            )
            give_feedback(study, c.id, "Thank you, this helped us map the High Street.", "Amina Yusuf")
        for i in range(3):
            post_update(study, f"What we learned, part {i}", {"en": "Mornings were worse than evenings. " * 6}, "Amina Yusuf")
        _, page = await fetch(p, link)
        _, older = await fetch(p, link + "?from=5")
        _, odd = await fetch(p, link + "?from=-3")
    assert "Earlier contributions (10 more)" in page and "?from=5#yours" in page
    assert "Walk 14:" in page and "Walk 9:" not in page
    assert "Walk 9:" in older and "Walk 14:" not in older and "Newer contributions" in older
    assert "Walk 14:" in odd  # a strange offset shows the newest
    assert len(page.encode()) + len(css_text().encode()) < 30_000


def test_a_change_listener_may_wait_for_a_thread_that_reads_the_study(study, invite):
    """As the terminal app does while the server writes: its listener waits for the app's loop,
    which may be reading the study at that moment. The listener runs once the lock is let go."""
    import threading

    finished = []

    def listener(ops) -> None:
        reader = threading.Thread(target=lambda: finished.append(study.repo.contribution_count()))
        reader.start()
        reader.join(timeout=10)
        assert not reader.is_alive(), "the reader waited for the writer's lock"

    study.on_change(listener)
    participant = enrol_participant(
        study, {k: v == "yes" for k, v in CONSENT.items()}, ConsentMethod.phone, "phone", invite_token=invite.token
    )
    add_contribution(study, participant.id, WALK, ContributionSource.phone, participant.code)
    assert finished == [0, 1]


async def test_the_questions_made_once_are_the_same_page_and_follow_a_new_version(study, invite):
    """A phone's page carries the questions made once per language and version (tokens aside, which
    are fresh per page, two pages are the same), and a new version's questions as soon as it is published."""
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        _, first = await fetch(p, link)
        _, again = await fetch(p, link)
        current = study.repo.current_protocol()
        items = [i.model_dump() for i in current.consent.items]
        publish_protocol_version(study, current.fields[:5], current.consent.text, items, "Shorter form.", "Tom Hale")
        _, shorter = await fetch(p, link)

    def tokens_aside(page: str) -> str:
        return re.sub(r'name="csrf" value="[^"]+"', 'name="csrf"', page)

    assert tokens_aside(first) == tokens_aside(again)
    assert 'name="walk_minutes"' in first and 'name="notes"' in first and "(required)" in first
    assert all(f'name="{f.key}"' in shorter for f in current.fields[:5]) and 'name="notes"' not in shorter
