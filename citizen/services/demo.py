"""The demo: a fresh copy of the bundled study with a plausible history, made through the services."""

from __future__ import annotations

import gc
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from ..domain.models import (
    ConsentMethod,
    ContributionSource,
    FieldType,
    FormField,
    ReviewState,
    StudyStatus,
)
from ..store import DataFolder
from .bulk import NewContribution, add_contributions
from .common import Study
from .contributions import give_feedback, post_update, review_contributions
from .participation import create_invite, enrol_participant, withdraw
from .proposals import add_proposal_note, decide_proposal, propose_change
from .studies import create_study, load_protocol_file, publish_protocol_version, set_study_status

DEMO_FILE = "air-quality-walk.json"
COORDINATOR = "Amina Yusuf"
WITNESSES = ["Tom Hale", "Li Wei", "Amina Yusuf"]
NOTES = [
    "The bus station end of the High Street was thick with fumes again.",
    "Much better air by the canal today, lots of people out.",
    "Roadworks on Mill Lane meant idling lorries outside the school.",
    "Windy, so the air felt fresh even on the main road.",
    "My chest felt tight after the crossing at Station Road.",
    "Quiet Sunday, hardly any cars.",
    "Someone was burning garden waste near the allotments.",
    "",
    "",
    "",
]
REMOVER = 2  # the participant who withdraws and asks for their walks to be removed
REMOVED_WALKS = 3
BULK = 1000  # contributions stored per change while the demo is made

SPOTS = [
    "Station Road crossing",
    "Bus station",
    "Mill Lane school gate",
    "Canal bridge",
    "Market square",
    "Allotments",
    "Ring road underpass",
    "",
]


def studies_folder() -> Path:
    """Where the bundled protocol files are: inside the installed package, or the repository's studies/."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "studies", here.parent / "studies"):
        if (candidate / DEMO_FILE).exists():
            return candidate
    raise FileNotFoundError("the bundled demo study file is missing from this installation")


def _answerer(f: FormField, rng: random.Random) -> Callable[[datetime], Any]:
    """How a walker answers one field (made once per form version: the demo makes many answers)."""
    if f.type is FieldType.date:
        return lambda day: day.date().isoformat()
    if f.type is FieldType.time:
        quarters = ["00", "15", "30", "45"]
        return lambda day: f"{rng.randint(7, 19):02d}:{rng.choice(quarters)}"
    if f.type is FieldType.single_choice:
        values = [c.value for c in f.choices]
        return lambda day: rng.choice(values)
    if f.type is FieldType.multiple_choice:
        codes = [c.value for c in f.choices if c.value != "none"]
        fallback = [c.value for c in f.choices if c.value == "none"] or codes[:1]
        sizes = [0, 0, 1, 1, 2]
        return lambda day: rng.sample(codes, k=rng.choice(sizes)) or list(fallback)
    if f.type is FieldType.integer:
        low, high = int(f.min or 0), int(f.max or 100)
        return lambda day: min(high, max(low, int(rng.gauss(35, 15))))
    if f.type is FieldType.decimal:
        return lambda day: "" if rng.random() < 0.6 else f"{max(1.0, rng.gauss(18, 9)):.1f}"
    if f.type is FieldType.rating:
        ratings = ["1", "2", "3", "4", "5"]
        return lambda day: rng.choice(ratings)
    if f.type is FieldType.yes_no:
        return lambda day: "yes" if rng.random() < 0.5 else "no"
    if f.type is FieldType.place:
        return lambda day: rng.choice(SPOTS)
    if f.type is FieldType.long_text:
        return lambda day: rng.choice(NOTES)
    return lambda day: ""  # identifying short text: most people leave their street out


def create_demo(
    data: DataFolder,
    participants: int = 60,
    contributions: int = 300,
    seed: Optional[int] = None,
    study_id: Optional[str] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Study:
    """Create the demo study with a history of enrolments, walks, reviews, proposals and updates."""
    # Bulk generation makes no reference cycles; the cycle collector would only rescan the
    # growing study again and again, so it rests until the demo is made.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _create_demo(data, participants, contributions, seed, study_id, progress)
    finally:
        if collecting:
            gc.enable()


def _create_demo(
    data: DataFolder,
    participants: int,
    contributions: int,
    seed: Optional[int],
    study_id: Optional[str],
    progress: Optional[Callable[[int, int], None]],
) -> Study:
    rng = random.Random(seed)
    pf = load_protocol_file(studies_folder() / DEMO_FILE)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now - timedelta(days=56)
    chosen_id = study_id or _free_id(data, pf.study.id)
    study = create_study(data, pf, COORDINATOR, study_id=chosen_id, source=pf.source, at=start)
    participants = max(1, participants)
    v2_at = start + timedelta(days=28)
    with study.store.batch():
        set_study_status(study, StudyStatus.active, COORDINATOR)
        poster = create_invite(study, "library poster", COORDINATOR)
        create_invite(study, "health centre waiting room", COORDINATOR, limit=200)
        # Enrolments are spread over the first six weeks; each walk comes after its walker enrolled.
        enrol_times = sorted(start + timedelta(minutes=rng.randint(60, 42 * 24 * 60)) for _ in range(participants))
        timeline: list[tuple[datetime, int, int]] = [(when, 0, i) for i, when in enumerate(enrol_times)]
        # Participant 2 withdraws at the end and asks for their walks to be removed: theirs come on
        # top of the asked number, so the study counts exactly that many contributions.
        remover = REMOVER if participants > REMOVER + 1 else None
        walkers = [i for i in range(participants) if i != remover]
        extra = [remover] * min(REMOVED_WALKS, contributions) if remover is not None else []
        for i in [*(walkers[rng.randrange(len(walkers))] for _ in range(contributions)), *extra]:
            span = max(60, int((now - enrol_times[i]).total_seconds() // 60) - 5)
            timeline.append((enrol_times[i] + timedelta(minutes=rng.randint(30, span)), 1, i))
        timeline.append((v2_at, -1, 0))
        timeline.sort()
        proposal = propose_change(
            study,
            "Ask whether people used their inhaler",
            "Several of us with asthma said the inhaler tells more than the rating does.",
            "Li Wei",
            at=start + timedelta(days=10),
        )
        add_proposal_note(study, proposal.id, "Agreed at the residents' meeting; keep it a yes/no question.", "Tom Hale")
        declined = propose_change(
            study,
            "Record people's exact home address",
            "It would make maps more precise.",
            "Tom Hale",
            at=start + timedelta(days=12),
        )
        decide_proposal(
            study,
            declined.id,
            False,
            "Too identifying for too little gain; the street question is enough.",
            COORDINATOR,
            at=start + timedelta(days=14),
        )
        people: dict[int, str] = {}
        made: list[tuple[str, datetime]] = []
        current = study.repo.current_protocol()
        assert current is not None
        form = [(f.key, _answerer(f, rng)) for f in current.fields]
        pending: list[NewContribution] = []

        def add_pending() -> None:
            ids = add_contributions(study, pending)
            made.extend((cid, c.at) for cid, c in zip(ids, pending, strict=True) if c.at is not None)
            pending.clear()

        for step, (when, kind, i) in enumerate(timeline):
            if kind == -1:
                add_pending()  # they answered the form of their day
                _publish_v2(study, proposal.id, v2_at)
                current = study.repo.current_protocol()
                assert current is not None
                form = [(f.key, _answerer(f, rng)) for f in current.fields]
            elif kind == 0:
                answers = {
                    "take_part": True,
                    "share_partners": rng.random() < 0.85,
                    "quote_words": rng.random() < 0.6,
                    "contact_later": rng.random() < 0.5,
                }
                if rng.random() < 0.75:
                    p = enrol_participant(
                        study, answers, ConsentMethod.phone, "volunteer (phone)", invite_token=poster.token, at=when
                    )
                else:
                    p = enrol_participant(
                        study, answers, ConsentMethod.desk, rng.choice(WITNESSES), witness=rng.choice(WITNESSES), at=when
                    )
                people[i] = p.id
            else:
                values = {key: answer(when) for key, answer in form}
                source = ContributionSource.phone if rng.random() < 0.8 else ContributionSource.desk
                pending.append(
                    NewContribution(
                        people[i],
                        values,
                        source,
                        "volunteer (phone)" if source is ContributionSource.phone else COORDINATOR,
                        when,
                    )
                )
                if len(pending) >= BULK:
                    add_pending()
            if progress and step % 1000 == 0:
                progress(step, len(timeline))
        add_pending()
        # Reviews: older walks mostly accepted, a few need attention, the last week still waiting.
        older = [cid for cid, when in made if when < now - timedelta(days=7)]
        accepted = [cid for cid in older if rng.random() < 0.85]
        accepted_set = set(accepted)
        flagged = [cid for cid in older if cid not in accepted_set and rng.random() < 0.5]
        for chunk in range(0, len(accepted), 5000):
            review_contributions(study, accepted[chunk : chunk + 5000], ReviewState.accepted, "Looks complete.", COORDINATOR)
        if flagged:
            review_contributions(
                study, flagged, ReviewState.needs_attention, "The minutes walked look unusual; please check.", COORDINATOR
            )
        for cid in accepted[: max(1, min(40, len(accepted) // 10))]:
            give_feedback(
                study,
                cid,
                "Thank you. Your walk helped us mark the Station Road crossing as a hotspot "
                "on the map we will take to the council.",
                COORDINATOR,
            )
        post_update(
            study,
            "First map of hotspots",
            {
                "en": "Thanks to 100 walks we now see that the air is worst at "
                "the Station Road crossing on weekday mornings. We will bring this to the council meeting."
            },
            COORDINATOR,
            at=start + timedelta(days=30),
        )
        post_update(
            study,
            "A new question about inhalers",
            {"en": "You asked us to add a question about inhalers. It is now on the form. Thank you for the idea."},
            COORDINATOR,
            at=v2_at + timedelta(hours=2),
        )
        propose_change(
            study,
            "Add evening walks to the route list",
            "Many of us walk after work, when the ring road is busiest.",
            "participant at the desk",
            at=now - timedelta(days=3),
        )
        # Two people withdraw: one keeps what they gave, one asks for it to be removed.
        if len(people) >= 4:
            withdraw(study, people[1], False, ConsentMethod.phone, "participant", at=now - timedelta(days=2))
            withdraw(study, people[REMOVER], True, ConsentMethod.desk, COORDINATOR, at=now - timedelta(days=1))
    study.store.compact()
    return study


def _publish_v2(study: Study, proposal_id: str, at: datetime) -> None:
    decide_proposal(
        study,
        proposal_id,
        True,
        "Everyone at the meeting agreed; it helps people with asthma.",
        COORDINATOR,
        at=at - timedelta(hours=1),
    )
    v1 = study.repo.current_protocol()
    assert v1 is not None
    inhaler = FormField(
        key="inhaler_used",
        type=FieldType.yes_no,
        label={
            "en": "Did you need your inhaler during or after the walk?",
            "zh": "步行期间或之后，你需要用吸入器吗？",
            "ar": "هل احتجت إلى بخاخ الربو أثناء المشي أو بعده؟",
        },
    )
    fields = [*v1.fields[:7], inhaler, *v1.fields[7:]]
    publish_protocol_version(
        study,
        fields,
        v1.consent.text,
        [i.model_dump() for i in v1.consent.items],
        "Added a question about inhalers, proposed by Li Wei.",
        COORDINATOR,
        proposal_id=proposal_id,
        at=at,
    )


def _free_id(data: DataFolder, base: str) -> str:
    if not data.has_study(base):
        return base
    n = 2
    while data.has_study(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"
