""" "Remove what I gave" wins over every other laptop's copy: a bundle or a sync from a laptop that
still holds the participant's proposals or contributions brings none of their words back."""

from __future__ import annotations

import json

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.services import add_contribution, decide_proposal, import_protocol, propose_change, withdraw
from citizen.services.merge import canonical_form, merge_bundle

from .support.bundles import WALK, YES_ALL, laptop_folder, snapshot, study_of

WORDS = ("Tannery Row", "I wheeze by the bakery")


@pytest.fixture
def laptops(tmp_path, demo_file):
    """AC set the study up and enrolled a volunteer; DE holds a copy of it all."""
    from citizen.services import enrol_participant

    a = laptop_folder(tmp_path / "a", "AC")
    b = laptop_folder(tmp_path / "b", "DE")
    sa = import_protocol(a, demo_file, "Amina Yusuf")
    person = enrol_participant(sa, YES_ALL, ConsentMethod.phone, "volunteer")
    merge_bundle(b, snapshot(sa), "Li Wei")
    yield a, b, person
    a.close()
    b.close()


def said(study) -> str:
    """Every word the study holds (records and the whole activity log, merge conflicts included), as one text."""
    trail = [e.model_dump(mode="json") for e in study.repo.audit()]
    return json.dumps([canonical_form(study), trail], ensure_ascii=False)


def propose(study, person):
    return propose_change(
        study, "Walks past Tannery Row", "I wheeze by the bakery every morning", "volunteer", participant_id=person.id
    )


def test_a_proposal_both_laptops_held_stays_without_its_words_either_way(laptops):
    a, b, person = laptops
    sa, sb = study_of(a), study_of(b)
    mine = propose(sa, person)
    merge_bundle(b, snapshot(sa), "Li Wei")
    decide_proposal(sb, mine.id, True, "Good idea for the school route", "Li Wei")  # DE decides on its copy
    withdraw(sa, person.id, True, ConsentMethod.phone, "participant")
    assert not any(w in said(sa) for w in WORDS)

    merge_bundle(a, snapshot(sb), "Amina Yusuf")  # DE's copy, words and all, comes back to AC
    merge_bundle(b, snapshot(sa), "Li Wei")
    for study in (sa, sb):
        text = said(study)
        assert not any(w in text for w in WORDS), [w for w in WORDS if w in text]
        kept = study.repo.proposal(mine.id) if hasattr(study.repo, "proposal") else None
        kept = kept or [p for p in study.repo.proposals() if p.id == mine.id][0]
        assert kept.status.value == "accepted" and kept.decision_reason == "Good idea for the school route"
    assert canonical_form(sa) == canonical_form(sb)


def test_words_given_on_another_laptop_are_removed_when_the_withdrawal_reaches_it(laptops):
    """The volunteer proposed and walked on DE's copy; they withdrew with removal at AC, which never saw it."""
    a, b, person = laptops
    sa, sb = study_of(a), study_of(b)
    propose(sb, person)
    walk = add_contribution(
        sb, person.id, dict(WALK, notes="Past Tannery Row, I wheeze by the bakery"), ContributionSource.phone, "volunteer"
    )
    withdraw(sa, person.id, True, ConsentMethod.phone, "participant")

    merge_bundle(a, snapshot(sb), "Amina Yusuf")  # AC takes DE's news: the removal wins
    assert not any(w in said(sa) for w in WORDS)
    assert sa.repo.contribution(walk.id).removed and sa.repo.contribution(walk.id).values == {}

    merge_bundle(b, snapshot(sa), "Li Wei")  # and DE, told of the withdrawal, lets go of them too
    assert not any(w in said(sb) for w in WORDS)
    assert sb.repo.contribution(walk.id).removed
    assert canonical_form(sa) == canonical_form(sb)


def test_the_other_order_gives_the_same_study(laptops):
    a, b, person = laptops
    sa, sb = study_of(a), study_of(b)
    propose(sb, person)
    add_contribution(sb, person.id, WALK, ContributionSource.phone, "volunteer")
    withdraw(sa, person.id, True, ConsentMethod.phone, "participant")
    from_a, from_b = snapshot(sa), snapshot(sb)
    merge_bundle(b, from_a, "Li Wei")  # DE first this time
    merge_bundle(a, from_b, "Amina Yusuf")
    assert canonical_form(sa) == canonical_form(sb)
    again = merge_bundle(a, snapshot(sb), "Amina Yusuf")
    assert again.nothing_to_merge or again.only_bookkeeping
    assert not any(w in said(sa) for w in WORDS)


def test_a_sync_from_a_laptop_that_still_holds_the_words_brings_none_back(tmp_path, demo_file, hub_db):
    """The same over a hub: DE keeps the volunteer's proposal and walk; AC withdraws them with removal."""
    from citizen.services import enrol_participant

    from .support.sync import clone, differences, sync

    a = laptop_folder(tmp_path / "a", "AC")
    b = laptop_folder(tmp_path / "b", "DE")
    sa = import_protocol(a, demo_file, "Amina Yusuf")
    person = enrol_participant(sa, YES_ALL, ConsentMethod.phone, "volunteer")
    propose(sa, person)
    sync(a, hub_db)
    clone(b, hub_db)
    sb = study_of(b)
    add_contribution(sb, person.id, dict(WALK, notes="Past Tannery Row"), ContributionSource.phone, "volunteer")
    sync(b, hub_db)  # the hub holds the words, from DE
    withdraw(sa, person.id, True, ConsentMethod.phone, "participant")
    for _ in range(2):
        sync(a, hub_db)
        sync(b, hub_db)
    for study in (study_of(a), study_of(b)):
        assert not any(w in said(study) for w in WORDS)
    assert differences(a, b) == []
    a.close()
    b.close()
