"""The records many tests start from: the demo study's id, a fixed time, consent answers, a walk, an enrolment."""

from __future__ import annotations

from datetime import datetime, timezone

from citizen.domain.models import ConsentMethod
from citizen.services import enrol_participant

STUDY = "air-quality-walk"  # the demo study
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
YES_ALL = {"take_part": True, "share_partners": True, "quote_words": True, "contact_later": True}
# A walk with only the questions the demo protocol requires.
SHORT_WALK = {"walk_date": "2026-05-01", "route": "canal_path", "walk_minutes": "30", "breathing": "4"}
WALK = {**SHORT_WALK, "symptoms": ["cough"], "notes": "Fine day."}


def enrol(study, answers=None, **kw):
    """A volunteer enrols from a phone, saying yes to everything unless ``answers`` says otherwise."""
    return enrol_participant(study, answers or YES_ALL, ConsentMethod.phone, "volunteer", **kw)
