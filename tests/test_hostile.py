"""Hostile input, property-based: no uncaught exception, no invalid record stored.

Protocol files (random JSON, random bytes, mutated valid files), answers against every field type,
and consent submissions go through the real services; afterwards the data folder is reopened and
every stored record is validated against its model. ``CITIZEN_HYPOTHESIS_EXAMPLES`` scales the
number of examples; each test prints how many hostile inputs it tried.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citizen.domain.models import ConsentMethod, ContributionSource, FieldType
from citizen.domain.protocol_file import ProtocolFileError, parse_protocol_file
from citizen.domain.rules import decide_consent, fold_consent, validate_values
from citizen.services import (
    NotFound,
    Refused,
    ServiceError,
    add_contribution,
    create_study,
    enrol_participant,
    import_protocol,
    open_study,
)
from citizen.services.demo import DEMO_FILE, studies_folder
from citizen.services.queries import check_data_folder
from citizen.store import DataFolder

from .support.harness import contribution_values

EXAMPLES = int(os.environ.get("CITIZEN_HYPOTHESIS_EXAMPLES", "200"))
TRIED: Counter = Counter()
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NASTY = [
    "",
    " ",
    "[bold]x[/bold]",
    "<script>alert(1)</script>",
    '=HYPERLINK("x")',
    "\x00",
    "\ud800",
    "\u202e",
    "9" * 40,
    "-0",
    "1e309",
    "NaN",
    "inf",
    "2026-02-30",
    "24:00",
    "yes",
    "no",
    "on",
    "1,5",
    "١٢",
    "x" * 600,
    "x" * 25_000,
    "a,b,c",
    "cough, wheeze",
    "None",
    "null",
    "\n\t",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    st.sampled_from(NASTY),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def demo_raw() -> dict:
    return json.loads((studies_folder() / DEMO_FILE).read_text())


def report(capsys, name: str) -> None:
    with capsys.disabled():
        print(f"\nhostile inputs tried ({name}): {TRIED[name]}")


def new_study():
    folder = Path(tempfile.mkdtemp(prefix="citizen-hostile-")) / "data"
    data = DataFolder(folder)
    study = import_protocol(data, studies_folder() / DEMO_FILE, "Amina Yusuf")
    return folder, data, study


@pytest.fixture(scope="module")
def hostile_study():
    """One study for the protocol-file tests (hypothesis runs many examples against it)."""
    folder, data, study = new_study()
    yield folder, data, study
    data.close()


@pytest.fixture(scope="module")
def form_study():
    """One study for the answers and consent tests."""
    folder, data, study = new_study()
    yield folder, data, study
    data.close()


def validate_everything(folder: Path) -> None:
    """Reopen from disk: every file is whole and every stored record passes its model."""
    assert check_data_folder(folder).problems == []  # check validates each record against its model
    with DataFolder(folder, readonly=True) as data:
        for study_id in data.study_ids():
            study = open_study(data, study_id)
            current = study.repo.current_protocol()
            for c in (study.repo.contributions_of(p.id) for p in study.repo.participants()):
                for contribution in c:
                    version = study.repo.protocol_version(contribution.protocol_version)
                    _, errors = validate_values(version.fields, contribution.values)
                    assert errors == {}, (contribution.values, errors)
            for p in study.repo.participants():
                state = fold_consent(study.repo.consent_events(p.id))
                assert state.enrolled and current is not None and state.covers(current.consent)


# -- protocol files -----------------------------------------------------------------------------
@SETTINGS
@given(
    st.one_of(
        json_values, st.dictionaries(st.sampled_from(["format", "schema", "study", "protocol", "x"]), json_values, max_size=5)
    )
)
def test_random_json_is_never_an_uncaught_error(value):
    TRIED["protocol files"] += 1
    try:
        parse_protocol_file(json.dumps(value).encode("utf-8", "surrogatepass"), "random.json")
    except ProtocolFileError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_are_never_an_uncaught_error(blob):
    TRIED["protocol files"] += 1
    try:
        parse_protocol_file(blob, "random.json")
    except ProtocolFileError:
        pass


def mutate(raw: dict, path: list, action: str, value) -> dict:
    doc = copy.deepcopy(raw)
    node = doc
    for step in path[:-1]:
        node = node[step]
    last = path[-1]
    if action == "delete" and isinstance(node, dict):
        node.pop(last, None)
    elif action == "wrap":
        node[last] = [node[last]]
    else:
        node[last] = value
    return doc


def paths(value, prefix=()):
    yield list(prefix)
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


DEMO_PATHS = [p for p in paths(demo_raw()) if p]


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(DEMO_PATHS), st.sampled_from(["set", "delete", "wrap"]), json_values), min_size=1, max_size=3
    ),
    st.one_of(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20),
        st.sampled_from(["..", "../escape", "/abs", "a/b", "a\\b", "CON", "x" * 80, "", " ", "Ab"]),
        st.text(max_size=20),
    ),
)
def test_mutated_protocol_files_import_cleanly_or_are_refused(hostile_study, mutations, new_id):
    folder, data, _ = hostile_study
    TRIED["protocol files"] += 1
    raw = demo_raw()
    for path, action, value in mutations:
        try:
            raw = mutate(raw, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    try:
        pf = parse_protocol_file(json.dumps(raw).encode("utf-8", "surrogatepass"), "mutated.json")
    except ProtocolFileError:
        return
    study_id = f"m-{new_id}-{TRIED['protocol files']}" if new_id.isalnum() else new_id
    try:
        study = create_study(data, pf, "tester", study_id=study_id or None)
    except ServiceError:
        return
    # A study lands in its own folder inside studies/, whatever id it was given.
    assert study.store.folder.resolve().parent == data.studies_folder.resolve()


def test_after_the_mutated_files_every_stored_record_is_valid(capsys):
    # Its own study and its own run of the mutations: nothing depends on which tests ran before.
    folder, data, study = new_study()
    tried = TRIED["protocol files"]
    test_mutated_protocol_files_import_cleanly_or_are_refused((folder, data, study))
    assert TRIED["protocol files"] > tried, "no mutated file was tried"
    data.close()
    validate_everything(folder)
    report(capsys, "protocol files")


# -- answers against every field type -----------------------------------------------------------
DEMO_FIELDS = {f["key"]: f["type"] for f in demo_raw()["protocol"]["fields"]}


def test_the_demo_form_has_every_field_type():
    assert set(DEMO_FIELDS.values()) == {t.value for t in FieldType}


hostile_value = st.one_of(scalars, st.lists(scalars, max_size=4), json_values)
# Random answers, and valid answers with a few of them replaced (so that some are stored).
answers = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(sorted(DEMO_FIELDS)), st.text(max_size=10)), hostile_value, max_size=14),
    st.builds(
        lambda i, over: {**contribution_values(i), **over},
        st.integers(0, 10_000),
        st.dictionaries(st.sampled_from(sorted(DEMO_FIELDS)), hostile_value, max_size=3),
    ),
)
actors = st.one_of(st.just("volunteer"), st.sampled_from(["", " ", "x" * 121, "[red]Amina[/red]"]), st.text(max_size=200))


@SETTINGS
@given(answers, st.sampled_from(list(ContributionSource)), actors)
def test_hostile_answers_are_stored_valid_or_refused(form_study, raw, source, actor):
    folder, data, study = form_study
    TRIED["form values"] += 1
    if not study.repo.participants():
        enrol_participant(
            study,
            {"take_part": True, "share_partners": True, "quote_words": True, "contact_later": True},
            ConsentMethod.phone,
            "volunteer",
        )
    participant = study.repo.participants()[0]
    before = study.repo.contribution_count()
    try:
        stored = add_contribution(study, participant.id, raw, source, actor)
    except Refused as exc:
        assert str(exc) and study.repo.contribution_count() == before
        assert all(isinstance(m, str) and m for m in exc.errors.values())
        return
    current = study.repo.current_protocol()
    assert validate_values(current.fields, stored.values)[1] == {}
    assert study.repo.contribution(stored.id) == stored


# -- consent submissions ------------------------------------------------------------------------
ITEMS = ["take_part", "share_partners", "quote_words", "contact_later"]
answer_values = st.one_of(
    st.none(), st.booleans(), st.sampled_from(["yes", "no", "", "0", "1", 0, 1]), st.integers(), json_values
)
consent_answers = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(ITEMS), st.text(max_size=12)), answer_values, max_size=6),
    # Every item answered, some with values that are not a plain yes or no.
    st.builds(
        lambda base, over: {**base, **over},
        st.fixed_dictionaries({i: st.booleans() for i in ITEMS}),
        st.dictionaries(st.sampled_from(ITEMS), answer_values, max_size=2),
    ),
)
contacts = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(st.sampled_from(["name", "phone", "email", "participant_id"]), st.text(max_size=8)),
        st.one_of(st.text(max_size=300), scalars),
        max_size=4,
    ),
)


@SETTINGS
@given(
    consent_answers,
    st.sampled_from(list(ConsentMethod)),
    st.one_of(st.sampled_from(["en", "ar", ""]), st.text(max_size=12)),
    st.one_of(st.just(""), st.text(max_size=200)),
    contacts,
    st.one_of(st.none(), st.text(max_size=30)),
    actors,
)
def test_hostile_consent_submissions_enrol_validly_or_are_refused(
    form_study, answers_, method, language, witness, contact, invite_token, actor
):
    folder, data, study = form_study
    TRIED["consent submissions"] += 1
    decision, errors = decide_consent(study.repo.current_protocol().consent, answers_)
    before = study.repo.participant_count()
    try:
        p = enrol_participant(
            study, answers_, method, actor, language=language, invite_token=invite_token, witness=witness, contact=contact
        )
    except (Refused, NotFound) as exc:
        assert str(exc) and study.repo.participant_count() == before
        return
    assert errors == {}
    # Only a clear yes grants an item: nothing is assumed for a value that is not a yes or a no.
    assert all(answers_.get(i) is True for i in decision.granted)
    state = study.repo.consent_state(p.id)
    assert state.enrolled and "take_part" in state.granted


def test_after_the_hostile_submissions_every_stored_record_is_valid(capsys):
    # Its own study and its own run of the submissions: nothing depends on which tests ran before.
    folder, data, study = new_study()
    tried = TRIED["form values"], TRIED["consent submissions"]
    test_hostile_answers_are_stored_valid_or_refused((folder, data, study))
    test_hostile_consent_submissions_enrol_validly_or_are_refused((folder, data, study))
    assert TRIED["form values"] > tried[0] and TRIED["consent submissions"] > tried[1], "nothing hostile was tried"
    data.close()
    validate_everything(folder)
    report(capsys, "form values")
    report(capsys, "consent submissions")


def test_a_no_written_as_text_is_never_taken_as_consent(form_study):
    _, _, study = form_study
    document = study.repo.current_protocol().consent
    decision, errors = decide_consent(
        document, {"take_part": "no", "share_partners": "false", "quote_words": 0, "contact_later": False}
    )
    assert decision.granted == [] and set(errors) == {"take_part", "share_partners", "quote_words"}
