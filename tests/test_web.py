"""The enrolment server over real HTTP on 127.0.0.1: joining, the participant's page, every refusal."""

from __future__ import annotations

import asyncio
import html
import re
import signal
import socket
from datetime import timedelta

import aiohttp
import pytest

from citizen.domain.models import ConsentKind, ConsentMethod, ContributionSource, link_fingerprint, utcnow
from citizen.services import (
    ServiceError,
    add_contribution,
    close_invite,
    create_invite,
    enrol_participant,
    give_feedback,
    post_update,
    publish_protocol_version,
    withdraw,
)
from citizen.web import address
from citizen.web.security import RateLimits
from citizen.web.server import EnrolmentServer

from .support.commands import read_until, start_serve
from .support.web import CONSENT, WALK, enrol, fetch, form_token, leave, pairs, path_of, phone, send, served

SCRIPT = "<script>alert('x')</script><b>bold</b>"


@pytest.fixture
def invite(study):
    return create_invite(study, "library poster", "Amina Yusuf")


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
    assert "<script>" not in page and "<b>bold</b>" not in page


# -- joining ----------------------------------------------------------------------------------
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


def css_text() -> str:
    from citizen.web.server import HERE

    return (HERE / "static" / "citizen.css").read_text()


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


# -- the participant's page ---------------------------------------------------------------------
async def test_contributing_keeps_valid_answers_and_shows_errors_beside_fields(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        action = path_of(link) + "/contribute"
        before = stored(study)
        bad = dict(
            WALK,
            walk_date="31/02/2026",
            walk_minutes="lots",
            pm25="-3",
            route="moon",
            symptoms=["fever"],
            start_time="25:99",
            breathing="",
        )
        status, page, _ = await send(p, link, action, bad, server.base_url)
        assert status == 422 and stored(study) == before
        for key in ("walk_date", "walk_minutes", "pm25", "route", "symptoms", "start_time", "breathing"):
            assert f'id="f-{key}-err"' in page, key
            assert re.search(rf'id="f-{key}"[^>]*aria-describedby="f-{key}-err', page), key
        assert "Please enter a whole number" in page
        assert 'value="31/02/2026"' in page  # what they typed is kept for them to fix
        # The error summary names each field by its label.
        assert "How many minutes did you walk?</a>: Please enter a whole number" in page

        status, _, response = await send(p, link, action, WALK, server.base_url)
        assert status == 303 and response.headers["Location"] == path_of(link) + "?done=contributed"
        status, page = await fetch(p, link + "?done=contributed")
    (c,) = study.repo.contributions_of(study.repo.participants()[0].id)
    assert c.source is ContributionSource.phone
    assert c.values == {
        "walk_date": "2026-05-02",
        "route": "canal_path",
        "walk_minutes": 35,
        "traffic": 2,
        "smelled_fumes": False,
        "symptoms": ["cough", "wheeze"],
        "breathing": 4,
        "pm25": 12.5,
        "worst_spot": "Station Road",
        "start_time": "08:15",
        "notes": "Windy, fresh air.",
    }
    assert "your contribution was received" in page
    assert "Canal path" in page and "Coughing, Wheezing" in page and "received" in page


async def test_feedback_review_state_and_updates_show_on_the_page(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        participant = study.repo.participants()[0]
        c = add_contribution(study, participant.id, WALK, ContributionSource.phone, participant.code)
        give_feedback(study, c.id, "Your walk helped us map the bus station.", "Amina Yusuf")
        from citizen.domain.models import ReviewState
        from citizen.services import review_contributions

        review_contributions(study, [c.id], ReviewState.accepted, "", "Amina Yusuf")
        post_update(study, "What we learned in May", {"en": "Mornings were worse than evenings."}, "Amina Yusuf")
        _, page = await fetch(p, link)
    assert "Your walk helped us map the bus station." in page
    assert "accepted" in page
    assert "What we learned in May" in page and "Mornings were worse than evenings." in page


async def test_correcting_a_contribution_makes_a_revision_and_keeps_its_history(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        participant = study.repo.participants()[0]
        c = add_contribution(study, participant.id, WALK, ContributionSource.phone, participant.code)
        page_url = f"{link}/c/{c.id}"
        status, page = await fetch(p, page_url)
        assert status == 200 and 'value="35"' in page and 'value="canal_path" checked' in page
        action = path_of(page_url)
        status, page, _ = await send(p, page_url, action, dict(WALK, walk_minutes="500"), server.base_url)
        assert status == 422 and 'id="f-walk_minutes-err"' in page
        status, page, _ = await send(p, page_url, action, WALK, server.base_url)
        assert status == 422 and "Nothing was changed" in page
        status, _, _ = await send(p, page_url, action, dict(WALK, walk_minutes="40"), server.base_url)
        assert status == 303
        _, page = await fetch(p, link)
    new = study.repo.contribution(c.id)
    assert new.values["walk_minutes"] == 40 and new.history[0].values["walk_minutes"] == 35
    assert "corrected" in page


async def test_another_participants_contribution_cannot_be_seen_or_corrected(study, invite):
    async with served(study) as server, phone() as a, phone() as b:
        link_a, _ = await enrol(a, server, invite.token)
        link_b, _ = await enrol(b, server, invite.token)
        owner = study.repo.participant_by_link(link_a.rsplit("/", 1)[1])
        c = add_contribution(study, owner.id, WALK, ContributionSource.phone, owner.code)
        status, page = await fetch(b, f"{link_b}/c/{c.id}")
        assert status == 404 and "Station Road" not in page
        _, page_b = await fetch(b, link_b)
        token_b = form_token(page_b, path_of(link_b) + "/contribute")
        before = stored(study)
        async with b.post(
            f"{link_b}/c/{c.id}", data=pairs({"csrf": token_b, **dict(WALK, walk_minutes="9")}), allow_redirects=False
        ) as r:
            assert r.status == 404
        # A's form token does not work on B's page (it is bound to the page it came from).
        _, page_a = await fetch(a, link_a)
        token_a = form_token(page_a, path_of(link_a) + "/contribute")
        async with a.post(f"{link_b}/contribute", data=pairs({"csrf": token_a, **WALK}), allow_redirects=False) as r:
            assert r.status == 403
    assert stored(study) == before
    assert study.repo.contribution(c.id).values["walk_minutes"] == 35


async def test_optional_consent_can_be_changed_and_taking_part_stays(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        _, page = await fetch(p, link)
        assert 'name="consent_take_part"' not in page.split('id="consent"')[1]  # only the optional items
        assert 'name="consent_share_partners" value="yes" checked' in page  # their current choices
        status, _, _ = await send(
            p,
            link,
            path_of(link) + "/consent",
            {"consent_share_partners": "no", "consent_quote_words": "yes", "consent_contact_later": "no"},
            server.base_url,
        )
        assert status == 303
    participant = study.repo.participants()[0]
    event = study.repo.consent_events(participant.id)[-1]
    assert event.kind is ConsentKind.change and event.method is ConsentMethod.phone
    state = study.repo.consent_state(participant.id)
    assert state.granted == {"take_part", "quote_words"} and "share_partners" in state.declined


async def test_a_new_consent_version_asks_for_reconsent_showing_what_changed(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        current = study.repo.current_protocol()
        items = [i.model_dump() for i in current.consent.items] + [
            {"id": "photos", "text": {"en": "My photos of the walk may be used."}, "required": False}
        ]
        publish_protocol_version(study, current.fields, current.consent.text, items, "Photos.", "Amina Yusuf")
        _, page = await fetch(p, link)
        assert "The consent has changed" in page and "New: My photos of the walk may be used." in page
        assert "/contribute" not in page and " checked" not in page.split('id="reconsent"')[1].split("</form>")[0]
        before = stored(study)
        token = form_token(page, path_of(link) + "/consent")
        async with p.post(link + "/contribute", data=pairs({"csrf": token, **WALK}), allow_redirects=False) as r:
            assert r.status == 422 and "re-consent" in await r.text()
        assert stored(study) == before
        answers = {f"consent_{k}": v for k, v in CONSENT.items()}
        status, page, _ = await send(p, link, path_of(link) + "/consent", answers, server.base_url)
        assert status == 422 and 'id="f-photos-err"' in page  # the new item needs an answer too
        status, _, _ = await send(p, link, path_of(link) + "/consent", {**answers, "consent_photos": "no"}, server.base_url)
        assert status == 303
        status, _, _ = await send(p, link, path_of(link) + "/contribute", WALK, server.base_url)
        assert status == 303
    participant = study.repo.participants()[0]
    event = study.repo.consent_events(participant.id)[-1]
    assert event.kind is ConsentKind.reconsent and event.document_version == 2
    assert study.repo.contribution_count() == 1


async def test_a_participant_proposes_a_change(study, invite):
    async with served(study) as server, phone() as p:
        link, code = await enrol(p, server, invite.token)
        before = stored(study)
        status, page, _ = await send(p, link, path_of(link) + "/propose", {"title": "", "rationale": "Because."}, server.base_url)
        assert status == 422 and 'id="f-title-err"' in page and stored(study) == before
        assert "Because." in page  # kept for them
        status, _, _ = await send(
            p,
            link,
            path_of(link) + "/propose",
            {"title": "Walk at night too", "rationale": "The bakery lorries come at 4am."},
            server.base_url,
        )
        assert status == 303
    (proposal,) = study.repo.proposals()
    assert proposal.title == "Walk at night too" and proposal.participant_id == study.repo.participants()[0].id
    assert code in proposal.proposed_by


async def test_markup_in_every_text_field_is_shown_escaped(study, invite):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        base = server.base_url
        values = dict(WALK, notes=SCRIPT, worst_spot=SCRIPT, home_street=SCRIPT)
        assert (await send(p, link, path_of(link) + "/contribute", values, base))[0] == 303
        status, page, _ = await send(p, link, path_of(link) + "/contribute", dict(values, walk_minutes=SCRIPT), base)
        assert status == 422
        no_markup(page)
        assert "&lt;script&gt;" in page
        status, page, _ = await send(p, link, path_of(link) + "/propose", {"title": SCRIPT, "rationale": SCRIPT}, base)
        no_markup(page)
        participant = study.repo.participants()[0]
        give_feedback(study, study.repo.contributions_of(participant.id)[0].id, SCRIPT, "Amina Yusuf")
        post_update(study, SCRIPT, {"en": SCRIPT}, "Amina Yusuf")
        status, page = await fetch(p, link)
    assert status == 200
    no_markup(page)
    assert page.count("&lt;script&gt;") >= 5
    assert study.repo.contributions_of(participant.id)[0].values["notes"] == SCRIPT  # kept as typed


# -- refusals -----------------------------------------------------------------------------------
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


# -- live changes, concurrency, starting and stopping ---------------------------------------------
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
