"""Joining over real HTTP on 127.0.0.1: the join page, enrolling, its receipt, and who is turned away."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from citizen.domain.models import ConsentKind, ConsentMethod, link_fingerprint, utcnow
from citizen.services import (
    close_invite,
    create_invite,
    enrol_participant,
)

from .support.web import (
    CONSENT,
    WALK,
    css_text,
    enrol,
    fetch,
    leave,
    path_of,
    phone,
    send,
    served,
    stored,
)


async def test_the_join_page_shows_the_study_and_asks_each_consent_item_with_nothing_chosen(study, invite):
    async with served(study) as server, phone() as p:
        async with p.get(server.join_url(invite.token)) as r:
            page = await r.text()
            assert r.status == 200
            headers = r.headers
    assert "Clean Air Walks in Northgate" in page
    assert "Find out together where and when the air" in page  # the shared aim
    assert "Residents of Northgate" in page  # the summary
    assert "Northgate Health Centre" in page  # the consent text
    for item in CONSENT:
        assert page.count(f'name="consent_{item}"') == 2  # a yes and a no
    assert " checked" not in page
    assert "<script" not in page
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert len(page.encode()) + len((css_text()).encode()) < 30_000


async def test_enrolling_records_each_choice_and_gives_code_private_link_and_qr(study, invite):
    async with served(study) as server, phone() as p:
        consent = {"take_part": "yes", "share_partners": "no", "quote_words": "yes", "contact_later": "no"}
        link, code = await enrol(p, server, invite.token, consent)
        status, page = await fetch(p, link)
    participant = study.repo.participants()[0]
    assert participant.code == code
    assert link_fingerprint(link.rsplit("/", 1)[1]) == participant.token  # the link itself is not kept
    assert status == 200 and code in page
    (event,) = study.repo.consent_events(participant.id)
    assert event.method is ConsentMethod.phone and event.kind is ConsentKind.enrol
    assert sorted(event.granted) == ["quote_words", "take_part"]
    assert sorted(event.declined) == ["contact_later", "share_partners"]
    assert event.language == "en"
    assert study.repo.invites()[0].uses == 1
    assert participant.invite_id == invite.id


async def test_the_receipt_carries_a_qr_of_the_private_link(study, invite):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    async with served(study) as server, phone() as p:
        status, page, _ = await send(
            p,
            server.join_url(invite.token),
            f"/j/{invite.token}",
            {f"consent_{k}": v for k, v in CONSENT.items()},
            server.base_url,
        )
    assert status == 200
    svg = page[page.index("<svg") : page.index("</svg>")]
    size = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    for x, y in re.findall(r"M(\d+),(\d+)H", svg):  # one unit square per dark module
        image.paste(0, (int(x) * scale, int(y) * scale, (int(x) + 1) * scale, (int(y) + 1) * scale))
    decoded = zxingcpp.read_barcodes(image)
    participant = study.repo.participants()[0]
    link = html.unescape(re.search(r'id="private-link"[^>]*>([^<]+)<', page).group(1))
    assert [d.text for d in decoded] == [link] and link_fingerprint(link.rsplit("/", 1)[1]) == participant.token


@pytest.mark.parametrize(
    "consent",
    [
        {"take_part": "no", "share_partners": "yes", "quote_words": "yes", "contact_later": "yes"},
        {"share_partners": "yes", "quote_words": "yes", "contact_later": "yes"},
        {"take_part": "yes", "share_partners": "yes", "quote_words": "maybe", "contact_later": "no"},
    ],
)
async def test_enrolment_is_refused_beside_the_item_unless_every_item_is_answered_and_required_granted(study, invite, consent):
    before = stored(study)
    async with served(study) as server, phone() as p:
        status, page, _ = await send(
            p,
            server.join_url(invite.token),
            f"/j/{invite.token}",
            {f"consent_{k}": v for k, v in consent.items()},
            server.base_url,
        )
    assert status == 422
    assert stored(study) == before and study.repo.invites()[0].uses == 0
    bad = "take_part" if consent.get("take_part") != "yes" else "quote_words"
    assert f'id="f-{bad}" class="consent-item invalid" aria-describedby="f-{bad}-err"' in page
    assert f'id="f-{bad}-err"' in page
    assert 'role="alert"' in page
    # What was chosen stays chosen; nothing else is ticked for them.
    for item, answer in consent.items():
        if answer in ("yes", "no"):
            assert f'name="consent_{item}" value="{answer}" checked' in page


@pytest.mark.parametrize("kind", ["unknown", "closed", "expired", "used"])
async def test_unknown_closed_expired_and_used_up_invites_get_a_plain_page(study, kind):
    if kind == "unknown":
        token, status = "A" * 24, 404
    else:
        invite = create_invite(
            study,
            "poster",
            "Amina Yusuf",
            limit=1 if kind == "used" else None,
            expires_at=utcnow() - timedelta(minutes=1) if kind == "expired" else None,
        )
        token, status = invite.token, 410
        if kind == "closed":
            close_invite(study, invite.id, "Amina Yusuf")
        if kind == "used":
            enrol_participant(
                study, {k: v == "yes" for k, v in CONSENT.items()}, ConsentMethod.phone, "phone", invite_token=invite.token
            )
    before = stored(study)
    async with served(study) as server, phone() as p:
        got, page = await fetch(p, server.join_url(token))
        async with p.post(server.join_url(token), data={"csrf": "x", "consent_take_part": "yes"}) as r:
            posted = r.status
    assert got == status and posted == status
    assert "<form" not in page
    assert stored(study) == before
    expected = {"unknown": "not known", "closed": "closed", "expired": "expired", "used": "as many times"}[kind]
    assert expected in page


@pytest.mark.parametrize("status,words,zh", [("paused", "is paused", "暂停"), ("closed", "has finished", "已经结束")])
async def test_a_paused_or_closed_study_takes_no_one_and_nothing_new_but_withdrawal_stays_open(study, invite, status, words, zh):
    from citizen.services.design import change_status

    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        change_status(study, status, "Amina Yusuf")
        before = stored(study)
        got, page = await fetch(p, server.join_url(invite.token))
        assert got == 409 and words in page and "<form" not in page
        _, page_zh = await fetch(p, server.join_url(invite.token) + "?lang=zh")  # in the phone's language too
        assert zh in page_zh
        posted, page, _ = await send(p, link, path_of(link) + "/contribute", WALK, server.base_url)
        assert posted == 409 and zh in page  # the page's language is remembered
        assert stored(study) == before
        posted, _, _ = await leave(p, link, "keep", server.base_url)
        assert posted == 303  # withdrawing is always possible
    assert study.repo.consent_state(study.repo.participants()[0].id).withdrawn
