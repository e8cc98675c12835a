"""The benchmarks' copy of a data folder: writing to it leaves the source as it was, and the copy's
indexes stay current (opening it reads no contribution), as on a laptop that held the study all along."""

from __future__ import annotations

import collections
import hashlib

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.services import add_contribution, enrol_participant, open_study
from citizen.services.demo import create_demo
from citizen.services.queries import list_studies
from citizen.store import DataFolder, derived, segments

from .support.commands import use_small_segments

studies = pytest.importorskip("bench.studies")
web = pytest.importorskip("bench.bench_web")


def fingerprint(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def test_a_copy_takes_writes_without_touching_its_source_and_keeps_its_indexes(tmp_path, monkeypatch):
    use_small_segments(monkeypatch, 20)
    source = tmp_path / "source"
    with DataFolder(source) as data:
        study = create_demo(data, participants=20, contributions=100, seed=5, study_id=studies.STUDY_ID)
        count = study.repo.contribution_count()
    before = fingerprint(source)

    copy = studies.copy_study(source, tmp_path / "copy")
    read: collections.Counter = collections.Counter()
    load = segments.load_segment
    for module in (segments, derived):  # a table's own reads, and those that make a kept index again
        monkeypatch.setattr(module, "load_segment", lambda path, table: read.update([table]) or load(path, table))
    with DataFolder(copy) as data:
        assert list_studies(data)[0].contributions == count
        assert read["contributions"] == 0  # the counts kept beside the segments are current in the copy
        study = open_study(data, studies.STUDY_ID)
        person = enrol_participant(study, web.CONSENT, ConsentMethod.phone, "bench")
        add_contribution(study, person.id, dict(web.ANSWERS), ContributionSource.phone, "bench")
    with DataFolder(copy, readonly=True) as data:
        assert open_study(data, studies.STUDY_ID).repo.contribution_count() == count + 1
    assert fingerprint(source) == before
