"""How to reach a volunteer, over real HTTP: asked when they agree to be contacted, changed, removed.

It is kept apart (the contacts table), only while they allow contact, and leaves the laptop only in
an export made with ``--include-contacts``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from citizen.cli import main
from citizen.domain.models import ConsentMethod
from citizen.services import change_consent, create_invite, import_protocol
from citizen.services.contacts import REACH_PROBLEMS
from citizen.web.reach_pages import REACH_SAID

from .support.web import CONSENT, fetch, leave, path_of, phone, send, served

YES = dict(CONSENT, contact_later="yes")
ITEM_THEN_BOX = re.compile(r'<fieldset id="f-contact_later".*?</fieldset>\s*<div class="field reach', re.S)


def contact_of(study, code: str):
    p = study.repo.participant_by("code", code)
    c = study.repo.contact(p.id)
    return None if c is None else (c.name, c.phone, c.email)


def private_link(receipt: str) -> str:
    return html.unescape(re.search(r'id="private-link"[^>]*>([^<]+)<', receipt).group(1))


async def join(p, server, invite, consent: dict, reach=None):
    values = {f"consent_{k}": v for k, v in consent.items()}
    if reach is not None:
        values["reach"] = reach
    return await send(p, server.join_url(invite.token), f"/j/{invite.token}", values, server.base_url)


def test_the_pages_translate_every_refusal_of_a_way_to_reach_someone():
    assert set(REACH_PROBLEMS.values()) <= set(REACH_SAID)


async def test_saying_yes_to_being_contacted_asks_how_on_the_same_page(study, invite):
    async with served(study) as server, phone() as p:
        _, page = await fetch(p, server.join_url(invite.token))
        assert ITEM_THEN_BOX.search(page) and page.count('name="reach"') == 1  # right under the item
        for typed, words in [
            ("", "Please write a phone number or an e-mail address, or answer No"),
            ("call me maybe", "does not look like a phone number or an e-mail address"),
            ("12", "does not look like a phone number"),
            ("jo@", "does not look like"),
            ("0" * 30, "This is too long"),
            ("jo@example.org " * 20, "This is too long"),
        ]:
            status, page, _ = await join(p, server, invite, YES, typed)
            assert status == 422, typed
            assert words in re.search(r'id="f-reach-err">([^<]*)<', page).group(1)
            assert 'href="#f-reach"' in page and 'aria-invalid="true"' in page
            assert study.repo.participant_count() == 0
        status, page, _ = await join(p, server, invite, YES, " +44 7700  900123 ")
        assert status == 200
        code = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
    assert contact_of(study, code) == ("", "+44 7700 900123", "")
    assert "7700" not in json.dumps([a.details for a in study.repo.audit()])  # the log never holds it


async def test_the_question_and_its_refusals_are_in_the_page_language(study, invite):
    async with served(study) as server, phone("zh") as p:
        status, page, _ = await join(p, server, invite, YES, "明天打电话")
        assert status == 422 and '<html lang="zh"' in page
        assert "这看起来不像电话号码或电子邮件地址" in page and "如果同意：您的电话号码或电子邮件地址" in page
        status, page, _ = await join(p, server, invite, YES, "jo@example.org")
        assert status == 200
        code = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
    assert contact_of(study, code) == ("", "", "jo@example.org")


async def test_declining_keeps_nothing_that_was_typed(study, invite):
    async with served(study) as server, phone() as p:
        status, page, _ = await join(p, server, invite, CONSENT, "jo@example.org")
        assert status == 200
        code = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
        link = private_link(page)
        _, page = await fetch(p, link)
        assert 'id="reach-section"' not in page  # they did not ask to be contacted
        assert (await fetch(p, link + "/contact"))[0] == 303
    assert contact_of(study, code) is None


async def test_a_study_without_a_contact_item_never_asks(data, demo_file, tmp_path):
    doc = json.loads(demo_file.read_text(encoding="utf-8"))
    doc["protocol"]["consent"]["items"] = [i for i in doc["protocol"]["consent"]["items"] if i["id"] != "contact_later"]
    doc["study"]["id"] = "no-contact-walks"
    path = tmp_path / "no-contact.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    study = import_protocol(data, path, "Amina Yusuf")
    invite = create_invite(study, "poster", "Amina Yusuf")
    consent = {k: v for k, v in CONSENT.items() if k != "contact_later"}
    async with served(study) as server, phone() as p:
        _, page = await fetch(p, server.join_url(invite.token))
        assert 'name="reach"' not in page
        status, page, _ = await join(p, server, invite, consent, "07700 900123")  # a hand-made post
        assert status == 200
        link = re.search(r'id="private-link"[^>]*>([^<]+)<', page).group(1)
        _, page = await fetch(p, link)
        assert 'name="reach"' not in page and 'id="reach-section"' not in page
        assert (await fetch(p, link + "/contact"))[0] == 303
    assert study.store.table("contacts").count_rows() == 0


async def test_the_contact_item_is_found_by_its_role_whatever_its_id(data, demo_file, tmp_path):
    doc = json.loads(demo_file.read_text(encoding="utf-8"))
    for item in doc["protocol"]["consent"]["items"]:
        item["role"] = item["id"]
        item["id"] = {"contact_later": "ring_me"}.get(item["id"], item["id"])
    doc["study"]["id"] = "ring-me-walks"
    path = tmp_path / "ring-me.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    study = import_protocol(data, path, "Amina Yusuf")
    invite = create_invite(study, "poster", "Amina Yusuf")
    consent = {k: v for k, v in YES.items() if k != "contact_later"} | {"ring_me": "yes"}
    async with served(study) as server, phone() as p:
        _, page = await fetch(p, server.join_url(invite.token))
        assert re.search(r'<fieldset id="f-ring_me".*?</fieldset>\s*<div class="field reach', page, re.S)
        status, _, _ = await join(p, server, invite, consent, "")
        assert status == 422 and study.repo.participant_count() == 0
        status, page, _ = await join(p, server, invite, consent, "ring@example.org")
        assert status == 200
    (person,) = study.repo.participants()
    assert study.repo.contact(person.id).email == "ring@example.org"


async def test_their_page_shows_it_and_it_can_be_changed_or_removed(study, invite):
    async with served(study) as server, phone() as p:
        status, page, _ = await join(p, server, invite, YES, "jo@example.org")
        code = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
        link = private_link(page)
        _, page = await fetch(p, link)
        assert re.search(r'id="reach-shown">jo@example.org<', page)
        assert f'href="{path_of(link)}/contact"' in page

        _, page = await fetch(p, link + "/contact")
        assert 'value="jo@example.org"' in page
        status, page, _ = await send(
            p, link + "/contact", path_of(link) + "/contact", {"do": "save", "reach": "not a number"}, server.base_url
        )
        assert status == 422 and "does not look like" in page
        assert contact_of(study, code) == ("", "", "jo@example.org")  # untouched
        status, _, r = await send(
            p, link + "/contact", path_of(link) + "/contact", {"do": "save", "reach": "07700 900123"}, server.base_url
        )
        assert status == 303 and r.headers["Location"].endswith("?done=contact")
        assert contact_of(study, code) == ("", "07700 900123", "")
        _, page = await fetch(p, link + "?done=contact")
        assert "How to reach you was saved." in page and re.search(r'id="reach-shown">07700 900123<', page)

        _, page = await fetch(p, link + "/contact")
        forms = re.findall(
            r'<form method="post" action="([^"]+)"[^>]*>\s*<input type="hidden" name="csrf" '
            r'value="([^"]+)">',
            page,
        )
        assert len(forms) == 2  # save, and remove
        async with p.post(
            link + "/contact", data={"csrf": forms[1][1], "lang": "en", "do": "remove"}, allow_redirects=False
        ) as r:
            assert r.status == 303 and r.headers["Location"].endswith("?done=contact_removed")
        assert contact_of(study, code) == ("", "", "")
        _, page = await fetch(p, link + "?done=contact_removed")
        assert "How to reach you was removed." in page and "they have no way to reach you yet" in page
    p_ = study.repo.participant_by("code", code)
    assert "contact_later" in study.repo.consent_state(p_.id).granted  # their choice stays theirs
    actions = [a.action for a in study.repo.audit()]
    assert actions.count("contact details changed") == 1 and actions.count("contact details removed") == 1


async def test_answering_no_later_deletes_it_and_yes_again_asks_again(study, invite):
    async with served(study) as server, phone() as p:
        status, page, _ = await join(p, server, invite, YES, "jo@example.org")
        code = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
        link = private_link(page)
        _, page = await fetch(p, link)
        assert ITEM_THEN_BOX.search(page) and 'value="jo@example.org"' in page  # beside their choice
        choices = {"consent_share_partners": "yes", "consent_quote_words": "no"}
        status, _, _ = await send(
            p,
            link,
            path_of(link) + "/consent",
            choices | {"consent_contact_later": "no", "reach": "jo@example.org"},
            server.base_url,
        )
        assert status == 303
        assert contact_of(study, code) == ("", "", "")
        _, page = await fetch(p, link)
        assert 'id="reach-section"' not in page and 'value="jo@example.org"' not in page

        status, page, _ = await send(
            p, link, path_of(link) + "/consent", choices | {"consent_contact_later": "yes", "reach": ""}, server.base_url
        )
        assert status == 422 and "Please write a phone number or an e-mail address" in page
        assert "contact_later" not in study.repo.consent_state(study.repo.participant_by("code", code).id).granted
        status, _, _ = await send(
            p,
            link,
            path_of(link) + "/consent",
            choices | {"consent_contact_later": "yes", "reach": "+254 712 345678"},
            server.base_url,
        )
        assert status == 303
    assert contact_of(study, code) == ("", "+254 712 345678", "")


@pytest.mark.parametrize("choice", ["remove", "keep"])
async def test_leaving_deletes_it(study, invite, choice):
    async with served(study) as server, phone() as p:
        status, page, _ = await join(p, server, invite, YES, "jo@example.org")
        code = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
        link = private_link(page)
        status, _, _ = await leave(p, link, choice, server.base_url)
        assert status == 303
        assert (await fetch(p, link + "/contact"))[0] == 303  # nothing to see or change any more
    assert contact_of(study, code) == ("", "", "")


async def test_only_an_export_with_include_contacts_carries_it_and_only_for_who_allows_it(
    data, study, invite, data_path, tmp_path
):
    async with served(study) as server, phone() as p:
        codes = {}
        for who, consent, reach in [
            ("ring", YES, "07700 900123"),
            ("mail", YES, "mail@example.org"),
            ("no", CONSENT, "no@example.org"),
        ]:
            _, page, _ = await join(p, server, invite, consent, reach)
            codes[who] = re.search(r'id="participant-code"[^>]*>([^<]+)<', page).group(1)
    mail = study.repo.participant_by("code", codes["mail"])
    change_consent(study, mail.id, {k: v == "yes" for k, v in CONSENT.items()}, ConsentMethod.phone, "volunteer")
    data.close()  # the command line opens the data folder itself

    def exported(out: Path, *options: str) -> str:
        assert (
            main(
                [
                    "--data",
                    str(data_path),
                    "export",
                    "air-quality-walk",
                    "--out",
                    str(out),
                    "--yes",
                    "--approved-by",
                    "Amina Yusuf",
                    *options,
                ]
            )
            == 0
        )
        return "".join(f.read_text(encoding="utf-8") for f in sorted(out.rglob("*")) if f.is_file())

    plain = exported(tmp_path / "plain")
    assert "07700" not in plain and "example.org" not in plain
    wide = exported(tmp_path / "wide", "--include-identifying")
    assert "07700" not in wide and "example.org" not in wide
    with_contacts = exported(tmp_path / "contacts", "--include-contacts")
    assert "07700 900123" in with_contacts  # asked to be contacted, and still allows it
    assert "mail@example.org" not in with_contacts and "no@example.org" not in with_contacts
