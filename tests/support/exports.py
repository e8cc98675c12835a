"""What the export tests share: a walk with identifying answers, an export run as the team would, its files read back."""

from __future__ import annotations

import csv
from pathlib import Path

from frictionless import validate

from citizen.domain.models import ContributionSource
from citizen.export.plan import make_options, prepare_export
from citizen.export.run import export_data
from citizen.services import add_contribution

from . import factories
from .factories import T0


def problems(folder: Path) -> list[str]:
    report = validate(str(folder / "datapackage.json"))
    return [f"{task.name}: {e.type}: {e.message}" for task in report.tasks for e in task.errors] + [
        e.message for e in report.errors
    ]


# A walk that answers the identifying questions too, so the exports have something to hold back.
WALK = {**factories.WALK, "symptoms": ["cough", "wheeze"], "worst_spot": "Canal bridge", "home_street": "Elm Row"}


def plan_of(study, **options):
    return prepare_export(study, make_options(**options))


def export(study, out: Path, **options):
    return export_data(study, plan_of(study, **options), "Amina Yusuf", out)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def enrol(study, answers=None, at=T0, contact=None):
    """A phone enrolment at T0 unless a test says otherwise, so the exported dates are known."""
    return factories.enrol(study, answers, at=at, contact=contact)


def give(study, who, at, **values):
    """A walk from ``who`` at ``at``, with ``values`` over the usual answers."""
    return add_contribution(study, who.id, {**WALK, **values}, ContributionSource.phone, "volunteer", at=at)


def by_id(rows):
    """Exported rows by their contribution's id."""
    return {r["contribution_id"]: r for r in rows}
