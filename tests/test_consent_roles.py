"""Consent items have roles, and every rule that reads consent reads the role, never the item's id.

Issue 13, finding 1: a declined "you may quote my words" was ignored unless the item's id was
exactly ``quote_words``. These tests build studies whose items have other ids and check what
leaves the laptop, through the command line and over real HTTP as a volunteer would.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from citizen.cli import main
from citizen.domain.models import ConsentRole
from citizen.services import create_invite, open_study
from citizen.store import DataFolder
from tests.support.web import WALK, enrol, path_of, phone, send, served

SECRET = "SECRET WORDS my name is Jo"
RENAMED = {"take_part": "join_in", "share_partners": "council_sees", "quote_words": "print_my_words", "contact_later": "ring_me"}


def renamed_protocol(demo_file: Path, tmp_path: Path, roles: bool) -> Path:
    """The demo's protocol file with its consent items' ids renamed (as the consent editor makes them)."""
    doc = json.loads(demo_file.read_text(encoding="utf-8"))
    for item in doc["protocol"]["consent"]["items"]:
        old = item["id"]
        item["id"] = RENAMED[old]
        if roles:
            item["role"] = old
        else:
            item.pop("role", None)
    doc["study"]["id"] = "renamed-walks"
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def exported_text(data_path: Path, study_id: str, out: Path, *options: str) -> str:
    assert main(["--data", str(data_path), "--as", "Amina Yusuf", "export", study_id, "--yes", "--out", str(out), *options]) == 0
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.iterdir()))


async def test_a_declined_quote_is_honoured_whatever_the_items_are_called(data_path, demo_file, tmp_path, capsys):
    path = renamed_protocol(demo_file, tmp_path, roles=True)
    assert main(["--data", str(data_path), "--as", "Amina Yusuf", "study", "import", str(path)]) == 0
    with DataFolder(data_path) as data:
        study = open_study(data, "renamed-walks")
        invite = create_invite(study, "library poster", "Amina Yusuf")
        async with served(study) as server, phone() as p:
            link, _ = await enrol(
                p, server, invite.token, {"join_in": "yes", "council_sees": "no", "print_my_words": "no", "ring_me": "no"}
            )
            status, page, _ = await send(p, link, path_of(link) + "/contribute", dict(WALK, notes=SECRET), server.base_url)
            assert status == 303, page
        stored = [c.values.get("notes") for p_ in study.repo.participants() for c in study.repo.contributions_of(p_.id)]
        assert stored == [SECRET]  # kept for the team on this laptop; it is the export that must leave it out
    capsys.readouterr()
    plain = exported_text(data_path, "renamed-walks", tmp_path / "plain")
    identifying = exported_text(data_path, "renamed-walks", tmp_path / "identifying", "--include-identifying")
    assert SECRET not in plain and SECRET not in identifying
    with (tmp_path / "plain" / "contributions.csv").open(newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["notes"] == "" and row["route"] == "canal_path"  # the walk itself is there, the words are not
    partners = exported_text(data_path, "renamed-walks", tmp_path / "partners", "--audience", "partners")
    assert SECRET not in partners
    with (tmp_path / "partners" / "contributions.csv").open(newline="", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == []  # they said no to the council seeing their walks


@pytest.mark.parametrize("roles", [True, False])
def test_an_old_file_without_roles_gets_them_from_its_ids_and_says_so(data_path, demo_file, tmp_path, capsys, roles):
    doc = json.loads(demo_file.read_text(encoding="utf-8"))
    for item in doc["protocol"]["consent"]["items"]:
        item.pop("role", None)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    if roles:  # a file with roles says nothing about them
        path = demo_file
    assert main(["--data", str(data_path), "--as", "Amina Yusuf", "study", "import", str(path)]) == 0
    out = capsys.readouterr()
    said = out.out + out.err
    if roles:
        assert "given them from their ids" not in said
    else:
        assert "given them from their ids" in said and "'quote_words' is quoting the participant's own words" in said
    with DataFolder(data_path) as data:
        consent = open_study(data, "air-quality-walk").repo.current_protocol().consent
        assert [(i.id, i.role.value) for i in consent.items] == [
            ("take_part", "take_part"),
            ("share_partners", "share_partners"),
            ("quote_words", "quote_words"),
            ("contact_later", "contact_later"),
        ]


# -- studies and bundles from before consent items had roles ------------------------------------
def strip_roles(doc: dict) -> dict:
    return {
        **doc,
        "consent": {**doc["consent"], "items": [{k: v for k, v in i.items() if k != "role"} for i in doc["consent"]["items"]]},
    }


def old_study(data: DataFolder, demo_file: Path):
    """The demo study stored as a citizen from before roles stored it: items with ids only."""
    from citizen.services import import_protocol
    from citizen.services.common import change

    study = import_protocol(data, demo_file, "Amina Yusuf")
    with change(study) as tx:
        tx.put("protocol_versions", 1, strip_roles(study.store.table("protocol_versions").get(1)))
    return study


async def test_an_old_study_opens_reads_roles_from_its_ids_and_says_so(data_path, demo_file, tmp_path):
    from citizen.domain.models import ConsentMethod, ContributionSource
    from citizen.services import add_contribution, enrol_participant
    from citizen.services.queries import role_notices
    from citizen.tui.app import make_app

    with DataFolder(data_path) as data:
        old_study(data, demo_file)
    with DataFolder(data_path) as data:  # opened again: nothing was rewritten, everything is read by role
        study = open_study(data, "air-quality-walk")
        assert "role" not in json.dumps(study.store.table("protocol_versions").get(1))
        assert [i.role.value for i in study.repo.current_protocol().consent.items] == [
            "take_part",
            "share_partners",
            "quote_words",
            "contact_later",
        ]
        [notice] = role_notices(study)
        assert "'quote_words' is quoting the participant's own words" in notice
        jo = enrol_participant(
            study,
            {"take_part": True, "share_partners": False, "quote_words": False, "contact_later": False},
            ConsentMethod.phone,
            "volunteer",
        )
        add_contribution(study, jo.id, dict(WALK, notes=SECRET, pm25="3"), ContributionSource.phone, "volunteer")
    assert SECRET not in exported_text(data_path, "air-quality-walk", tmp_path / "out", "--include-identifying")
    app = make_app(data_path, study_id="air-quality-walk", actor="Li Wei")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        [note] = [n for n in app._notifications if n.title == "Consent item roles"]
        assert "given them from their ids" in note.message and "consent editor" in note.message
    app.data.close()


def test_a_bundle_from_before_roles_merges_and_the_report_says_how_it_was_read(data_path, demo_file, tmp_path):
    from citizen.services.merge import merge_bundle, plan_merge
    from tests.support.bundles import laptop_folder, snapshot

    with laptop_folder(tmp_path / "old-laptop", "AC") as old:
        bundle = snapshot(old_study(old, demo_file))
    with laptop_folder(tmp_path / "new-laptop", "DE") as new:
        plan = plan_merge(new, bundle)
        said = "\n".join(plan.report.lines())
        assert "Protocol version 1: The consent items had no roles" in said
        merge_bundle(new, bundle, "Amina Yusuf", plan=plan)
        consent = open_study(new, "air-quality-walk").repo.current_protocol().consent
        assert consent.item_for(ConsentRole.quote_words).id == "quote_words"
    with laptop_folder(tmp_path / "third-laptop", "FG") as third:  # the same protocol stored with roles
        from citizen.services import import_protocol

        import_protocol(third, demo_file, "Amina Yusuf")
        again = plan_merge(third, bundle)  # one protocol, written with and without roles: the same version
        assert again.report.new.get("protocol_versions", 0) == 0 and not again.report.notices
        merge_bundle(third, bundle, "Amina Yusuf", plan=again)


def test_roles_are_checked_and_refused_in_plain_words():
    from pydantic import ValidationError

    from citizen.domain.models import ConsentDocument, ConsentItem

    take = ConsentItem(id="join", text={"en": "I join."}, role="take_part")
    assert take.required  # taking part is always required
    quote = {"id": "print_a", "text": {"en": "Print my words."}, "role": "quote_words"}
    with pytest.raises(ValidationError, match="all have the role 'quoting the participant's own words'"):
        ConsentDocument(version=1, text={"en": "x"}, items=[take, quote, dict(quote, id="print_b")])
    with pytest.raises(ValidationError, match="no consent item has the role 'taking part'"):
        ConsentDocument(version=1, text={"en": "x"}, items=[quote])
    doc = ConsentDocument(version=1, text={"en": "x"}, items=[take, quote])
    assert doc.item_for(ConsentRole.quote_words).id == "print_a" and doc.item_for(ConsentRole.contact_later) is None


def test_the_report_and_the_check_say_what_was_agreed_by_role(data_path, demo_file, tmp_path):
    from citizen.domain.models import ConsentMethod
    from citizen.export.plan import make_options, prepare_export
    from citizen.export.report import study_report
    from citizen.services import enrol_participant, import_protocol

    with DataFolder(data_path) as data:
        study = import_protocol(data, renamed_protocol(demo_file, tmp_path, roles=True), "Amina Yusuf")
        for quote in (True, False, False):
            enrol_participant(
                study,
                {"join_in": True, "council_sees": True, "print_my_words": quote, "ring_me": False},
                ConsentMethod.phone,
                "volunteer",
            )
        report = study_report(study)
        assert "1 of the 3 taking part agreed to their own words being quoted." in report
        assert "3 of the 3 taking part agreed to sharing with partner organisations." in report
        assert "0 of the 3 taking part agreed to being contacted later." in report
        check = "\n".join(prepare_export(study, make_options()).check.lines())
        assert "Free-text answers are exported only for participants who said yes to 'print_my_words'." in check

        plain_study = import_protocol(data, plain_protocol(demo_file, tmp_path), "Amina Yusuf")
        enrol_participant(plain_study, {"join_in": True}, ConsentMethod.phone, "volunteer")
        report = study_report(plain_study)
        assert "No consent item asks about quoting: free-text answers are exported." in report
        assert "No consent item asks about contacting participants later" in report
        check = "\n".join(prepare_export(plain_study, make_options()).check.lines())
        assert "No item asks about quoting: free-text answers will be exported." in check
        assert "no contacts are ever exported" in check


def plain_protocol(demo_file: Path, tmp_path: Path) -> Path:
    """The demo protocol with taking part as its only consent item (a study with no optional choice)."""
    doc = json.loads(demo_file.read_text(encoding="utf-8"))
    doc["protocol"]["consent"]["items"] = [dict(doc["protocol"]["consent"]["items"][0], id="join_in")]
    doc["study"]["id"] = "plain-walks"
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_whether_someone_allows_a_role_is_asked_by_role_now_and_at_a_time(data_path, demo_file, tmp_path):
    from datetime import datetime, timedelta, timezone

    from citizen.domain.models import ConsentMethod
    from citizen.services import change_consent, enrol_participant, import_protocol
    from citizen.services.queries import participant_allows

    t0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
    with DataFolder(data_path) as data:
        study = import_protocol(data, renamed_protocol(demo_file, tmp_path, roles=True), "Amina Yusuf")
        jo = enrol_participant(
            study,
            {"join_in": True, "council_sees": False, "print_my_words": False, "ring_me": True},
            ConsentMethod.phone,
            "volunteer",
            at=t0,
        )
        change_consent(
            study,
            jo.id,
            {"join_in": True, "council_sees": False, "print_my_words": True, "ring_me": False},
            ConsentMethod.phone,
            "participant",
            at=t0 + timedelta(days=1),
        )
        assert participant_allows(study, jo.id, ConsentRole.quote_words)
        assert not participant_allows(study, jo.id, ConsentRole.contact_later)
        assert not participant_allows(study, jo.id, ConsentRole.quote_words, at=t0 + timedelta(hours=1))
        assert participant_allows(study, jo.id, ConsentRole.contact_later, at=t0 + timedelta(hours=1))
        assert not participant_allows(study, jo.id, ConsentRole.share_partners)
        assert not participant_allows(study, jo.id, ConsentRole.quote_words, at=t0 - timedelta(days=1))
