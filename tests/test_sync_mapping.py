"""The documented mapping of a study to CouchDB documents (docs/sync.md) and its revisions."""

from __future__ import annotations

import pytest

from citizen.sync.mapping import (
    NotARecord,
    digest,
    doc_id,
    from_doc,
    next_rev,
    revisions,
    to_body,
    tombstone_rev,
    travels,
    winner,
)

PARTICIPANT = {
    "id": "3a0d8c2e-1111-4222-8333-444455556666",
    "code": "AC-W7C6",
    "token": "secret-link-token-123456",
    "enrolled_at": "2026-05-01T09:00:00Z",
    "route": "phone",
    "invite_id": None,
    "laptop": "AC",
}


def test_ids_are_stable_and_name_the_record():
    assert doc_id("study", {"id": "air-quality-walk"}) == "study"
    assert doc_id("protocol_versions", {"number": 2}) == "protocol:2"
    assert doc_id("contacts", {"participant_id": "p1"}) == "contact:p1"
    assert doc_id("participants", PARTICIPANT) == f"participant:{PARTICIPANT['id']}"
    assert doc_id("audit", {"id": "e1"}) == "audit:e1"


def test_a_participant_document_never_carries_the_private_link():
    body = to_body("participants", PARTICIPANT)
    assert "token" not in body and body["type"] == "participant" and body["schema"] == 1
    assert PARTICIPANT["token"] == "secret-link-token-123456"  # the record itself is left as it was
    table, record = from_doc(dict(body, _id=f"participant:{PARTICIPANT['id']}", _rev="1-x"))
    assert table == "participants" and record == {k: v for k, v in PARTICIPANT.items() if k != "token"}


def test_what_travels():
    assert not travels("contacts", {"participant_id": "p"}, include_contacts=False)
    assert travels("contacts", {"participant_id": "p"}, include_contacts=True)
    assert not travels("audit", {"action": "study synced"}, False)
    assert travels("audit", {"action": "merge conflict"}, False)
    assert not travels("drafts", {"id": "d"}, True)


@pytest.mark.parametrize(
    "doc, why",
    [
        ({"_id": "participant:p1", "type": "contribution", "schema": 1, "id": "p1"}, "says it is"),
        ({"_id": "widget:1", "type": "widget", "schema": 1}, "not an id of the mapping"),
        ({"_id": "update:u1", "type": "update", "id": "u1"}, "no schema"),
        ({"_id": "update:u1", "type": "update", "schema": 9, "id": "u1"}, "newer citizen"),
        ({"_id": "update:u1", "type": "update", "schema": 1, "id": "u2"}, "does not match"),
    ],
)
def test_a_document_that_follows_no_mapping_is_named(doc, why):
    with pytest.raises(NotARecord, match=why):
        from_doc(doc)


def test_revisions_are_a_pure_function_of_parent_and_content():
    d1, d2 = digest({"a": 1, "b": [1, 2]}), digest({"b": [1, 2], "a": 1})
    assert d1 == d2  # key order does not matter
    first = next_rev(None, d1)
    assert first == f"1-{d1}"
    second = next_rev(first, digest({"a": 2}))
    assert second.startswith("2-") and second == next_rev(first, digest({"a": 2}))
    assert next_rev(first, digest({"a": 2}), ("1-zzz",)) != second  # settling a conflict is another edit
    assert revisions(second, first) == {"start": 2, "ids": [second[2:], first[2:]]}
    assert tombstone_rev("3-abc") == tombstone_rev("3-abc") and tombstone_rev("3-abc").startswith("4-")
    assert winner(["2-aaa", "3-aaa", "3-bbb"]) == "3-bbb"


def test_what_a_laptop_remembers_of_a_hub_is_for_its_user_alone(tmp_path):
    import stat

    from citizen.sync.state import HubState, Settings

    Settings(url="https://hub.example.org/walk", user="amina").save(tmp_path, "walk")
    state = HubState.open(tmp_path, "walk", "https://hub.example.org/walk")
    state.record({"study": ["1-abc", "abc", []]})
    state.save("https://hub.example.org/walk")
    state.close()
    files = [p for p in (tmp_path / "sync").rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"settings.json", "state.json", "revs.log"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in (tmp_path / "sync").rglob("*") if p.is_dir())
    again = HubState.open(tmp_path, "walk", "https://hub.example.org/walk")
    assert again.revs == {"study": ["1-abc", "abc", []]}  # the log is read back after a stop
