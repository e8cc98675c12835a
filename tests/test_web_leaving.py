"""Leaving the study from the phone, over real HTTP: explained first, confirmed, then said as done."""

from __future__ import annotations

import re

import pytest

from citizen.domain.models import ConsentKind, ConsentMethod, ContributionSource
from citizen.services import add_contribution, create_invite, enrol_participant, propose_change

from .support.web import CONSENT, WALK, fetch, form_token, leave, pairs, path_of, phone, send, served


@pytest.fixture
def invite(study):
    return create_invite(study, "library poster", "Amina Yusuf")


def stored(study) -> tuple:
    """Everything that leaving would change: consent events, contributions and their values, contacts."""
    repo = study.repo
    people = repo.participants()
    return (
        len(repo.consent_events()),
        [(c.id, c.values, c.removed) for p in people for c in repo.contributions_of(p.id)],
        [repo.contact(p.id) for p in people],
        len(repo.audit()),
    )


def volunteer(study, walks: int = 2):
    """Someone who joined with a phone number and sent ``walks`` walks; their private link's path."""
    answers = {k: v == "yes" for k, v in CONSENT.items()} | {"contact_later": True}
    p = enrol_participant(study, answers, ConsentMethod.phone, "phone", contact={"phone": "07700 900123"})
    for _ in range(walks):
        add_contribution(study, p.id, WALK, ContributionSource.phone, p.code)
    return p


@pytest.mark.parametrize("choice", ["remove", "keep"])
async def test_leaving_is_explained_and_nothing_changes_until_it_is_confirmed(study, invite, choice):
    p = volunteer(study)
    propose_change(study, "A walk at night", "Fumes are worse after dark.", f"participant {p.code}", participant_id=p.id)
    async with served(study) as server, phone() as ph:
        link = server.private_url(p.link)
        _, page = await fetch(ph, link)
        # The choice on their page only opens the explanation: a GET form, no form token.
        assert re.search(rf'<form method="get" action="{path_of(link)}/leave"', page)
        before = stored(study)

        status, page = await fetch(ph, f"{link}/leave?remove={choice}")
        assert status == 200 and "Leave the study?" in page
        if choice == "remove":
            assert "You chose to remove what you gave." in page
            assert "Your contributions (2) will be deleted. They will never be used or shared." in page
            assert "What you wrote in your proposals to the team (1) will be deleted too" in page
        else:
            assert "You chose to keep what you gave and stop here." in page
            assert "Your contributions (2) stay with the study and may still be used" in page
            assert "proposals" not in page  # kept as they are
        assert "How to reach you, if you gave it, will be deleted" in page
        assert "record of your consent choices" in page
        assert "This cannot be undone." in page and "you will join as a new participant" in page
        assert f'href="{path_of(link)}"' in page  # a way back
        assert stored(study) == before

        # No choice: asked again beside the choice, nothing changed.
        status, page = await fetch(ph, f"{link}/leave")
        assert status == 422 and 'id="f-remove-err"' in page and "Please choose what happens" in page
        # A post that skipped the explanation (an old page, a hand-made form) is explained, not obeyed.
        token = form_token((await fetch(ph, link))[1], path_of(link) + "/contribute")
        async with ph.post(
            link + "/withdraw", data=pairs({"csrf": token, "lang": "en", "remove": choice}), allow_redirects=False
        ) as r:
            assert r.status == 200 and "This cannot be undone." in await r.text()
        status, page, _ = await send(
            ph, f"{link}/leave?remove={choice}", path_of(link) + "/withdraw", {"confirm": "yes"}, server.base_url
        )
        assert status == 422 and 'id="f-remove-err"' in page
        assert stored(study) == before
        assert not study.repo.consent_state(p.id).withdrawn

        status, _, response = await leave(ph, link, choice, server.base_url)
        assert status == 303 and response.headers["Location"] == f"{path_of(link)}?done=withdrawn"
        _, done = await fetch(ph, server.base_url + response.headers["Location"])

    state = study.repo.consent_state(p.id)
    assert state.withdrawn and state.remove_data is (choice == "remove")
    last = study.repo.consent_events(p.id)[-1]
    assert last.kind is ConsentKind.withdraw and last.method is ConsentMethod.phone
    kept = [c for c in study.repo.contributions_of(p.id) if not c.removed]
    assert len(kept) == (0 if choice == "remove" else 2)
    contact = study.repo.contact(p.id)
    assert (contact.name, contact.phone, contact.email) == ("", "", "")  # deleted either way, as the page said

    # What was done, said once: no "Nothing yet", no second thank-you, nothing more to fill in.
    assert "You have left the study" in done and "<form" not in done
    assert done.count("Thank you") == 1 and "Nothing yet" not in done and "What you have sent" not in done
    if choice == "remove":
        assert "Your contributions (2) were deleted." in done
        assert "What you wrote in your proposals to the team (1) was deleted too" in done
    else:
        assert "Your contributions (2) stay with the study" in done
    assert "was deleted: the team will not contact you" in done and "including your decision to leave" in done


async def test_the_private_link_after_leaving_says_what_was_done_and_takes_nothing_more(study, invite):
    p = volunteer(study, walks=1)
    (walk,) = study.repo.contributions_of(p.id)
    async with served(study) as server, phone() as ph:
        link = server.private_url(p.link)
        _, page = await fetch(ph, f"{link}/leave?remove=keep")
        spare = form_token(page, path_of(link) + "/withdraw")  # a second tab still open
        _, contribute_page = await fetch(ph, link)
        old_token = form_token(contribute_page, path_of(link) + "/contribute")
        status, _, _ = await leave(ph, link, "keep", server.base_url)
        assert status == 303
        before = stored(study)

        status, page = await fetch(ph, link)  # days later
        assert status == 200 and "You have left the study" in page and "Thank you" not in page
        assert re.search(r"You left the study on \d{4}-\d{2}-\d{2}\.", page)
        assert "Your contributions (1) stay with the study" in page and "<form" not in page

        # Nothing more can be started: leaving again, correcting, contributing.
        status, _ = await fetch(ph, f"{link}/leave?remove=remove")
        assert status == 303
        async with ph.post(
            link + "/withdraw", data={"csrf": spare, "lang": "en", "remove": "remove", "confirm": "yes"}, allow_redirects=False
        ) as r:
            assert r.status == 303 and r.headers["Location"] == path_of(link)
        status, _ = await fetch(ph, f"{link}/c/{walk.id}")
        assert status == 303
        async with ph.post(
            link + "/contribute", data=pairs({"csrf": old_token, "lang": "en", **WALK}), allow_redirects=False
        ) as r:
            assert r.status == 422 and "You have left the study" in await r.text()
        # A made-up notice does not thank them for something they did not do.
        _, page = await fetch(ph, link + "?done=contributed")
        assert "Thank you" not in page
    assert stored(study) == before
    assert [e.kind for e in study.repo.consent_events(p.id)].count(ConsentKind.withdraw) == 1


async def test_the_explanation_and_what_was_done_are_in_the_phones_language(study, invite):
    p = volunteer(study, walks=0)
    async with served(study) as server, phone("zh") as ph:
        link = server.private_url(p.link)
        _, page = await fetch(ph, f"{link}/leave?remove=remove")
        assert '<html lang="zh"' in page and "退出研究？" in page and "您还没有提交过任何内容。" in page
        # Switching language keeps the choice being explained.
        assert f'href="{path_of(link)}/leave?remove=remove&amp;lang=ar"' in page
        _, page = await fetch(ph, f"{link}/leave?remove=remove&lang=ar")
        assert 'dir="rtl"' in page and "لا يمكن التراجع عن ذلك." in page
        status, _, _ = await leave(ph, link, "remove", server.base_url)
        assert status == 303
        _, page = await fetch(ph, link + "?done=withdrawn")
        assert "لقد غادرت الدراسة" in page
    assert study.repo.consent_events(p.id)[-1].language == "ar"
