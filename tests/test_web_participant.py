"""The participant's own page over real HTTP: contributing, feedback, corrections, consent, proposals."""

from __future__ import annotations

import re

from citizen.domain.models import ConsentKind, ConsentMethod, ContributionSource
from citizen.services import (
    add_contribution,
    give_feedback,
    post_update,
    publish_protocol_version,
)

from .support.web import (
    CONSENT,
    SCRIPT,
    WALK,
    enrol,
    fetch,
    form_token,
    no_markup,
    pairs,
    path_of,
    phone,
    send,
    served,
    stored,
)


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
