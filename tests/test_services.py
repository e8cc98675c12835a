"""The use cases: consent gates everything, every change is attributed in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState, StudyStatus
from citizen.services import (
    NotFound,
    Refused,
    ServiceError,
    add_contribution,
    change_consent,
    close_invite,
    correct_contribution,
    create_invite,
    decide_proposal,
    enrol_participant,
    give_feedback,
    import_protocol,
    open_study,
    post_update,
    propose_change,
    publish_protocol_version,
    review_contributions,
    set_study_status,
    withdraw,
)
from citizen.store import DataFolder

from .support.factories import WALK, YES_ALL, enrol


def actions(study):
    return [e.action for e in study.repo.audit()]


def test_importing_the_demo_protocol_publishes_version_one(study):
    record = study.repo.study()
    assert record.id == "air-quality-walk" and record.status is StudyStatus.draft
    current = study.repo.current_protocol()
    assert current.number == 1 and current.consent.version == 1 and current.approved_by == "Amina Yusuf"
    assert actions(study) == ["study created", "protocol published"]


def test_the_same_study_twice_is_refused_and_nothing_changes(data, demo_file, study):
    with pytest.raises(ServiceError, match="already exists"):
        import_protocol(data, demo_file, "someone")
    assert actions(study) == ["study created", "protocol published"]


def test_enrol_records_consent_and_a_readable_code(study):
    p = enrol(study, answers={**YES_ALL, "quote_words": False}, language="en")
    assert len(p.code) == 7 and p.code[2] == "-" and not set(p.code[3:]) & set("0O1IL2Z5S8B")
    assert len(p.token) >= 22
    [event] = study.repo.consent_events(p.id)
    assert event.granted == ["take_part", "share_partners", "contact_later"] and event.declined == ["quote_words"]
    assert event.text_sha256 == study.repo.current_protocol().consent.text_sha256("en")
    assert study.repo.consent_state(p.id).covers(study.repo.current_protocol().consent)
    assert actions(study)[-1] == "participant enrolled"


def test_enrolment_without_the_required_item_is_refused(study):
    with pytest.raises(Refused) as info:
        enrol(study, answers={**YES_ALL, "take_part": False})
    assert "take_part" in info.value.errors
    with pytest.raises(Refused):
        enrol(study, answers={"take_part": True})  # optional items left open are not assumed
    assert study.repo.participant_count() == 0


def test_desk_enrolment_needs_a_witness(study):
    with pytest.raises(Refused, match="witness"):
        enrol_participant(study, YES_ALL, ConsentMethod.desk, "Amina Yusuf")
    p = enrol_participant(study, YES_ALL, ConsentMethod.desk, "Amina Yusuf", witness="Tom Hale")
    assert study.repo.consent_events(p.id)[0].witness == "Tom Hale"


def test_invites_count_uses_and_refuse_when_closed_expired_or_full(study):
    poster = create_invite(study, "library poster", "Amina Yusuf", limit=1)
    assert len(poster.token) >= 22
    enrol(study, invite_token=poster.token)
    with pytest.raises(Refused, match="used as many times"):
        enrol(study, invite_token=poster.token)
    past = create_invite(study, "old flyer", "Amina Yusuf", expires_at=datetime.now(timezone.utc) - timedelta(days=1))
    with pytest.raises(Refused, match="expired"):
        enrol(study, invite_token=past.token)
    shut = create_invite(study, "closed one", "Amina Yusuf")
    close_invite(study, shut.id, "Amina Yusuf")
    with pytest.raises(Refused, match="closed"):
        enrol(study, invite_token=shut.token)
    with pytest.raises(NotFound):
        enrol(study, invite_token="guessed-token-guessed-token")
    assert study.repo.participant_count() == 1


def test_contributions_are_validated_and_gated_by_consent(study):
    p = enrol(study)
    c = add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")
    assert c.values["walk_minutes"] == 30 and c.values["symptoms"] == ["cough"] and c.protocol_version == 1
    with pytest.raises(Refused) as info:
        add_contribution(study, p.id, {**WALK, "walk_minutes": "a lot"}, ContributionSource.phone, "volunteer")
    assert info.value.errors == {"walk_minutes": "Please enter a whole number, like 42."}
    withdraw(study, p.id, False, ConsentMethod.phone, "participant")
    with pytest.raises(Refused, match="withdrawn"):
        add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")
    assert study.repo.contribution_count() == 1


def test_withdrawal_with_removal_leaves_tombstones(study):
    p = enrol(study)
    keep = enrol(study)
    for who in (p, p, keep):
        add_contribution(study, who.id, WALK, ContributionSource.phone, "volunteer")
    event = withdraw(study, p.id, True, ConsentMethod.desk, "Amina Yusuf")
    assert event.remove_data
    gone = study.repo.contributions_of(p.id)
    assert len(gone) == 2 and all(c.removed and c.values == {} for c in gone)
    assert study.repo.contributions_of(keep.id)[0].values["route"] == "canal_path"
    assert study.repo.consent_state(p.id).status == "withdrawn (data removed)"
    assert actions(study)[-1] == "participant withdrew"
    with pytest.raises(Refused, match="already withdrawn"):
        withdraw(study, p.id, True, ConsentMethod.phone, "participant")


def test_a_new_consent_version_asks_for_reconsent(study):
    p = enrol(study)
    current = study.repo.current_protocol()
    items = [i.model_dump() for i in current.consent.items] + [
        {"id": "photos", "text": {"en": "My photos of the walk may be used."}, "required": False}
    ]
    v2 = publish_protocol_version(study, current.fields, current.consent.text, items, "Photos item added.", "Amina Yusuf")
    assert v2.number == 2 and v2.consent.version == 2
    with pytest.raises(Refused, match="re-consent"):
        add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")
    change_consent(study, p.id, {**YES_ALL, "photos": False}, ConsentMethod.phone, "participant")
    assert study.repo.consent_events(p.id)[-1].kind.value == "reconsent"
    add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")


def test_publishing_the_same_consent_keeps_its_version_and_needs_a_summary(study):
    current = study.repo.current_protocol()
    items = [i.model_dump() for i in current.consent.items]
    with pytest.raises(Refused, match="what changed"):
        publish_protocol_version(study, current.fields, current.consent.text, items, "  ", "Amina Yusuf")
    v2 = publish_protocol_version(study, current.fields[:5], current.consent.text, items, "Shorter form.", "Tom Hale")
    assert v2.consent.version == 1
    assert [v.number for v in study.repo.protocol_versions()] == [1, 2]
    assert study.repo.protocol_version(1).fields == current.fields  # never edited


def test_a_contributor_corrects_and_the_history_is_kept(study):
    p = enrol(study)
    other = enrol(study)
    c = add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")
    review_contributions(study, [c.id], ReviewState.accepted, "", "Amina Yusuf")
    new = correct_contribution(study, p.id, c.id, {**WALK, "walk_minutes": "45"}, "participant")
    assert new.values["walk_minutes"] == 45 and new.history[0].values["walk_minutes"] == 30
    assert new.review_state is ReviewState.received  # the coordinator sees that it changed
    with pytest.raises(NotFound):
        correct_contribution(study, other.id, c.id, WALK, "someone else")


def test_review_feedback_updates_and_proposals_are_attributed(study):
    p = enrol(study)
    a = add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")
    b = add_contribution(study, p.id, WALK, ContributionSource.desk, "Amina Yusuf")
    review_contributions(study, [a.id, b.id], ReviewState.needs_attention, "Check the minutes.", "Tom Hale")
    assert {c.review_state for c in study.repo.contributions_of(p.id)} == {ReviewState.needs_attention}
    give_feedback(study, a.id, "Your walk marked a hotspot.", "Amina Yusuf")
    assert study.repo.contribution(a.id).feedback[0].by == "Amina Yusuf"
    post_update(study, "First map", {"en": "We found a hotspot."}, "Amina Yusuf")
    prop = propose_change(study, "Evening walks", "We walk after work.", "participant", participant_id=p.id)
    with pytest.raises(Refused, match="reason"):
        decide_proposal(study, prop.id, True, "", "Amina Yusuf")
    decided = decide_proposal(study, prop.id, True, "Good idea.", "Amina Yusuf")
    assert decided.decided_by == "Amina Yusuf" and decided.status.value == "accepted"
    set_study_status(study, StudyStatus.recruiting, "Amina Yusuf")
    log = study.repo.audit()
    assert [e.action for e in log][-6:] == [
        "contributions reviewed",
        "feedback given",
        "update posted",
        "change proposed",
        "proposal accepted",
        "study status changed",
    ]
    assert log[-1].actor == "Amina Yusuf" and log[-1].details == {"from": "draft", "to": "recruiting"}


def test_everything_survives_a_reopen(data_path, demo_file):
    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        p = enrol(study)
        c = add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")
    with DataFolder(data_path) as data:
        again = open_study(data, "air-quality-walk")
        assert again.repo.contribution(c.id).values == c.values
        assert again.repo.participant_by("token", p.token).code == p.code


def test_the_demo_is_a_living_study(demo_data_path):
    from citizen.services.queries import figures, list_studies

    with DataFolder(demo_data_path) as data:
        [summary] = list_studies(data)
        assert summary.participants == 40 and summary.protocol_version == 2
        fig = figures(open_study(data, summary.id))
    assert fig.withdrawn == 2 and fig.removed > 0
    assert fig.by_review["accepted"] > 0 and fig.by_review["received"] > 0
    assert fig.open_proposals == 1 and fig.updates == 2
    assert len(fig.by_week) >= 5


def test_an_answer_holding_half_a_character_is_refused_and_nothing_is_stored(study):
    p = enrol(study)
    with pytest.raises(Refused) as refused:
        add_contribution(study, p.id, {**WALK, "notes": "broken \ud800 text"}, ContributionSource.phone, "volunteer")
    assert refused.value.errors == {"notes": "This answer contains a character that cannot be kept."}
    assert study.repo.contribution_count() == 0
