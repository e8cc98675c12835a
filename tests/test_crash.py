"""Killing the writer (SIGKILL) at random moments loses nothing it acknowledged.

Each trial runs a writer process making up to 1,000 acknowledged writes through the services
(enrolments, consent changes, contributions) and kills it at a random point of its run; the data
folder is then reopened and checked record by record (tests/support/harness.py). CI runs 50 trials;
``CITIZEN_CRASH_TRIALS=500`` runs more, ``python -m tests.crash_report`` prints the same totals.
"""

from __future__ import annotations

import json
import os

import pytest

from .support.harness import Acks, TrialResult, check, run_trial, run_trials

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("CITIZEN_CRASH_TRIALS", "50"))
WRITES = int(os.environ.get("CITIZEN_CRASH_WRITES", "1000"))


def test_every_acknowledged_write_survives_a_kill(tmp_path, capsys):
    totals = run_trials(tmp_path, TRIALS, WRITES, seed=int(os.environ.get("CITIZEN_CRASH_SEED", "0")))
    with capsys.disabled():
        print("\n" + totals.line())
    (tmp_path / "crash-totals.json").write_text(json.dumps(totals.as_dict(), indent=2))
    assert totals.trials == TRIALS
    assert totals.writes_acknowledged >= TRIALS  # every trial acknowledged at least its first write
    assert totals.failed_trials == [], json.dumps(totals.failed_trials[:3], indent=2)
    assert totals.records_lost == 0 and totals.invalid_records == 0


def test_the_checker_notices_a_lost_or_altered_record(tmp_path):
    """The harness can fail: an acknowledgement without its record, or with other values, is caught."""
    result = run_trial(tmp_path, writes=30, seed=11)
    assert result.problems == [] and result.lost == 0
    data_path = tmp_path / "trial-11"
    acks = Acks()
    acks.read("E 0 no-such-participant XX-AAAA\n")
    acks.read("C 1 no-such-contribution someone\n")
    altered = TrialResult(seed=11, kill_after=0, acknowledged=2)
    check(data_path, acks, altered)
    assert altered.lost == 2
    assert any("missing" in p for p in altered.problems)
