"""Bundle files and merges: the format, the report, conflicts, code clashes, refusals and crashes."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citizen.domain.models import ConsentMethod, ContributionSource, FieldType, FormField, ReviewState
from citizen.export.bundle import export_bundle, read_bundle
from citizen.services import (
    add_contribution,
    enrol_participant,
    import_protocol,
    publish_protocol_version,
    review_contributions,
)
from citizen.services.merge import (
    BundleRefused,
    canonical_digest,
    clear_unfinished_imports,
    merge_bundle,
    plan_merge,
    reassigned_code,
)

from .support.bundle_files import folder_bytes
from .support.bundle_files import rewrite_bundle as _rewrite
from .support.bundles import STUDY, WALK, YES_ALL, laptop_folder, snapshot, study_of
from .support.commands import ROOT
from .support.factories import enrol


@pytest.fixture
def two_laptops(tmp_path, demo_file):
    """Laptop AC set the study up; laptop DE took a copy through a bundle; both then enrolled people."""
    a = laptop_folder(tmp_path / "a", "AC")
    b = laptop_folder(tmp_path / "b", "DE")
    sa = import_protocol(a, demo_file, "Amina Yusuf")
    merge_bundle(b, snapshot(sa), "Li Wei")
    yield a, b
    a.close()
    b.close()


def test_a_bundle_file_round_trips_with_header_and_checksum(two_laptops, tmp_path):
    a, _ = two_laptops
    study = study_of(a)
    p = enrol(study)
    add_contribution(study, p.id, WALK, ContributionSource.phone, "volunteer")
    info = export_bundle(study, tmp_path / "a.citizen-bundle")
    raw = gzip.decompress((tmp_path / "a.citizen-bundle").read_bytes())
    head, body = raw.split(b"\n", 1)
    header = json.loads(head)
    assert header["format"] == "citizen-bundle" and header["schema"] == 1
    assert header["study"] == STUDY and header["laptop"] == "AC" and header["created_at"]
    assert header["counts"]["participants"] == 1 and header["counts"]["contributions"] == 1
    assert header["sha256"] == hashlib.sha256(body).hexdigest() == info.sha256
    bundle = read_bundle(tmp_path / "a.citizen-bundle")
    assert bundle.records == snapshot(study).records


def test_report_then_one_change_then_nothing_new(two_laptops):
    a, b = two_laptops
    sa, sb = study_of(a), study_of(b)
    people = [enrol(sb) for _ in range(3)]
    c = add_contribution(sb, people[0].id, WALK, ContributionSource.phone, "volunteer")
    bundle = snapshot(sb)
    before = folder_bytes(a.path)
    plan = plan_merge(a, bundle)
    assert folder_bytes(a.path) == before  # the report writes nothing
    report = plan.report
    assert report.new["participants"] == 3 and report.new["contributions"] == 1
    assert report.new["consent_events"] == 3 and not report.conflicts
    assert any("New: 3 participants" in line for line in report.lines())
    entries = sa.store.journal.entries
    merge_bundle(a, bundle, "Amina Yusuf")
    assert sa.store.journal.entries == entries + 1  # ONE durable change
    assert sa.repo.contribution(c.id) is not None and sa.repo.participant_count() == 3
    assert sa.repo.audit()[-1].action == "bundle merged"
    again = merge_bundle(a, bundle, "Amina Yusuf")
    assert again.nothing_to_merge and "Nothing new" in " ".join(again.lines())
    assert sa.store.journal.entries == entries + 1


def test_reviews_on_two_laptops_keep_both_notes_and_log_the_losing_state(two_laptops):
    a, b = two_laptops
    sa, sb = study_of(a), study_of(b)
    p = enrol(sa)
    c = add_contribution(sa, p.id, WALK, ContributionSource.phone, "volunteer")
    merge_bundle(b, snapshot(sa), "Li Wei")
    review_contributions(sa, [c.id], ReviewState.accepted, "fine", "Amina")
    review_contributions(sb, [c.id], ReviewState.needs_attention, "minutes look odd", "Li")  # later
    ba, bb = snapshot(sa), snapshot(sb)
    report = merge_bundle(a, bb, "Amina")
    merge_bundle(b, ba, "Li")
    assert canonical_digest(sa) == canonical_digest(sb)
    merged = sa.repo.contribution(c.id)
    assert merged.review_state is ReviewState.needs_attention  # the latest note decides
    assert [r.note for r in merged.reviews] == ["fine", "minutes look odd"]
    [conflict] = report.conflicts
    assert conflict.field == "review_state" and conflict.lost == "accepted"
    logged = [e for e in sa.repo.audit() if e.action == "merge conflict"]
    assert logged and logged[0].details["lost"] == "accepted" and logged[0].details["kept"] == "needs attention"


def test_a_code_given_on_two_laptops_is_settled_the_same_way_in_any_order(tmp_path, demo_file, monkeypatch):
    import citizen.services.participation as participation

    a = laptop_folder(tmp_path / "a", "AC")
    b = laptop_folder(tmp_path / "b", "AC")  # a copied data folder: the same laptop id
    try:
        sa = import_protocol(a, demo_file, "Amina")
        merge_bundle(b, snapshot(sa), "Amina")
        monkeypatch.setattr(participation, "new_code", lambda laptop: "AC-7777")
        first = enrol(study_of(a))
        second = enrol(study_of(b))
        ba, bb = snapshot(study_of(a)), snapshot(study_of(b))
        report = merge_bundle(a, bb, "Amina")
        merge_bundle(b, ba, "Amina")
        assert canonical_digest(study_of(a)) == canonical_digest(study_of(b))
        assert study_of(a).repo.participant(first.id).code == "AC-7777"  # enrolled first: keeps it
        assert study_of(a).repo.participant(second.id).code == reassigned_code(second.id)
        assert report.code_clashes and "AC-7777" in report.code_clashes[0]
    finally:
        a.close()
        b.close()


def test_withdrawal_with_removal_wins_over_a_review_elsewhere(two_laptops):
    a, b = two_laptops
    sa, sb = study_of(a), study_of(b)
    p = enrol(sa)
    c = add_contribution(sa, p.id, WALK, ContributionSource.phone, "volunteer")
    merge_bundle(b, snapshot(sa), "Li")
    from citizen.services import withdraw

    withdraw(sa, p.id, True, ConsentMethod.phone, "participant")
    review_contributions(sb, [c.id], ReviewState.accepted, "good", "Li")
    merge_bundle(b, snapshot(sa), "Li")
    merged = sb.repo.contribution(c.id)
    assert merged.removed and merged.values == {} and merged.reviews == []


# -- refusals: a clear message and nothing changed ----------------------------------------------------
def _refused(data, bundle_or_path, match, into=None):
    before = folder_bytes(data.path)
    with pytest.raises(BundleRefused, match=match):
        bundle = read_bundle(bundle_or_path) if isinstance(bundle_or_path, Path) else bundle_or_path
        merge_bundle(data, bundle, "someone", into=into)
    assert folder_bytes(data.path) == before


def test_refusals(two_laptops, tmp_path, demo_file):
    a, b = two_laptops
    sb = study_of(b)
    enrol(sb)
    good = tmp_path / "b.citizen-bundle"
    export_bundle(sb, good)

    # Another study than the one asked for.
    _refused(a, good, "holds the study 'air-quality-walk', not 'other-study'", into="other-study")
    # A newer schema than this citizen knows.
    newer = _rewrite(good, tmp_path / "newer", header_change=lambda h: h.update(schema=2))
    _refused(a, newer, "made by a newer citizen")
    # Damaged: cut short in transit.
    cut = tmp_path / "cut"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    _refused(a, cut, "damaged")
    # Tampered: a record edited, the checksum left as it was.
    tampered = _rewrite(
        good, tmp_path / "tampered", body_change=lambda body: body.replace(b'"volunteer"', b'"someone"'), fix_checksum=False
    )
    _refused(a, tampered, "checksum does not match")
    # Not a bundle at all.
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    _refused(a, other, "not a citizen bundle")
    # Protocol versions that disagree: both laptops published their own version 2.
    for folder, summary in ((a, "Added a question about buses."), (b, "Added a question about bikes.")):
        study = study_of(folder)
        v1 = study.repo.current_protocol()
        extra = FormField(key="extra", type=FieldType.yes_no, label={"en": summary})
        publish_protocol_version(
            study, [*v1.fields, extra], v1.consent.text, [i.model_dump() for i in v1.consent.items], summary, "Amina"
        )
    export_bundle(study_of(b), good)
    _refused(a, good, "Protocol version 2 in the bundle is not the same")
    # A different study under the same id.
    with laptop_folder(tmp_path / "c", "FG") as c:
        sc = import_protocol(c, demo_file, "Amina")
        sc_bundle = snapshot(sc)
        sc_bundle.records["study"][0]["title"] = "Another walk entirely"
        _refused(a, sc_bundle, "different study with the same id")


# -- crashes: the merge is all or nothing ---------------------------------------------------------------
CRASH_SCRIPT = r"""
import os, sys, time
from pathlib import Path
from citizen.store import durable
from citizen.store import DataFolder
from citizen.export.bundle import read_bundle
from citizen.services.merge import merge_bundle

mode, data, bundle_path, marker = sys.argv[1:5]
bundle = read_bundle(Path(bundle_path))
real_write, real_fsync = durable.write_all, durable.fsync

def stop():
    Path(marker).write_text("ready")
    time.sleep(60)

def torn_write(fd, data):
    if len(data) > 100_000:  # the merge's journal line: write half of it, then die
        real_write(fd, data[: len(data) // 2])
        stop()
    real_write(fd, data)

def slow_fsync(fd):
    real_fsync(fd)
    if getattr(slow_fsync, "armed", False):
        slow_fsync.count = getattr(slow_fsync, "count", 0) + 1
        # after-journal: the merge's journal line is the first fsync; creating: die among the segment writes
        if mode == "after-journal" or slow_fsync.count == 12:
            stop()

if mode == "torn":
    durable.write_all = torn_write
elif mode in ("after-journal", "creating"):
    durable.fsync = slow_fsync
with DataFolder(Path(data)) as folder:
    if mode in ("after-journal", "creating"):
        slow_fsync.armed = True
    merge_bundle(folder, bundle, "crash test")
print("finished")
"""


def _merge_and_kill(mode: str, data: Path, bundle: Path, tmp_path: Path, env) -> None:
    marker = tmp_path / f"marker-{mode}"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, mode, str(data), str(bundle), str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the merge never reached the write"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["torn", "after-journal"])
def test_killed_mid_merge_gives_all_or_nothing(tmp_path, demo_file, run_env, mode):
    from citizen.services.demo import create_demo

    src = laptop_folder(tmp_path / "src", "DE")
    create_demo(src, participants=300, contributions=1500, seed=3, study_id=STUDY)
    bundle_path = tmp_path / "src.citizen-bundle"
    export_bundle(study_of(src), bundle_path)
    live = study_of(src).repo.contribution_count()  # live ones: removed contributions are tombstones
    # The target holds an older copy of the same study (so the merge is a real merge, not a creation).
    target = tmp_path / "target"
    with laptop_folder(target, "AC") as folder:
        bundle = read_bundle(bundle_path)
        small = dict(bundle.records)
        small["contributions"], small["audit"] = bundle.records["contributions"][:10], bundle.records["audit"][:10]
        small["participants"], small["consent_events"] = bundle.records["participants"][:5], []
        small["invites"] = [dict(i, uses=0) for i in bundle.records["invites"]]
        small["proposals"] = [
            dict(p, status="open", decision_reason="", decided_by="", decided_at=None, notes=[], protocol_version=None)
            for p in bundle.records["proposals"]
        ]
        from citizen.services.merge import Bundle, check_bundle

        merge_bundle(folder, check_bundle(Bundle(STUDY, "DE", "", small)), "setup")
        before = canonical_digest(study_of(folder))
    src.close()
    _merge_and_kill(mode, target, bundle_path, tmp_path, run_env)
    with laptop_folder(target, "AC") as folder:
        study = study_of(folder)
        if mode == "torn":
            assert canonical_digest(study) == before  # the torn change was never acknowledged: nothing of it
        else:
            assert study.repo.contribution_count() == live  # the whole change was on disk: all of it
            assert study.repo.participant_count() == 300
        report = merge_bundle(folder, read_bundle(bundle_path), "retry")
        assert study.repo.contribution_count() == live
        assert merge_bundle(folder, read_bundle(bundle_path), "again").nothing_to_merge
        assert report is not None


@pytest.mark.slow
def test_killed_while_creating_a_study_leaves_no_half_study(tmp_path, run_env):
    from citizen.services.demo import create_demo

    with laptop_folder(tmp_path / "src", "DE") as src:
        create_demo(src, participants=100, contributions=800, seed=4, study_id=STUDY)
        bundle_path = tmp_path / "src.citizen-bundle"
        export_bundle(study_of(src), bundle_path)
        expected = canonical_digest(study_of(src))
    target = tmp_path / "target"
    laptop_folder(target, "AC").close()
    _merge_and_kill("creating", target, bundle_path, tmp_path, run_env)
    with laptop_folder(target, "AC") as folder:
        assert folder.study_ids() == []  # only a hidden, unfinished folder, never a half study
        assert [p.name for p in folder.studies_folder.iterdir()] == [f".incoming-{STUDY}"]
        merge_bundle(folder, read_bundle(bundle_path), "retry")
        assert folder.study_ids() == [STUDY]
        assert canonical_digest(study_of(folder)) == expected
        assert clear_unfinished_imports(folder) == 0


def test_export_layer_imports_without_interface_libraries():
    code = (
        "import sys; import citizen.export.bundle, citizen.cli.bundles, citizen.services.merge; "
        "bad = [m for m in ('textual', 'aiohttp', 'jinja2') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_correction_sends_the_merged_contribution_back_to_review(two_laptops):
    from citizen.services import correct_contribution

    a, b = two_laptops
    sa, sb = study_of(a), study_of(b)
    p = enrol(sa)
    c = add_contribution(sa, p.id, WALK, ContributionSource.phone, "volunteer")
    review_contributions(sa, [c.id], ReviewState.accepted, "fine", "Amina")
    merge_bundle(b, snapshot(sa), "Li")
    correct_contribution(sb, p.id, c.id, dict(WALK, walk_minutes="45"), "volunteer")  # on the other laptop
    merge_bundle(a, snapshot(sb), "Amina")
    merged = sa.repo.contribution(c.id)
    assert merged.values["walk_minutes"] == 45 and merged.review_state is ReviewState.received
    assert [h.values["walk_minutes"] for h in merged.history] == [30]
    assert canonical_digest(sa) == canonical_digest(sb)


def test_contact_details_travel_and_removal_blanks_them_everywhere(two_laptops):
    from citizen.services import withdraw

    a, b = two_laptops
    sa, sb = study_of(a), study_of(b)
    p = enrol_participant(sb, YES_ALL, ConsentMethod.phone, "volunteer", contact={"name": "Sam", "phone": "0700 900"})
    merge_bundle(a, snapshot(sb), "Amina")
    assert sa.repo.contact(p.id).phone == "0700 900"
    withdraw(sb, p.id, True, ConsentMethod.phone, "participant")
    merge_bundle(a, snapshot(sb), "Amina")
    assert sa.repo.contact(p.id).phone == "" and sa.repo.consent_state(p.id).withdrawn


def test_a_confirmed_report_that_went_stale_is_planned_again(two_laptops):
    a, b = two_laptops
    sa, sb = study_of(a), study_of(b)
    p = enrol(sa)
    c = add_contribution(sa, p.id, WALK, ContributionSource.phone, "volunteer")
    merge_bundle(b, snapshot(sa), "Li")
    review_contributions(sb, [c.id], ReviewState.accepted, "fine", "Li")
    bundle = snapshot(sb)
    plan = plan_merge(a, bundle)
    # While the report is on screen, this laptop reviews the same contribution.
    review_contributions(sa, [c.id], ReviewState.needs_attention, "check the minutes", "Amina")
    merge_bundle(a, bundle, "Amina", plan=plan)
    merged = sa.repo.contribution(c.id)
    assert [r.note for r in merged.reviews] == ["fine", "check the minutes"]  # nothing of the later change lost
    assert merged.review_state is ReviewState.needs_attention
    assert merge_bundle(a, bundle, "Amina").nothing_to_merge
