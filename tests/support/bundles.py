"""Three simulated laptops running one study, for the bundle and merge tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState, StudyStatus
from citizen.services import (
    Refused,
    ServiceError,
    add_contribution,
    add_proposal_note,
    close_invite,
    correct_contribution,
    create_invite,
    decide_proposal,
    enrol_participant,
    give_feedback,
    open_study,
    propose_change,
    review_contributions,
    set_study_status,
    withdraw,
)
from citizen.services.invite_links import invite_link_or_none
from citizen.services.merge import Bundle, bundle_records, check_bundle
from citizen.store import DataFolder

from .factories import STUDY, WALK, YES_ALL  # noqa: F401  (shared with the bundle tests)

LAPTOPS = ("AC", "DE", "FG")


def laptop_folder(path: Path, laptop: str) -> DataFolder:
    """A data folder that calls itself ``laptop``."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "laptop.json").write_text(json.dumps({"laptop": laptop}))
    return DataFolder(path)


def snapshot(study) -> Bundle:
    """The study as a bundle would carry it (in memory; the file format has its own tests)."""
    records = {name: json.loads(json.dumps(list(docs))) for name, docs in bundle_records(study).items()}
    return check_bundle(Bundle(study.id, study.laptop, "", records))


def random_activity(study, rng: random.Random, steps: int, actor: str) -> None:
    """Enrolments, walks, reviews, feedback, withdrawals, invites, proposals and status changes."""
    for _ in range(steps):
        kind = rng.choice(
            [
                "enrol",
                "enrol",
                "walk",
                "walk",
                "walk",
                "review",
                "review",
                "feedback",
                "correct",
                "withdraw",
                "invite",
                "close",
                "status",
                "propose",
                "note",
                "decide",
            ]
        )
        try:
            _step(study, rng, kind, actor)
        except (Refused, ServiceError):
            pass  # refused steps (a withdrawn walker, a decided proposal) leave nothing behind


def _step(study, rng: random.Random, kind: str, actor: str) -> None:
    repo = study.repo
    if kind == "enrol":
        invites = [i for i in repo.invites() if not i.closed]
        # A poster's link, as this laptop shows it (the tests' laptops share one key).
        token = invite_link_or_none(study, rng.choice(invites)) if invites and rng.random() < 0.6 else None
        contact = {"name": "Sam", "phone": "0700"} if rng.random() < 0.3 else None
        enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer", invite_token=token, contact=contact)
    elif kind == "walk":
        people = repo.participants()
        if people:
            p = rng.choice(people)
            add_contribution(study, p.id, dict(WALK, walk_minutes=str(rng.randint(5, 90))), ContributionSource.phone, "volunteer")
    elif kind == "correct":
        docs = [d for d in repo.contribution_docs() if not d.get("removed_at")]
        if docs:
            doc = rng.choice(docs)
            correct_contribution(
                study, doc["participant_id"], doc["id"], dict(WALK, walk_minutes=str(rng.randint(5, 90))), "volunteer"
            )
    elif kind in ("review", "feedback"):
        docs = [d for d in repo.contribution_docs() if not d.get("removed_at")]
        if docs:
            doc = rng.choice(docs)
            if kind == "review":
                review_contributions(study, [doc["id"]], rng.choice(list(ReviewState)), f"note {rng.randint(0, 9)}", actor)
            else:
                give_feedback(study, doc["id"], f"thanks {rng.randint(0, 9)}", actor)
    elif kind == "withdraw":
        people = repo.participants()
        if people:
            withdraw(study, rng.choice(people).id, rng.random() < 0.5, ConsentMethod.phone, "participant")
    elif kind == "invite":
        create_invite(study, f"poster {rng.randint(0, 10_000)}", actor)
    elif kind == "close":
        invites = [i for i in repo.invites() if not i.closed]
        if invites:
            close_invite(study, rng.choice(invites).id, actor)
    elif kind == "status":
        set_study_status(study, rng.choice([StudyStatus.active, StudyStatus.paused, StudyStatus.recruiting]), actor)
    elif kind == "propose":
        propose_change(study, f"Idea {rng.randint(0, 99)}", "Because it helps.", actor)
    elif kind in ("note", "decide"):
        proposals = repo.proposals()
        if proposals:
            p = rng.choice(proposals)
            if kind == "note":
                add_proposal_note(study, p.id, f"I agree {rng.randint(0, 9)}", actor)
            else:
                decide_proposal(study, p.id, rng.random() < 0.5, "Talked it through.", actor)


def study_of(data: DataFolder):
    return open_study(data, STUDY)
