"""Property: whatever the consent items are called and whatever people answer, exports follow consent.

For studies with random consent item ids (each role present or not, plain items besides), random
answers, consent changed over time, a second consent version with other ids, withdrawals: no
export under any option set holds the free text of someone who declined quoting, the rows of
someone who declined sharing in a partners export, or a contact of someone who did not ask to be
contacted. The expected outcome is worked out here from the answers the test gave, not from the
app's own consent rules.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional
from unittest import mock

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from citizen.domain.models import ConsentMethod, ConsentRole, ContributionSource
from citizen.domain.protocol_file import ProtocolFile
from citizen.export.plan import make_options, prepare_export
from citizen.export.run import export_data
from citizen.services import (
    Refused,
    add_contribution,
    change_consent,
    create_study,
    enrol_participant,
    publish_protocol_version,
    withdraw,
)
from citizen.store import DataFolder, durable

RAM = "/dev/shm" if Path("/dev/shm").is_dir() else None  # many small studies: kept off the disk where possible
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
OPTIONAL_ROLES = [ConsentRole.share_partners, ConsentRole.quote_words, ConsentRole.contact_later]
FIELDS = [
    {"key": "notes", "label": {"en": "Anything to add?"}, "type": "long_text"},
    {"key": "minutes", "label": {"en": "Minutes"}, "type": "integer"},
    {"key": "street", "label": {"en": "Your street"}, "type": "text", "identifying": True},
]

item_ids = st.builds(lambda head, tail: head + tail, st.sampled_from("abcdefghqz"), st.text("abz09_", max_size=6))


@st.composite
def consent_items(draw) -> list[dict]:
    """Items with random ids: taking part, each optional role or not, a few plain ones, in any order."""
    roles = [ConsentRole.take_part] + [r for r in OPTIONAL_ROLES if draw(st.booleans())]
    roles += [ConsentRole.plain] * draw(st.integers(0, 2))
    ids = draw(st.lists(item_ids, min_size=len(roles), max_size=len(roles), unique=True))
    items = [{"id": i, "text": {"en": f"Item {i}"}, "role": r.value} for i, r in zip(ids, roles, strict=True)]
    return draw(st.permutations(items))


options_sets = st.fixed_dictionaries(
    {
        "audience": st.sampled_from(["team", "partners"]),
        "identifying": st.booleans(),
        "contacts": st.booleans(),
        "drop_free_text": st.booleans(),
        "hash_codes": st.booleans(),
        "shift_dates": st.booleans(),
        "labels": st.booleans(),
        "format": st.sampled_from(["csv", "redcap"]),
    }
)

# Few people, many steps each: what matters is one person's answers changing between contributions.
steps = st.lists(
    st.tuples(
        st.sampled_from(["give", "change", "give", "withdraw", "give", "enrol", "change", "publish"]),
        st.integers(0, 1),
        st.lists(st.booleans(), min_size=6, max_size=6),
    ),
    min_size=8,
    max_size=16,
)


@dataclass
class Person:
    id: str
    code: str
    contact: str
    version: int
    granted: set[str]
    withdrawn: bool = False
    removed: bool = False
    given: list[tuple[str, str, int, frozenset[str]]] = field(default_factory=list)  # id, text, version, granted


def role_item(items: list[dict], role: ConsentRole) -> Optional[str]:
    return next((i["id"] for i in items if i["role"] == role.value), None)


def answers_for(items: list[dict], bits: list[bool]) -> dict[str, bool]:
    return {i["id"]: True if i["role"] == "take_part" else bit for i, bit in zip(items, bits, strict=False)}


def allows(docs: dict[int, list[dict]], version: int, granted, role: ConsentRole, absent: bool) -> bool:
    item = role_item(docs[version], role)
    return absent if item is None else item in granted


def forbidden(docs: dict[int, list[dict]], people: list[Person], options: dict) -> set[str]:
    """Every marker that must not be in this export: the test's own reading of the consent given."""
    out: set[str] = set()
    partners = options["audience"] == "partners"
    for p in people:
        now = set() if p.withdrawn else p.granted
        quote_now = allows(docs, p.version, now, ConsentRole.quote_words, absent=True)
        share_now = allows(docs, p.version, now, ConsentRole.share_partners, absent=False)
        contact_now = allows(docs, p.version, now, ConsentRole.contact_later, absent=False)
        if not (contact_now and options["contacts"]) or p.removed:
            out.add(p.contact)
        if partners and not share_now and not options["hash_codes"]:
            out.add(p.code)
        for cid, text, version, granted in p.given:
            quote_then = allows(docs, version, granted, ConsentRole.quote_words, absent=True)
            share_then = allows(docs, version, granted, ConsentRole.share_partners, absent=False)
            if p.removed or not (quote_then and quote_now):
                out.add(text)
            if p.removed or (partners and not (share_then and share_now)):
                out |= {cid, text}
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(first=consent_items(), second=consent_items(), plan=steps, option_sets=st.lists(options_sets, min_size=1, max_size=2))
def test_no_export_holds_what_consent_keeps_back(first, second, plan, option_sets):
    # Durability is tested elsewhere; here every fsync would only slow the examples down.
    with (
        tempfile.TemporaryDirectory(dir=RAM) as tmp,
        mock.patch.object(durable, "fsync", lambda fd: None),
        mock.patch.object(durable, "fsync_dir", lambda folder: None),
        DataFolder(Path(tmp) / "data") as data,
    ):
        pf = ProtocolFile.model_validate(
            {
                "format": "citizen-protocol",
                "schema": 1,
                "study": {"id": "prop", "title": "Property", "shared_aim": "Check consent is honoured."},
                "protocol": {"fields": FIELDS, "consent": {"text": {"en": "Consent."}, "items": first}, "approved_by": "Amina"},
            }
        )
        study = create_study(data, pf, "Amina", at=T0)
        docs = {1: first}
        current = 1
        people: list[Person] = []
        n = 0
        for n, (kind, who, bits) in enumerate(plan, start=1):
            at = T0 + timedelta(minutes=n)
            person = people[who % len(people)] if people else None
            if kind == "enrol" or person is None:
                answers = answers_for(docs[current], bits)
                contact = f"ph{n:03d}qx"
                # Details are taken only from someone who agrees to be contacted (refused otherwise).
                agrees = answers.get(role_item(docs[current], ConsentRole.contact_later) or "", False)
                p = enrol_participant(
                    study, answers, ConsentMethod.phone, "volunteer", contact={"phone": contact} if agrees else None, at=at
                )
                people.append(Person(p.id, p.code, contact, current, {k for k, v in answers.items() if v}))
            elif kind == "give" and not person.withdrawn:
                if person.version != current:  # asked to re-consent first, as the phone page does
                    answers = answers_for(docs[current], bits)
                    change_consent(study, person.id, answers, ConsentMethod.phone, "participant", at=at)
                    person.version, person.granted = current, {k for k, v in answers.items() if v}
                text = f"zq{n:03d}free"
                c = add_contribution(
                    study,
                    person.id,
                    {"notes": text, "minutes": "5", "street": f"st{n:03d}x"},
                    ContributionSource.phone,
                    "volunteer",
                    at=at,
                )
                person.given.append((c.id, text, person.version, frozenset(person.granted)))
            elif kind == "change" and not person.withdrawn:
                answers = answers_for(docs[current], bits)
                change_consent(study, person.id, answers, ConsentMethod.phone, "participant", at=at)
                person.version, person.granted = current, {k for k, v in answers.items() if v}
            elif kind == "withdraw" and not person.withdrawn:
                remove = bits[0]
                withdraw(study, person.id, remove, ConsentMethod.phone, "participant", at=at)
                person.withdrawn, person.removed = True, remove
            elif kind == "publish" and current == 1:
                publish_protocol_version(
                    study, pf.protocol.fields, {"en": "Consent, changed."}, second, "Other consent items.", "Amina", at=at
                )
                current = 2
                docs[2] = second
        for i, options in enumerate(option_sets):
            try:
                plan_ = prepare_export(study, make_options(**options))
            except Refused:
                continue
            out = Path(tmp) / f"export-{i}"
            export_data(study, plan_, "Amina", out)
            written = "\n".join(f.read_text(encoding="utf-8-sig") for f in sorted(out.iterdir()))
            leaked = sorted(m for m in forbidden(docs, people, options) if m in written)
            assert not leaked, (options, leaked)
