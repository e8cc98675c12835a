"""A language no catalogue ships: the study carries the phone pages' words itself, and publishing waits for them.

Tigrinya (ti) stands for any language a community translator adds without a release; French shows
a study correcting a shipped catalogue (the study's words win).
"""

from __future__ import annotations

import json

import pytest

from citizen.domain.words import has_catalogue, page_msgids
from citizen.export.bundle import export_bundle, read_bundle
from citizen.services import Refused, create_invite, export_protocol, import_protocol, queries
from citizen.services import design as d
from citizen.services import page_words as pw
from citizen.services.merge import merge_bundle
from citizen.store import DataFolder

from .support.language_study import PANEL, protocol, study_in, tigrinya, two_language_draft
from .support.web import enrol, fetch, path_of, phone, send, served


def test_publishing_waits_for_the_pages_in_a_language_no_catalogue_ships(data):
    assert not has_catalogue("ti") and has_catalogue("fr") and has_catalogue("en")
    study, draft = two_language_draft(data)
    with pytest.raises(Refused) as refused:
        d.publish_draft(study, draft.id, "", PANEL)
    message = str(refused.value)
    total = len(page_msgids())
    assert f"The phone pages' words in 'ti': {total} of {total} have no translation" in message
    assert "Page words screen" in message and "page_words" in message  # where to fix it
    assert study.repo.current_protocol() is None

    for msgid, text in list(tigrinya().items())[:-3]:
        pw.save_page_word(study, draft.id, "ti", msgid, text, PANEL)
    with pytest.raises(Refused, match=f"'ti': 3 of {total} have no translation"):
        d.publish_draft(study, draft.id, "", PANEL)
    for msgid, text in list(tigrinya().items())[-3:]:
        pw.save_page_word(study, draft.id, "ti", msgid, text, PANEL)
    version = d.publish_draft(study, draft.id, "", PANEL)
    assert version.page_words["ti"]["Join the study"] == "ኣብ መጽናዕቲ ተሳተፍ"
    assert d.start_draft(study, PANEL).page_words == version.page_words  # the next draft starts from them


def test_a_shared_draft_carries_its_page_words(data, tmp_path):
    study, draft = two_language_draft(data)
    pw.save_page_word(study, draft.id, "ti", "Yes", "እወ", PANEL)
    export_protocol(study, tmp_path / "draft.json", draft=True)
    assert json.loads((tmp_path / "draft.json").read_text(encoding="utf-8"))["protocol"]["page_words"] == {"ti": {"Yes": "እወ"}}
    copy = import_protocol(data, tmp_path / "draft.json", PANEL, study_id="copy")
    assert d.open_draft(copy).page_words == {"ti": {"Yes": "እወ"}} and copy.repo.current_protocol() is None


def test_a_bad_translation_is_refused_plainly_and_stores_nothing(data):
    study, draft = two_language_draft(data)
    before = d.open_draft(study)
    cases = [
        ("ti", "Earlier contributions (%(count)s more)", "ቀደም", "Keep %(count)s exactly as written"),
        ("ti", "Earlier contributions (%(count)s more)", "ቀደም (%(n)s)", "Keep %(count)s exactly as written"),
        ("ti", "Yes", "እወ %(n)s", "no value to fill in"),
        ("ti", "Yes", "100% እወ", "no other '%' sign"),
        ("ti", "Something the pages never say", "ገለ", "not one of the phone pages' texts"),
        ("am", "Yes", "አዎ", "not written in 'am'"),
        ("en", "Yes", "Yeah", "written in English"),
        ("ti", "Yes", "እ" * 1001, "longer than 1000"),
    ]
    for lang, msgid, text, reason in cases:
        with pytest.raises(Refused, match=reason.replace("(", r"\(").replace(")", r"\)")):
            pw.save_page_word(study, draft.id, lang, msgid, text, PANEL)
    assert d.open_draft(study) == before
    pw.save_page_word(study, draft.id, "ti", "Yes", "  እወ  ", PANEL)
    assert d.open_draft(study).page_words == {"ti": {"Yes": "እወ"}}
    pw.save_page_word(study, draft.id, "ti", "Yes", "", PANEL)  # emptied: missing again
    assert d.open_draft(study).page_words == {}
    assert [e.action for e in queries.activity(study)][:2] == ["page words cleared", "page words translated"]


def test_the_study_carried_words_travel_in_protocol_files_and_bundles(data, tmp_path):
    with pytest.raises(Refused, match="cannot speak every one of its languages.*'ti'"):
        study_in(data, tmp_path, "ti", dict(protocol("fr"), study=dict(protocol("fr")["study"], languages=["fr", "ti"])))
    assert not data.has_study("air-fr")
    doc = protocol("fr", page_words={"ti": tigrinya()})
    doc["study"]["languages"] = ["fr", "ti"]
    study = study_in(data, tmp_path, "fr", doc)
    assert study.repo.current_protocol().page_words["ti"]["Yes"] == "እወ"

    export_protocol(study, tmp_path / "out.json")
    written = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert written["protocol"]["page_words"]["ti"]["Send"] == "ስደድ"
    export_protocol(import_protocol(data, tmp_path / "out.json", PANEL, study_id="copy"), tmp_path / "again.json")
    assert (
        json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))["protocol"]["page_words"]
        == written["protocol"]["page_words"]
    )

    export_bundle(study, tmp_path / "study.citizen")
    with DataFolder(tmp_path / "other") as other:
        merge_bundle(other, read_bundle(tmp_path / "study.citizen"), PANEL)
        assert other.study("air-fr") is not None
        from citizen.services import open_study

        assert open_study(other, "air-fr").repo.current_protocol().page_words["ti"]["Send"] == "ስደድ"


async def test_a_phone_is_served_in_the_study_carried_language_and_its_correction_of_a_shipped_one(data, tmp_path):
    doc = protocol("fr", page_words={"ti": tigrinya(), "fr": {"Join the study": "Rejoindre l’étude"}})
    doc["study"]["languages"] = ["fr", "ti"]
    study = study_in(data, tmp_path, "fr", doc)
    invite = create_invite(study, "poster", PANEL)
    async with served(study) as server:
        async with phone("ti") as p:
            status, page = await fetch(p, server.join_url(invite.token))
            assert status == 200 and '<html lang="ti" dir="ltr">' in page
            assert "ኣብ መጽናዕቲ ተሳተፍ" in page and "Join the study" not in page
            assert "እወ" in page and "ኣይፋል" in page
            link, _ = await enrol(p, server, invite.token, {"take_part": "yes", "quote_words": "no"})
            status, page, _ = await send(
                p,
                link,
                path_of(link) + "/contribute",
                {"walk_date": "2026-05-02", "route": "canal", "walk_minutes": "500"},
                server.base_url,
            )
            assert status == 422
            assert "በጃኻ 120 ወይ ካብኡ ዝነኣሰ ኣእቱ።" in page and "Please enter" not in page
            assert "ስደድ" in page and 'lang="en"' not in page
        async with phone("fr") as p:  # the study's words win over the shipped catalogue's
            _, page = await fetch(p, server.join_url(invite.token))
            assert "Rejoindre l’étude" in page and "Participer à l’étude" not in page
            assert "Oui" in page  # the rest still from the catalogue
