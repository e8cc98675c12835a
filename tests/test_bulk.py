"""Many contributions in one change (the demo at scale): same checks, same records, exact counts."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from citizen.domain.models import AuditEvent, ConsentMethod, Contribution, ContributionSource, to_doc
from citizen.domain.plural import count
from citizen.services import NotFound, Refused, add_contribution, open_study, withdraw
from citizen.services.bulk import NewContribution, add_contributions
from citizen.services.queries import list_studies
from citizen.store import DataFolder

from .support import factories
from .support.factories import enrol

WALK = {**factories.WALK, "symptoms": "cough,wheeze"}  # several choices as one typed line
AT = datetime(2026, 5, 1, 8, 15, 30, 123456, tzinfo=timezone.utc)


def stored(study, table):
    return [dict(doc) for doc in study.store.table(table)]


def test_a_batch_stores_what_one_at_a_time_would(study):
    a, b = enrol(study), enrol(study)
    one = add_contribution(study, a.id, WALK, ContributionSource.phone, "volunteer (phone)", at=AT)
    ids = add_contributions(
        study,
        [
            NewContribution(a.id, WALK, ContributionSource.phone, "volunteer (phone)", AT),
            NewContribution(b.id, WALK, ContributionSource.desk, "Amina Yusuf"),
        ],
    )
    assert len(ids) == 2 and len(set(ids)) == 2
    docs = {d["id"]: d for d in stored(study, "contributions")}
    single = docs[one.id]
    first = docs[ids[0]]
    # The same document as the one-at-a-time path, apart from its own id.
    assert {**first, "id": one.id} == single
    # Every bulk document is exactly what the model would store.
    for cid in ids:
        assert to_doc(Contribution.model_validate(docs[cid])) == docs[cid]
    assert docs[ids[1]]["source"] == "desk" and docs[ids[1]]["participant_id"] == b.id
    events = [e for e in stored(study, "audit") if e["action"] == "contribution added"]
    by_target = {e["target"]: e for e in events}
    assert set(by_target) == {one.id, *ids}
    assert {**by_target[ids[0]], "id": "", "target": ""} == {**by_target[one.id], "id": "", "target": ""}
    assert by_target[ids[1]]["actor"] == "Amina Yusuf"
    assert by_target[ids[1]]["details"] == {"participant": b.code, "source": "desk", "protocol_version": 1}
    for event in events:
        assert to_doc(AuditEvent.model_validate(event)) == event


def test_one_bad_contribution_refuses_the_whole_batch_and_stores_nothing(study):
    a, b = enrol(study), enrol(study)
    withdraw(study, b.id, False, ConsentMethod.phone, "participant")
    before = (stored(study, "contributions"), stored(study, "audit"))
    good = NewContribution(a.id, WALK, ContributionSource.phone, "volunteer")
    with pytest.raises(Refused, match="Contribution 2: some answers") as bad_answer:
        add_contributions(
            study, [good, NewContribution(a.id, {**WALK, "walk_minutes": "lots"}, ContributionSource.phone, "volunteer")]
        )
    assert "walk_minutes" in bad_answer.value.errors
    with pytest.raises(Refused, match="Contribution 3: .*withdrawn"):
        add_contributions(study, [good, good, NewContribution(b.id, WALK, ContributionSource.phone, "volunteer")])
    with pytest.raises(NotFound, match="Contribution 2: this participant is not known"):
        add_contributions(study, [good, NewContribution("nobody", WALK, ContributionSource.phone, "volunteer")])
    assert (stored(study, "contributions"), stored(study, "audit")) == before


def test_a_batch_is_one_durable_change(data_path, demo_file):
    from citizen.services import import_protocol

    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        person = enrol(study)
        lines = study.store.journal.entries
        add_contributions(study, [NewContribution(person.id, WALK, ContributionSource.phone, "volunteer")] * 50)
        assert study.store.journal.entries == lines + 1
        # Not written back yet: it is the journal that holds it when the laptop stops here.
        study.store.journal.close()
        data._stores.clear()
        data.close()
    with DataFolder(data_path) as data:
        assert open_study(data, study.id).repo.contribution_count() == 50


@pytest.mark.parametrize("asked", [0, 1, 7, 1000])
def test_demo_makes_exactly_the_contributions_asked_for(data_path, asked):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "citizen",
            "--data",
            str(data_path),
            "demo",
            "--participants",
            "5",
            "--contributions",
            str(asked),
            "--seed",
            "3",
            "--no-open",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{count(asked, 'contribution')})" in done.stdout  # "1 contribution", "1,000 contributions"
    with DataFolder(data_path, readonly=True) as data:
        [row] = list_studies(data)
        assert row.contributions == asked
        study = open_study(data, row.id)
        docs = stored(study, "contributions")
        assert sum(1 for d in docs if not d["removed_at"]) == asked
        # The one who asked for removal left tombstones; the other withdrawal kept theirs.
        removed = [d for d in docs if d["removed_at"]]
        assert len(removed) == min(3, asked)
        assert all(to_doc(Contribution.model_validate(d)) == d for d in docs if not d["removed_at"])
