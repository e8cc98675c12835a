"""A bundle is written in bounded memory: a study four times larger takes no more to export."""

from __future__ import annotations

import tracemalloc

import pytest

from citizen.export import bundle as bundle_module
from citizen.export.bundle import export_bundle, read_bundle
from citizen.services import open_study
from citizen.services.demo import create_demo
from citizen.services.merge import canonical_form
from citizen.store import DataFolder

from .support.commands import use_small_segments


@pytest.fixture
def small_segments(monkeypatch):
    use_small_segments(monkeypatch, 50)
    monkeypatch.setattr(bundle_module, "CHUNK", 1 << 16)


def exported_peak(folder, contributions: int) -> tuple[int, int]:
    """Peak bytes allocated while exporting a freshly opened study of this size, and the records written."""
    with DataFolder(folder) as data:
        study_id = create_demo(data, participants=20, contributions=contributions, seed=1).id
    with DataFolder(folder) as data:
        study = open_study(data, study_id)
        tracemalloc.start()
        try:
            info = export_bundle(study, folder.parent / f"{contributions}.citizen-bundle")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(study.store.table("contributions").loaded_segments()) <= 1  # walked, then let go
        bundle = read_bundle(info.path)
        assert {k: v for k, v in bundle.records.items()} == {
            k: [d for _, d in study.store.table(k).stream()] for k in bundle.records
        }
        assert canonical_form(study)["contributions"] == sorted(bundle.records["contributions"], key=lambda d: d["id"])
    return peak, info.counts["contributions"]


def test_exporting_a_bundle_takes_the_same_memory_at_four_times_the_size(small_segments, tmp_path):
    small, n_small = exported_peak(tmp_path / "small" / "data", 400)
    large, n_large = exported_peak(tmp_path / "large" / "data", 1600)
    assert n_large >= 4 * n_small - 20
    assert large < small * 1.25, (small, large)
