"""What a phone may change, and what leaving removes (issue 18, findings 7 and 8), over real HTTP."""

from __future__ import annotations

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.services import (
    NotOpen,
    add_contribution,
    correct_contribution,
    decide_proposal,
    enrol_participant,
    propose_change,
)
from citizen.services.design import change_status

from .support.web import CONSENT, WALK, enrol, fetch, leave, path_of, phone, send, served


def stored(study) -> tuple:
    repo = study.repo
    return (
        [c.values for c in repo.contributions_of(repo.participants()[0].id)],
        [(p.title, p.rationale) for p in repo.proposals()],
        len(repo.audit()),
    )


@pytest.mark.parametrize("status,words", [("paused", "is paused"), ("closed", "has finished")])
async def test_a_paused_or_closed_study_takes_no_correction_or_proposal_from_a_phone(study, invite, status, words):
    """Finding 7: corrections and proposals skipped the gate that contributions have."""
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        await send(p, link, path_of(link) + "/contribute", WALK, server.base_url)
        cid = study.repo.contribution_docs().__next__()["id"]
        change_status(study, status, "Amina Yusuf")
        before = stored(study)
        posted, page, _ = await send(
            p, f"{link}/c/{cid}", f"{path_of(link)}/c/{cid}", dict(WALK, walk_minutes="99"), server.base_url
        )
        assert posted == 409 and words in page
        posted, page, _ = await send(
            p, link, path_of(link) + "/propose", {"title": "Evening walks", "rationale": "After work"}, server.base_url
        )
        assert posted == 409 and words in page
        assert stored(study) == before
        posted, _, _ = await leave(p, link, "keep", server.base_url)
        assert posted == 303  # leaving is never refused


def test_the_services_gate_every_change_a_phone_can_make_but_not_the_desk(study, invite):
    """Finding 7: the gate sits in the services, whatever calls them."""
    answers = {k: v == "yes" for k, v in CONSENT.items()}
    person = enrol_participant(study, answers, ConsentMethod.phone, "phone", invite_token=invite.token)
    first = add_contribution(study, person.id, dict(WALK), ContributionSource.phone, person.code)
    change_status(study, "paused", "Amina Yusuf")
    with pytest.raises(NotOpen):
        enrol_participant(study, answers, ConsentMethod.phone, "phone", invite_token=invite.token)
    with pytest.raises(NotOpen):
        add_contribution(study, person.id, dict(WALK), ContributionSource.phone, person.code)
    with pytest.raises(NotOpen):
        correct_contribution(study, person.id, first.id, dict(WALK, walk_minutes="99"), person.code)
    with pytest.raises(NotOpen):
        propose_change(study, "Evening walks", "After work", person.code, participant_id=person.id, from_phone=True)
    assert study.repo.contribution_count() == 1 and not study.repo.proposals()
    # The team still records what was brought to the desk, and its own proposals.
    add_contribution(study, person.id, dict(WALK), ContributionSource.desk, "Amina Yusuf")
    propose_change(study, "Evening walks", "Asked at the desk", "Amina Yusuf")
    assert study.repo.contribution_count() == 2 and len(study.repo.proposals()) == 1


async def test_removing_what_i_gave_removes_my_proposals_words_but_keeps_the_decision(study, invite):
    """Finding 8: "remove what I gave" left the participant's proposals and their title in the audit log."""
    async with served(study) as server, phone() as p, phone() as other:
        link, code = await enrol(p, server, invite.token)
        other_link, _ = await enrol(other, server, invite.token)
        for title in ("My street by the school", "Walks past my flat at 12 Mill Lane"):
            posted, _, _ = await send(
                p, link, path_of(link) + "/propose", {"title": title, "rationale": f"{title}: I cough there"}, server.base_url
            )
            assert posted == 303
        await send(
            other,
            other_link,
            path_of(other_link) + "/propose",
            {"title": "Evening walks", "rationale": "After work"},
            server.base_url,
        )
        mine = [pr for pr in study.repo.proposals() if pr.title.startswith("My street")][0]
        decide_proposal(study, mine.id, True, "A good idea for the school route", "Amina Yusuf")
        posted, _, _ = await leave(p, link, "remove", server.base_url)
        assert posted == 303
        status, page = await fetch(p, link)
    proposals = {pr.proposed_by: pr for pr in study.repo.proposals() if pr.participant_id}
    assert len(study.repo.proposals()) == 3  # the record that something was proposed and decided stays
    texts = " ".join(f"{pr.title} {pr.rationale}" for pr in study.repo.proposals())
    assert "Mill Lane" not in texts and "My street" not in texts and "cough" not in texts
    assert "Evening walks" in texts  # someone else's proposal is theirs
    decided = [pr for pr in study.repo.proposals() if pr.id == mine.id][0]
    assert decided.status.value == "accepted" and decided.decision_reason == "A good idea for the school route"
    trail = " ".join(f"{e.target} {e.details}" for e in study.repo.audit())
    assert "Mill Lane" not in trail and "My street" not in trail
    assert proposals and status == 200 and "Mill Lane" not in page
    assert [e for e in study.repo.audit() if e.action == "participant withdrew"][0].details["proposals_removed"] == 2
