"""Crash harness: a writer process makes acknowledged writes through the services and is killed.

The writer (``python -m tests.support.harness writer DATA WRITES SEED``) enrols volunteers, adds their
contributions and changes their consent, each through the real services, and prints one line per
write only after the service returned (the moment the app would tell a person "saved"). The parent
kills it with SIGKILL at a random moment, reads every line it printed, reopens the data folder and
checks that every acknowledged record is there, whole, valid and consistent with the audit trail.

To meet compactions and segment boundaries often, writer and checker both run with small segments
and a short journal (``small_store``): the code paths are the same as with the real sizes.

``run_trials`` is shared by ``tests/test_crash.py`` and ``python -m tests.crash_report``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .factories import STUDY

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = {"take_part": True, "share_partners": True, "quote_words": False, "contact_later": False}

# Small tables (documents per segment) and a short journal, so that trials cross both often.
SMALL_SIZES = {"participants": 30, "consent_events": 40, "contributions": 100, "audit": 150}
SMALL_JOURNAL = 45


@contextlib.contextmanager
def small_store() -> Iterator[None]:
    """Run the store with small segments and an often-compacted journal (same code, more edges)."""
    from citizen.store import store

    if store.JOURNAL_MAX_ENTRIES == SMALL_JOURNAL:  # already patched (the checks running side by side)
        yield
        return
    saved_tables = dict(store.TABLES)
    saved_max = store.JOURNAL_MAX_ENTRIES
    for name, size in SMALL_SIZES.items():
        store.TABLES[name] = (size, store.TABLES[name][1])
    store.JOURNAL_MAX_ENTRIES = SMALL_JOURNAL
    try:
        yield
    finally:
        store.TABLES.clear()
        store.TABLES.update(saved_tables)
        store.JOURNAL_MAX_ENTRIES = saved_max


def contribution_values(i: int) -> dict:
    """The answers of write ``i``: derived from ``i`` so the checker knows what must be stored."""
    routes = ["canal_path", "high_street", "school_run", "park_loop", "other"]
    return {
        "walk_date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "route": routes[i % len(routes)],
        "walk_minutes": 1 + i % 300,
        "breathing": 1 + i % 5,
        "symptoms": ["cough", "wheeze"] if i % 3 == 0 else ["none"],
        "notes": f"write {i}:" + " walked past the bus depot" * (i % 4),
    }


def consent_answers(i: int) -> dict:
    return dict(ANSWERS, quote_words=bool(i % 2), contact_later=bool(i % 3 == 0))


# -- the writer ------------------------------------------------------------------------------
def writer(data_path: Path, writes: int, seed: int) -> None:
    """Make ``writes`` acknowledged writes; print each acknowledgement after its service returned."""
    from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
    from citizen.services import (
        add_contribution,
        change_consent,
        enrol_participant,
        import_protocol,
        open_study,
        review_contributions,
    )
    from citizen.services.demo import DEMO_FILE, studies_folder
    from citizen.store import DataFolder

    rng = random.Random(seed)
    out = sys.stdout
    with small_store():
        data = DataFolder(data_path)
        study = (
            open_study(data, STUDY)
            if data.has_study(STUDY)
            else import_protocol(data, studies_folder() / DEMO_FILE, "Amina Yusuf")
        )
        out.write("READY\n")
        out.flush()
        people: list[str] = []
        contributions: list[str] = []
        for i in range(writes):
            roll = rng.random()
            if contributions and roll > 0.95:
                # A review changes a record already stored (an update in place, not an addition).
                cid = rng.choice(contributions)
                review_contributions(study, [cid], ReviewState.accepted, f"review {i}", "Amina Yusuf")
                out.write(f"R {i} {cid} -\n")
            elif not people or roll < 0.1:
                p = enrol_participant(study, ANSWERS, ConsentMethod.phone, "volunteer")
                people.append(p.id)
                out.write(f"E {i} {p.id} {p.code}\n")
            elif roll < 0.15:
                pid = rng.choice(people)
                event = change_consent(study, pid, consent_answers(i), ConsentMethod.phone, "volunteer")
                out.write(f"K {i} {event.id} {pid}\n")
            else:
                pid = rng.choice(people)
                c = add_contribution(study, pid, contribution_values(i), ContributionSource.phone, "volunteer")
                contributions.append(c.id)
                out.write(f"C {i} {c.id} {pid}\n")
            out.flush()
        data.close()
    out.write("DONE\n")
    out.flush()


# -- the checker ------------------------------------------------------------------------------
@dataclass
class Acks:
    participants: dict[str, str] = field(default_factory=dict)  # id -> code
    contributions: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (write, participant)
    consent_changes: dict[str, tuple[int, str]] = field(default_factory=dict)  # event id -> (write, participant)
    reviews: list[tuple[int, str]] = field(default_factory=list)  # (write, contribution)
    done: bool = False

    @property
    def count(self) -> int:
        """Acknowledged writes (each adds or changes one record)."""
        return len(self.participants) + len(self.contributions) + len(self.consent_changes) + len(self.reviews)

    @property
    def added(self) -> int:
        return len(self.participants) + len(self.contributions) + len(self.consent_changes)

    def read(self, line: str) -> None:
        parts = line.split()
        if not parts or parts[0] not in ("E", "C", "K", "R"):
            self.done = self.done or parts == ["DONE"]
            return
        kind, i, record, extra = parts[0], int(parts[1]), parts[2], parts[3]
        if kind == "E":
            self.participants[record] = extra
        elif kind == "C":
            self.contributions[record] = (i, extra)
        elif kind == "R":
            self.reviews.append((i, record))
        else:
            self.consent_changes[record] = (i, extra)


@dataclass
class TrialResult:
    seed: int
    kill_after: int
    acknowledged: int
    lost: int = 0
    invalid: int = 0
    unacknowledged_kept: int = 0
    writer_pid: int = 0
    problems: list[str] = field(default_factory=list)


def check(data_path: Path, acks: Acks, result: TrialResult) -> None:
    """Reopen the data folder and compare it with what was acknowledged."""
    from pydantic import ValidationError

    from citizen.domain.models import AuditEvent, ConsentEvent, ConsentKind, Contribution, Participant
    from citizen.domain.rules import fold_consent
    from citizen.services import open_study
    from citizen.services.queries import check_data_folder
    from citizen.store import DataFolder

    def problem(text: str) -> None:
        if len(result.problems) < 20:
            result.problems.append(text)

    report = check_data_folder(data_path)
    for text in report.problems:
        problem(f"check: {text}")
    with small_store(), DataFolder(data_path) as data:
        study = open_study(data, STUDY)
        leftovers = [f"{p.relative_to(data_path)} (checker pid {os.getpid()})" for p in data_path.rglob(".*.tmp")]
        if leftovers:
            problem(f"temporary files left after the restart: {leftovers[:3]}")
        store = study.store
        docs = {name: list(store.table(name)) for name in ("participants", "consent_events", "contributions", "audit")}
        models = {"participants": Participant, "consent_events": ConsentEvent, "contributions": Contribution, "audit": AuditEvent}
        parsed: dict[str, list] = {}
        for name, model in models.items():
            parsed[name] = []
            for doc in docs[name]:
                try:
                    parsed[name].append(model.model_validate(doc))
                except ValidationError as exc:
                    result.invalid += 1
                    problem(f"{name}: a stored record is not valid: {exc.errors()[0]['msg']}")
        people = {p.id: p for p in parsed["participants"]}
        events = {e.id: e for e in parsed["consent_events"]}
        contributions = {c.id: c for c in parsed["contributions"]}
        audits = [a for a in parsed["audit"]]
        by_action: dict[str, list[str]] = {}
        for a in audits:
            by_action.setdefault(a.action, []).append(a.target)

        # Every acknowledged record is there, whole.
        for pid, code in acks.participants.items():
            p = people.get(pid)
            if p is None or p.code != code:
                result.lost += 1
                problem(f"participant {code} was acknowledged but is missing")
        for cid, (i, pid) in acks.contributions.items():
            c = contributions.get(cid)
            if c is None:
                result.lost += 1
                problem(f"contribution of write {i} was acknowledged but is missing")
            elif (
                c.participant_id != pid
                or c.values.get("notes") != contribution_values(i)["notes"]
                or c.values.get("walk_minutes") != contribution_values(i)["walk_minutes"]
            ):
                result.lost += 1
                problem(f"contribution of write {i} is not whole")
        for i, cid in acks.reviews:
            c = contributions.get(cid)
            if c is None or f"review {i}" not in [r.note for r in c.reviews]:
                result.lost += 1
                problem(f"review of write {i} was acknowledged but is missing")
        for eid, (i, pid) in acks.consent_changes.items():
            e = events.get(eid)
            if e is None or e.participant_id != pid or e.kind is not ConsentKind.change:
                result.lost += 1
                problem(f"consent change of write {i} was acknowledged but is missing")

        # Nothing half-made: each stored record has its consent and audit events, and nothing
        # beyond the one write that was under way when the writer was killed.
        enrols = {e.participant_id for e in parsed["consent_events"] if e.kind is ConsentKind.enrol}
        for p in people.values():
            if p.id not in enrols:
                problem(f"participant {p.code} has no consent event")
            if p.code not in by_action.get("participant enrolled", []):
                problem(f"participant {p.code} has no audit event")
            state = fold_consent([e for e in parsed["consent_events"] if e.participant_id == p.id])
            if not state.enrolled:
                problem(f"participant {p.code}'s consent does not fold to enrolled")
        for e in parsed["consent_events"]:
            if e.participant_id not in people:
                problem(f"consent event {e.id} names no stored participant")
        for c in contributions.values():
            if c.participant_id not in people:
                problem(f"contribution {c.id} names no stored participant")
            if c.id not in by_action.get("contribution added", []):
                problem(f"contribution {c.id} has no audit event")
        changes = [e for e in parsed["consent_events"] if e.kind is ConsentKind.change]
        if len(by_action.get("consent changed", [])) != len(changes):
            problem("consent changes and their audit events do not match")
        if len(by_action.get("contribution added", [])) != len(contributions):
            problem("contributions and their audit events do not match")
        if len(by_action.get("participant enrolled", [])) != len(people):
            problem("participants and their audit events do not match")
        stored = len(people) + len(changes) + len(contributions)
        reviews = sum(len(c.reviews) for c in contributions.values())
        if len(by_action.get("contributions reviewed", [])) != reviews:
            problem("reviews and their audit events do not match")
        result.unacknowledged_kept = stored + reviews - acks.count
        if not 0 <= result.unacknowledged_kept <= 1:
            problem(f"{result.unacknowledged_kept} records stored beyond the acknowledged ones (at most 1 may be)")
        ids = [d.get("id") for name in docs for d in docs[name]]
        if len(ids) != len(set(ids)):
            problem("two records share an id")


def run_trial(workdir: Path, writes: int, seed: int, env: dict[str, str] | None = None) -> TrialResult:
    """One writer killed at a random point of its own run of ``writes`` writes, then checked."""
    rng = random.Random(seed)
    kill_after = rng.randint(1, writes)
    data_path = workdir / f"trial-{seed}"
    env = dict(env or os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    data_path.mkdir(parents=True)
    errors = workdir / f"trial-{seed}.stderr"
    with errors.open("w") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.harness", "writer", str(data_path), str(writes), str(seed)],
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
            cwd=ROOT,
            env=env,
        )
    assert proc.stdout is not None
    acks = Acks()
    seen = 0
    deadline = time.monotonic() + 120
    try:
        for line in proc.stdout:
            acks.read(line)
            if line[:1] in ("E", "C", "K", "R"):
                seen += 1
            if seen >= kill_after or time.monotonic() > deadline:
                time.sleep(rng.random() * 0.004)  # land anywhere in the next write, a compaction too
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()  # through the same buffer the loop read from
        proc.wait()
    err = errors.read_text()
    errors.unlink()
    # Every complete line the writer printed was acknowledged, even those not read before the kill.
    for line in rest.splitlines(keepends=True):
        if line.endswith("\n"):
            acks.read(line)
    result = TrialResult(seed=seed, kill_after=kill_after, acknowledged=acks.count, writer_pid=proc.pid)
    if proc.returncode not in (-signal.SIGKILL, 0):
        result.problems.append(f"the writer failed on its own: {err.strip().splitlines()[-1:]}")
    elif acks.count == 0:
        result.problems.append(f"the writer acknowledged nothing: {err.strip()[-300:]}")
    check(data_path, acks, result)
    return result


@dataclass
class Totals:
    trials: int = 0
    writes_acknowledged: int = 0
    records_lost: int = 0
    invalid_records: int = 0
    unacknowledged_kept: int = 0
    failed_trials: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"crash trials: {self.trials}, writes acknowledged: {self.writes_acknowledged}, "
            f"records lost: {self.records_lost}, invalid records: {self.invalid_records}, "
            f"in-flight writes kept whole: {self.unacknowledged_kept}, failed trials: {len(self.failed_trials)}, "
            f"{self.seconds:.0f} s"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def run_trials(
    workdir: Path, trials: int, writes: int = 1000, seed: int = 0, keep: bool = False, parallel: int | None = None
) -> Totals:
    """Run the trials, a few writers at a time (they wait on fsync far more than they compute)."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    if parallel is None:
        parallel = int(os.environ.get("CITIZEN_CRASH_PARALLEL", "3"))
    totals = Totals()
    start = time.monotonic()
    # Patched once around every check, so that the checks running side by side agree.
    with small_store(), ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        results = list(pool.map(lambda n: run_trial(workdir, writes, seed * 100_003 + n), range(trials)))
    for result in results:
        totals.trials += 1
        totals.writes_acknowledged += result.acknowledged
        totals.records_lost += result.lost
        totals.invalid_records += result.invalid
        totals.unacknowledged_kept += max(result.unacknowledged_kept, 0)
        if result.problems:
            totals.failed_trials.append(asdict(result))
        elif not keep:
            shutil.rmtree(workdir / f"trial-{result.seed}", ignore_errors=True)
    totals.seconds = time.monotonic() - start
    return totals


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "writer":
        writer(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: python -m tests.support.harness writer DATA WRITES SEED")
