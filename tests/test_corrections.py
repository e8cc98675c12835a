"""Corrections shown: what each correction changed, field by field, in the contribution screen and in the exports."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pandas as pd

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.services import add_contribution, correct_contribution, enrol_participant, open_study
from citizen.services.common import change, row_of
from citizen.services.revisions import FieldChange, contribution_corrections
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.contribution_detail import ContributionDetailScreen
from citizen.tui.text import local_time

from .support.exports import WALK, export, read
from .support.factories import STUDY, T0, YES_ALL
from .support.tui import settle, text_of

HOUR = timedelta(hours=1)
FIRST_COLUMNS = ["contribution_id", "participant", "submitted_at", "protocol_version", "review_state"]


def corrected_twice(study, at=T0):
    """A participant's walk, corrected an hour later and again two hours later."""
    p = enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer", at=at - HOUR)
    c = add_contribution(study, p.id, WALK, ContributionSource.phone, p.code, at=at)
    correct_contribution(study, p.id, c.id, {**WALK, "walk_minutes": "45", "route": "high_street"}, p.code, at=at + HOUR)
    last = {**WALK, "walk_minutes": "60", "route": "high_street", "symptoms": ["cough"]}
    correct_contribution(study, p.id, c.id, last, p.code, at=at + 2 * HOUR)
    return p, c


def test_each_correction_lists_only_what_changed_with_labels_newest_first(study):
    _, c = corrected_twice(study)
    first, second = contribution_corrections(study, c.id)[::-1]
    assert (second.number, second.at, first.number, first.at) == (2, T0 + 2 * HOUR, 1, T0 + HOUR)
    assert first.changes == [
        FieldChange("Which route did you walk?", "Canal path", "High Street"),
        FieldChange("How many minutes did you walk?", "30", "45"),
    ]
    assert second.changes == [
        FieldChange("How many minutes did you walk?", "45", "60"),
        FieldChange("Did you notice any of these while walking?", "Coughing, Wheezing", "Coughing"),
    ]
    # Each revision kept says when its values were given, not when the first ones were.
    stored = study.repo.contribution(c.id)
    assert [h.at for h in stored.history] == [T0, T0 + HOUR] and stored.corrected_at == T0 + 2 * HOUR


def test_corrections_stored_before_their_time_was_kept_take_it_from_the_activity_log(study, tmp_path):
    _, c = corrected_twice(study)
    row = row_of(study, "contributions", c.id)
    old = dict(study.store.table("contributions").get(row))
    old.pop("corrected_at")  # as contributions were stored before: every revision with the first time
    old["history"] = [dict(h, at=old["submitted_at"]) for h in old["history"]]
    with change(study) as tx:
        tx.put("contributions", row, old)
    assert [k.at for k in contribution_corrections(study, c.id)] == [T0 + 2 * HOUR, T0 + HOUR]
    result = export(study, tmp_path / "out")
    (line,) = read(result.folder / "contributions.csv")
    assert (line["revisions"], line["last_corrected_at"]) == ("2", "2026-05-01T11:00:00Z")


async def test_the_contribution_screen_shows_each_correction_field_by_field(demo_data_path):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with DataFolder(demo_data_path) as data:
        _, c = corrected_twice(open_study(data, STUDY), at=now)
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("enter")  # the newest contribution: the corrected walk
        await settle(app, pilot)
        assert isinstance(app.screen, ContributionDetailScreen) and app.screen.contribution_id == c.id
        body = text_of(app.screen, "#contribution-body")
        assert "Corrected by the contributor 2 times" in body
        corrections = body[body.index("Corrections, newest first:") :].splitlines()
        assert corrections[1:7] == [
            f"  {local_time(now + 2 * HOUR)}  correction 2",
            "    How many minutes did you walk?: 45 -> 60",
            "    Did you notice any of these while walking?: Coughing, Wheezing -> Coughing",
            f"  {local_time(now + HOUR)}  correction 1",
            "    Which route did you walk?: Canal path -> High Street",
            "    How many minutes did you walk?: 30 -> 45",
        ]
        assert "breathing" not in "".join(corrections).casefold()  # unchanged answers are not listed
        # The answers themselves are the ones now held.
        assert "How many minutes did you walk?\n  60" in body
    app.data.close()


def test_contributions_csv_carries_the_revision_count_and_last_correction(study, tmp_path):
    p, c = corrected_twice(study)
    untouched = add_contribution(study, p.id, WALK, ContributionSource.phone, p.code, at=T0 + 3 * HOUR)
    result = export(study, tmp_path / "out")
    rows = {r["contribution_id"]: r for r in read(result.folder / "contributions.csv")}
    assert list(rows[c.id])[:7] == [*FIRST_COLUMNS, "revisions", "last_corrected_at"]
    assert (rows[c.id]["revisions"], rows[c.id]["last_corrected_at"]) == ("2", "2026-05-01T11:00:00Z")
    assert (rows[c.id]["walk_minutes"], rows[c.id]["submitted_at"]) == ("60", "2026-05-01T09:00:00Z")
    assert (rows[untouched.id]["revisions"], rows[untouched.id]["last_corrected_at"]) == ("0", "")
    frame = pd.read_csv(result.folder / "contributions.csv", parse_dates=["last_corrected_at"])
    assert frame["revisions"].dtype.kind == "i" and frame["revisions"].sum() == 2
    assert frame["last_corrected_at"].notna().sum() == 1
    # The data dictionary and the package's schema describe both columns.
    dictionary = {r["column"]: r for r in read(result.folder / "data_dictionary.csv")}
    assert dictionary["revisions"]["label_en"] == "How many times the contributor corrected it (0: never)"
    assert dictionary["revisions"]["type"] == "integer" and dictionary["last_corrected_at"]["type"] == "datetime"
    assert dictionary["last_corrected_at"]["label_zh"] == "贡献者最近一次更正的时间（UTC，ISO 8601；空白：从未更正）"
    package = json.loads((result.folder / "datapackage.json").read_text())
    (resource,) = [r for r in package["resources"] if r["path"] == "contributions.csv"]
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    assert fields["revisions"]["type"] == "integer" and fields["revisions"]["constraints"] == {"required": True, "minimum": 0}
    assert fields["last_corrected_at"]["type"] == "datetime" and fields["last_corrected_at"]["constraints"] == {"required": False}


def test_shifted_dates_move_the_last_correction_with_the_submission(study, tmp_path):
    _, c = corrected_twice(study)
    result = export(study, tmp_path / "out", shift_dates=True)
    (line,) = read(result.folder / "contributions.csv")
    submitted, corrected = (datetime.fromisoformat(line[k].replace("Z", "+00:00")) for k in ("submitted_at", "last_corrected_at"))
    assert submitted != T0 and corrected - submitted == 2 * HOUR


def test_redcap_records_carry_the_revision_count_and_last_correction(study, tmp_path):
    _, c = corrected_twice(study)
    result = export(study, tmp_path / "rc", format="redcap")
    with (result.folder / "redcap_data_dictionary.csv").open(newline="", encoding="utf-8") as fh:
        variables = {r[0]: r for r in csv.reader(fh)}
    assert variables["revisions"][7] == "integer" and variables["last_corrected_at"][3] == "text"
    records = pd.read_csv(result.folder / "redcap_records.csv", dtype=str, keep_default_na=False)
    assert list(records.columns[:7]) == ["record_id", *FIRST_COLUMNS[1:], "revisions", "last_corrected_at"]
    assert records.loc[0, "revisions"] == "2" and records.loc[0, "last_corrected_at"] == "2026-05-01T11:00:00Z"
    assert records.loc[0, "walk_minutes"] == "60" and records.columns[-1] == "air_quality_walk_complete"


def test_copies_of_one_correction_merge_to_the_same_record_in_any_order():
    from citizen.services.merge.joins import join_contribution

    walk = {"walk_minutes": 60}
    base = {"id": "c1", "values": walk, "reviews": [], "feedback": [], "review_state": "received"}
    here = dict(
        base, history=[{"values": {"walk_minutes": 45}, "at": "2026-05-01T09:00:00Z"}], corrected_at="2026-05-01T10:00:00Z"
    )
    there = dict(here, corrected_at="2026-05-01T10:05:00Z")  # the same correction, made again on another laptop
    assert join_contribution(here, there)[0] == join_contribution(there, here)[0]
    assert join_contribution(there, here)[0]["corrected_at"] == "2026-05-01T10:00:00Z"
    # Corrected apart: the same answers now, but revisions given at other times; one fixed copy stays.
    apart = dict(here, history=[{"values": {"walk_minutes": 45}, "at": "2026-05-01T09:30:00Z"}])
    assert join_contribution(here, apart)[0] == join_contribution(apart, here)[0]
