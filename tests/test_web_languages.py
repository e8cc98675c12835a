"""A study in French (or Swahili, or Hindi) shows its volunteers no English word, refusals included.

Every visible string of every page a volunteer meets is checked against the language's catalogue
and the study's own texts: none may be an English page text (unless the language writes it the
same way), and every word must come from the catalogue, the study, or what the volunteer was given
(their code and link).
"""

from __future__ import annotations

import pytest

from citizen.services import create_invite
from citizen.web import catalogues

from .support.language_study import WALK, study_in, study_words, visible_texts, words
from .support.web import enrol, fetch, path_of, phone, receipt, send, served

pytest.importorskip("babel")


def catalogue(lang: str) -> dict[str, str]:
    """msgid -> its words; a counted text's English forms each -> all of the language's plural forms."""
    out = {}
    for m in catalogues.read_po(lang):
        if isinstance(m.id, tuple):
            out |= dict.fromkeys(m.id, " ".join(m.string))
        elif m.id:
            out[m.id] = m.string
    return out


class Reader:
    """Checks pages against one language: its catalogue, the study's texts, and what the person was given."""

    def __init__(self, lang: str, study):
        self.lang = lang
        self.words = catalogue(lang)
        self.english = {msgid for msgid, text in self.words.items() if msgid != text}
        self.allowed = set().union(*(words(t) for t in self.words.values()), *(words(t) for t in study_words(study)))
        self.pages = 0

    def given(self, *texts: str) -> None:
        for text in texts:
            self.allowed |= words(text)

    def say(self, msgid: str, **params) -> str:
        return self.words[msgid] % params if params else self.words[msgid]

    def check(self, page: str) -> None:
        assert f'<html lang="{self.lang}"' in page
        assert 'lang="en"' not in page  # nothing on the page had to fall back to English
        texts = visible_texts(page)
        assert texts
        for text in texts:
            assert text not in self.english, f"English on a {self.lang} page: {text!r}"
            stray = words(text) - self.allowed
            assert not stray, f"{text!r} has words that are neither {self.lang} page words nor the study's: {stray}"
        self.pages += 1


@pytest.mark.parametrize("lang", ["fr", "sw", "hi"])
async def test_a_study_in_one_language_enrols_and_contributes_with_no_english_word(data, tmp_path, lang):
    study = study_in(data, tmp_path, lang)
    invite = create_invite(study, "affiche", "Amina Yusuf")
    reader = Reader(lang, study)
    async with served(study) as server, phone("en-GB,en;q=0.9") as p:  # an English phone: the study decides
        status, page = await fetch(p, server.join_url(invite.token))
        assert status == 200
        reader.check(page)

        # A consent item left open is refused, in the study's language.
        status, page, _ = await send(
            p, server.join_url(invite.token), f"/j/{invite.token}", {"consent_take_part": "yes"}, server.base_url
        )
        assert status == 422 and reader.say("Please choose yes or no for this item.") in page
        reader.check(page)

        status, page, _ = await send(
            p,
            server.join_url(invite.token),
            f"/j/{invite.token}",
            {"consent_take_part": "yes", "consent_quote_words": "no"},
            server.base_url,
        )
        assert status == 200
        link, code = receipt(page)
        reader.given(code, link)
        reader.check(page)
        _, page = await fetch(p, link)
        reader.check(page)

        # Refused answers: too many minutes, and a required question left empty.
        status, page, _ = await send(
            p, link, path_of(link) + "/contribute", dict(WALK, walk_minutes="500", route=""), server.base_url
        )
        assert status == 422
        assert reader.say("Please enter %(n)s or less.", n="120") in page
        assert reader.say("This question needs an answer.") in page
        reader.check(page)

        status, _, response = await send(p, link, path_of(link) + "/contribute", WALK, server.base_url)
        assert status == 303
        _, page = await fetch(p, server.base_url + response.headers["Location"])
        assert reader.say("Thank you: your contribution was received.") in page
        reader.check(page)

        contribution = study.repo.contributions_of(study.repo.participant_by_link(path_of(link)[3:]).id)[0]
        _, page = await fetch(p, f"{link}/c/{contribution.id}")
        reader.check(page)
        status, page = await fetch(p, server.base_url + "/p/" + "Z" * 24)
        assert status == 404
        reader.check(page)

        # Leaving: the choice left open, the page that explains, then what was done.
        status, page = await fetch(p, f"{link}/leave")
        assert status == 422 and reader.say("Please choose what happens to what you gave.") in page
        reader.check(page)
        status, page = await fetch(p, f"{link}/leave?remove=keep")
        assert status == 200 and reader.say("This cannot be undone.") in page
        reader.check(page)
        status, _, response = await send(
            p, f"{link}/leave?remove=keep", path_of(link) + "/withdraw", {"remove": "keep", "confirm": "yes"}, server.base_url
        )
        assert status == 303
        _, page = await fetch(p, server.base_url + response.headers["Location"])
        assert reader.say("You have left the study") in page
        reader.check(page)
    assert reader.pages == 11
    assert contribution.values["walk_minutes"] == 35 and contribution.values["route"] == "canal"
    assert study.repo.consent_events(contribution.participant_id)[0].language == lang


async def test_french_refusals_read_as_french(data, tmp_path):
    study = study_in(data, tmp_path, "fr")
    invite = create_invite(study, "affiche", "Amina Yusuf")
    async with served(study) as server, phone("fr") as p:
        link, _ = await enrol(p, server, invite.token, {"take_part": "yes", "quote_words": "yes"})
        status, page, _ = await send(
            p, link, path_of(link) + "/contribute", dict(WALK, walk_minutes="500", breathing="9"), server.base_url
        )
    assert status == 422
    assert "Saisissez 120 ou moins." in page and "Choisissez une note de 1 à 5." in page
    assert "Vérifiez vos réponses" in page and "Please enter" not in page


@pytest.mark.parametrize("state", ["closed", "expired", "used up"])
async def test_an_invite_that_enrols_no_one_says_why_in_the_studys_language(data, tmp_path, state):
    from datetime import timedelta

    from citizen.domain.models import InviteState, utcnow
    from citizen.services import InviteNotOpen, close_invite
    from citizen.web.messages import INVITE_REFUSALS

    study = study_in(data, tmp_path, "fr")
    invite = create_invite(
        study,
        "affiche",
        "Amina Yusuf",
        limit=1 if state == "used up" else None,
        expires_at=utcnow() - timedelta(minutes=1) if state == "expired" else None,
    )
    async with served(study) as server, phone("fr") as p:
        if state == "closed":
            close_invite(study, invite.id, "Amina Yusuf")
        elif state == "used up":
            await enrol(p, server, invite.token, {"take_part": "yes", "quote_words": "yes"})
        status, page = await fetch(p, server.join_url(invite.token))
    kept = study.repo.invite_by_token(invite.token)
    assert kept.state() is InviteState(state)
    french = catalogue("fr")[INVITE_REFUSALS[InviteState(state)]]
    assert status == 410 and french in page and "This invitation" not in page
    with pytest.raises(InviteNotOpen) as refused:  # the desk is told the same state, in the team's words
        from citizen.domain.models import ConsentMethod
        from citizen.services import enrol_participant

        enrol_participant(study, {"take_part": True}, ConsentMethod.phone, "phone", invite_token=invite.token)
    assert refused.value.state is InviteState(state)
