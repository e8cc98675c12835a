"""Random changes to a study, as the desk and phones make them (enrolments, contributions one at a
time and in batches, reviews, corrections, withdrawals with and without removal, write-backs):
what the tests of derived data (indexes, kept columns) compare against a full scan afterwards."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
from citizen.services import (
    add_contribution,
    correct_contribution,
    enrol_participant,
    review_contributions,
    withdraw,
)
from citizen.services.bulk import NewContribution, add_contributions

from .factories import SHORT_WALK, YES_ALL


def random_changes(
    study,
    rng: random.Random,
    steps: int,
    write_back: bool = True,
    answers: Callable[[random.Random], dict[str, Any]] = lambda rng: dict(SHORT_WALK),
) -> None:
    people = [p.id for p in study.repo.participants() if not study.repo.consent_state(p.id).withdrawn]
    made = [d["id"] for d in study.store.table("contributions") if not d.get("removed_at")]
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.15 or not people:
            people.append(enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer").id)
        elif roll < 0.55:
            who = rng.choice(people)
            made.append(add_contribution(study, who, answers(rng), ContributionSource.phone, "volunteer").id)
        elif roll < 0.65:
            batch = [NewContribution(rng.choice(people), answers(rng), ContributionSource.desk, "Amina") for _ in range(7)]
            made.extend(add_contributions(study, batch))
        elif roll < 0.8 and made:
            review_contributions(study, rng.sample(made, min(3, len(made))), rng.choice(list(ReviewState)), "", "Li")
        elif roll < 0.9 and made:
            doc = study.store.table("contributions").find(rng.choice(made))
            if doc["participant_id"] in people:
                values = {**answers(rng), "walk_minutes": str(rng.randint(1, 99))}
                correct_contribution(study, doc["participant_id"], doc["id"], values, "volunteer")
        elif len(people) > 3:
            who = people.pop(rng.randrange(len(people)))
            withdraw(study, who, rng.random() < 0.5, ConsentMethod.phone, "participant")
            gone = {d["id"] for d in study.store.table("contributions") if d.get("removed_at")}
            made = [c for c in made if c not in gone]
        if write_back and rng.random() < 0.05:
            study.store.compact()
