"""Many writers at once through the services: 50 phones submitting while the coordinator reviews.

Every record is kept, ids are unique, and no update is lost (two people adding to the same
contribution, or enrolling through the same invite, both count).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from citizen.domain.models import ConsentMethod, Contribution, ContributionSource, ReviewState
from citizen.services import (
    add_contribution,
    add_proposal_note,
    create_invite,
    enrol_participant,
    give_feedback,
    open_study,
    propose_change,
    review_contributions,
)
from citizen.services.queries import check_data_folder, figures
from citizen.store import DataFolder, segments

from .support.harness import ANSWERS, contribution_values

PHONES = 50
EACH = 6


def test_fifty_phones_and_a_coordinator_lose_nothing(data_path, data, study):
    invite = create_invite(study, "library poster", "Amina Yusuf")
    start = threading.Barrier(PHONES + 2)
    stop = threading.Event()
    reviewed: list[str] = []
    read_errors: list[BaseException] = []

    def phone(n: int) -> tuple[str, list[str]]:
        start.wait()
        p = enrol_participant(study, ANSWERS, ConsentMethod.phone, "volunteer", invite_token=invite.token)
        return p.id, [
            add_contribution(study, p.id, contribution_values(n * EACH + i), ContributionSource.phone, "volunteer").id
            for i in range(EACH)
        ]

    def coordinator() -> None:
        start.wait()
        while not stop.is_set():
            waiting = [d["id"] for d in study.repo.contribution_docs() if d["review_state"] == "received"][:5]
            if waiting:
                review_contributions(study, waiting, ReviewState.accepted, "looks complete", "Amina Yusuf")
                reviewed.extend(waiting)

    def reader() -> None:
        # The overview's figures are counted on another thread while the writes land.
        start.wait()
        while not stop.is_set():
            try:
                figures(study)
            except BaseException as exc:  # noqa: BLE001 - any failure here is what the test looks for
                read_errors.append(exc)
                return

    with ThreadPoolExecutor(max_workers=PHONES + 2) as pool:
        side = [pool.submit(coordinator), pool.submit(reader)]
        phones = [pool.submit(phone, n) for n in range(PHONES)]
        try:
            results = [f.result(timeout=300) for f in phones]
        finally:  # a phone that fails or times out must not leave the coordinator and reader looping for ever
            stop.set()
        for f in side:
            f.result(timeout=60)
    assert read_errors == []
    submitted = {cid for _, ids in results for cid in ids}
    assert len(submitted) == PHONES * EACH

    data.close()  # as when the app quits; then read everything back from disk
    with DataFolder(data_path) as data:
        again = open_study(data, study.id)
        stored = [Contribution.model_validate(d) for d in again.repo.contribution_docs()]
        people = again.repo.participants()
        assert {c.id for c in stored} == submitted  # every record kept
        assert len(stored) == len(submitted)  # ids unique
        assert len({p.id for p in people}) == PHONES and len({p.code for p in people}) == PHONES
        assert len({p.token for p in people}) == PHONES
        [inv] = again.repo.invites()
        assert inv.uses == PHONES  # every enrolment through the invite counted
        accepted = {c.id for c in stored if c.review_state is ReviewState.accepted}
        assert accepted == set(reviewed)
        audit = again.repo.audit()
        assert sum(a.action == "contribution added" for a in audit) == PHONES * EACH
        assert sum(a.action == "participant enrolled" for a in audit) == PHONES
        assert len({a.id for a in audit}) == len(audit)
    assert check_data_folder(data_path).problems == []


def test_two_people_adding_to_the_same_record_both_keep_their_words(data_path, study):
    p = enrol_participant(study, ANSWERS, ConsentMethod.phone, "volunteer")
    c = add_contribution(study, p.id, contribution_values(1), ContributionSource.phone, "volunteer")
    proposal = propose_change(study, "Ask about pollen", "Pollen matters in May.", "Tom Hale")
    people = [f"reviewer {i}" for i in range(12)]
    start = threading.Barrier(len(people))

    def work(who: str) -> None:
        start.wait()
        give_feedback(study, c.id, f"thank you from {who}", who)
        review_contributions(study, [c.id], ReviewState.needs_attention, f"note by {who}", who)
        add_proposal_note(study, proposal.id, f"{who} agrees", who)

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        for f in [pool.submit(work, who) for who in people]:
            f.result(timeout=120)
    stored = study.repo.contribution(c.id)
    assert sorted(f.by for f in stored.feedback) == sorted(people)
    assert sorted(r.by for r in stored.reviews) == sorted(people)
    assert sorted(n.by for n in study.repo.proposal(proposal.id).notes) == sorted(people)


def test_a_segment_read_for_the_first_time_while_a_phone_writes_to_it_keeps_the_phone_s_record(
    data_path, data, study, monkeypatch
):
    """The overview reads (on its own thread) a segment no one has loaded yet, while a phone enrols:
    the record the phone wrote must stay in the study as it is held in memory, not be replaced by the
    copy the reader took from the file a moment before."""
    enrol_participant(study, ANSWERS, ConsentMethod.phone, "volunteer")
    data.close()
    with DataFolder(data_path) as again:
        reopened = open_study(again, study.id)
        reading, written = threading.Event(), threading.Event()
        real_load = segments.load_segment
        readers: list[threading.Thread] = []

        def load_slowly(path, table):
            loaded = real_load(path, table)
            if table == "consent_events" and threading.current_thread() in readers:
                reading.set()
                written.wait(timeout=1)  # a writer that can slip in now does so before this returns
            return loaded

        monkeypatch.setattr(segments, "load_segment", load_slowly)
        readers.append(threading.Thread(target=reopened.repo.consent_states))
        readers[0].start()
        assert reading.wait(timeout=30), "the reader never loaded the consent segment"
        try:
            phone = enrol_participant(reopened, ANSWERS, ConsentMethod.phone, "volunteer")
        finally:
            written.set()
            readers[0].join(timeout=30)
        assert reopened.repo.consent_state(phone.id).enrolled
        add_contribution(reopened, phone.id, contribution_values(1), ContributionSource.phone, "volunteer")
        assert figures(reopened).active == 2
