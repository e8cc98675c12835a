"""The phone pages in the study's languages: English, Chinese and Arabic, chosen as a phone would."""

from __future__ import annotations

import gettext
import re

import pytest

from citizen.domain.models import ContributionSource
from citizen.domain.rules import validate_value
from citizen.domain.words import Said, StudyWords, shipped_languages
from citizen.services import create_invite
from citizen.web import catalogues
from citizen.web.i18n import LOCALE_DIR, choose_language, parse_accept_language, said_filter

from .support.web import WALK, enrol, fetch, path_of, phone, send, served

PHONES = {
    "en": ("en-GB,en;q=0.9", "Join the study", "Find out together", "Canal path", "Coughing"),
    "zh": ("zh-CN,zh;q=0.9,en;q=0.5", "参加研究", "一起找出我们日常步行中", "运河小路", "咳嗽"),
    "ar": ("ar-EG,ar;q=0.9,en;q=0.4", "انضم إلى الدراسة", "أن نكتشف معًا", "طريق القناة", "سعال"),
}


@pytest.fixture
def invite(study):
    return create_invite(study, "library poster", "Amina Yusuf")


def html_tag(page: str) -> str:
    return re.search(r"<html [^>]*>", page).group(0)


@pytest.mark.parametrize("lang", ["en", "zh", "ar"])
async def test_a_volunteer_enrols_and_contributes_in_their_phones_language(study, invite, lang):
    accept, join_words, aim, route, symptom = PHONES[lang]
    direction = "rtl" if lang == "ar" else "ltr"
    async with served(study) as server, phone(accept) as p:
        status, page = await fetch(p, server.join_url(invite.token))
        assert status == 200
        assert html_tag(page) == f'<html lang="{lang}" dir="{direction}">'
        assert join_words in page and aim in page
        consent_en = "Clean Air Walks is run by Northgate Health Centre"
        assert (consent_en in page) is (lang == "en")
        link, code = await enrol(p, server, invite.token)
        status, page, _ = await send(p, link, path_of(link) + "/contribute", WALK, server.base_url)
        assert status == 303
        _, page = await fetch(p, link)
    assert html_tag(page) == f'<html lang="{lang}" dir="{direction}">'
    assert route in page and symptom in page and code in page
    participant = study.repo.participants()[0]
    (event,) = study.repo.consent_events(participant.id)
    assert event.language == lang
    assert event.text_sha256 == study.repo.current_protocol().consent.text_sha256(lang)
    (contribution,) = study.repo.contributions_of(participant.id)
    assert contribution.source is ContributionSource.phone and contribution.values["route"] == "canal_path"


async def test_the_language_switch_is_on_every_page_and_is_remembered(study, invite):
    async with served(study) as server, phone("zh") as p:
        _, page = await fetch(p, server.join_url(invite.token))
        for code, name in (("en", "English"), ("zh", "中文"), ("ar", "العربية")):
            assert f'href="/j/{invite.token}?lang={code}" lang="{code}"' in page and name in page
        _, page = await fetch(p, server.join_url(invite.token) + "?lang=ar")
        assert 'lang="ar" dir="rtl"' in page
        _, page = await fetch(p, server.join_url(invite.token))  # the cookie remembers the choice
        assert 'lang="ar" dir="rtl"' in page
        link, _ = await enrol(p, server, invite.token)
        _, page = await fetch(p, link)
        assert 'lang="ar" dir="rtl"' in page and f'href="{path_of(link)}?lang=en"' in page
        status, page = await fetch(p, server.base_url + "/p/" + "Z" * 24)
        assert status == 404 and 'lang="ar" dir="rtl"' in page and "?lang=zh" in page
        assert "الصفحة غير موجودة" in page  # "Page not found"
    participant = study.repo.participants()[0]
    assert study.repo.consent_events(participant.id)[0].language == "ar"


async def test_answer_checks_speak_the_page_language_and_the_terminal_keeps_english(study, invite):
    async with served(study) as server, phone("zh") as p:
        link, _ = await enrol(p, server, invite.token)
        status, page, _ = await send(p, link, path_of(link) + "/contribute", dict(WALK, walk_minutes="lots"), server.base_url)
    assert status == 422
    assert "你走了多少分钟？</a>: 请输入一个整数，例如 42。</li>" in page  # "Please enter a whole number, like 42."
    assert "请检查你的回答" in page and "Please enter" not in page  # "Please check your answers"
    # The same rule still answers in English words where English is read (the terminal app, the command line).
    field = study.repo.current_protocol().field("walk_minutes")
    assert validate_value(field, "lots")[1] == "Please enter a whole number, like 42."
    assert validate_value(field, "999")[1] == "Please enter 300 or less."


def test_a_message_without_a_translation_is_marked_as_english():
    words = StudyWords("zh", {})
    said = said_filter(words)
    assert said(Said("Please enter %(n)s or less.", n="5")) == "请输入不超过 5 的数。"
    assert said("Something the catalogue never heard of.") == (
        '<span lang="en" dir="ltr">Something the catalogue never heard of.</span>'
    )
    assert said_filter(StudyWords("en", {}))("Something the catalogue never heard of.") == (
        "Something the catalogue never heard of."
    )


def test_accept_language_quality_values_decide():
    assert parse_accept_language("en;q=0.1, ar;q=0.8, zh-TW;q=0.5, fr;q=0") == ["ar", "zh-TW", "en"]
    langs = ["en", "zh", "ar"]
    assert choose_language(langs, None, {}, "en;q=0.1, ar;q=0.8, zh;q=0.5") == ("ar", False)
    assert choose_language(langs, None, {}, "zh-Hant-TW, en;q=0.5") == ("zh", False)
    assert choose_language(langs, None, {}, "fr-FR, de") == ("en", False)  # the study's main language
    assert choose_language(["zh", "en"], None, {}, "") == ("zh", False)
    assert choose_language(langs, "ar", {"lang": "zh"}, "en") == ("ar", True)
    assert choose_language(langs, "xx", {"lang": "zh"}, "en") == ("zh", False)
    assert choose_language(langs, None, {"lang": "<script>"}, "en") == ("en", False)


def test_every_page_word_has_a_translation_in_every_shipped_language():
    pytest.importorskip("babel")
    used = catalogues.extract()
    assert "Join the study" in used and "Page not found" in used and "Yes" in used
    assert "Please enter %(n)s or less." in used and "This question needs an answer." in used  # the answer checks
    assert {"fr", "es", "pt", "sw", "hi", "ur", "bn", "ru", "zh", "ar"} <= set(catalogues.LANGUAGES)
    assert set(shipped_languages()) == set(catalogues.LANGUAGES)
    for lang in catalogues.LANGUAGES:
        po = catalogues.read_po(lang)
        missing = [msgid for msgid in used if not (po.get(msgid) and po.get(msgid).string)]
        assert not missing, f"{lang} lacks: {missing}"
        for msgid in used:  # placeholders survive translation, in every plural form of a counted text
            forms = po.get(msgid).string
            forms = forms if isinstance(forms, tuple) else (forms,)
            assert len(forms) == (po.num_plurals if isinstance(msgid, tuple) else 1), (lang, msgid)
            for form in forms:
                wanted = msgid[0] if isinstance(msgid, tuple) else msgid
                assert form and set(re.findall(r"%\(\w+\)s", wanted)) == set(re.findall(r"%\(\w+\)s", form)), (lang, msgid)


@pytest.mark.parametrize("lang", catalogues.LANGUAGES)
def test_the_compiled_catalogues_match_their_sources(lang):
    pytest.importorskip("babel")
    po = catalogues.read_po(lang)
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "citizen.mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    entries = [m for m in po if m.id]
    assert entries
    keys = 0
    for message in entries:
        if isinstance(message.id, tuple):  # a counted text: each plural form, picked by the language's own rule
            for n in range(0, 112):
                form = message.string[gettext.c2py(po.plural_expr)(n)]
                assert mo.ngettext(message.id[0], message.id[1], n) == form, (message.id, n)
            keys += po.num_plurals
        else:
            assert mo.gettext(message.id) == (message.string or message.id), message.id
            keys += 1
    assert len(mo._catalog) - 1 == keys  # nothing in the .mo that the .po lost (less the header)


def test_templates_translate_only_literal_texts():
    """Issue 18, finding 11: ``{{ _(variable) }}`` is marked safe by new-style gettext, so unescaped."""
    from jinja2 import Environment, FileSystemLoader, nodes

    from citizen.web.server import HERE

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), extensions=["jinja2.ext.i18n"])
    calls = 0
    for name in env.list_templates(extensions=["html"]):
        tree = env.parse(env.loader.get_source(env, name)[0])
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in ("_", "gettext", "ngettext", "pgettext"):
                calls += 1
                literal = [a for a in call.args if isinstance(a, nodes.Const) and isinstance(a.value, str)]
                assert call.args and len(literal) >= 1 and isinstance(call.args[0], nodes.Const), (
                    f"{name}, line {call.lineno}: _() is given something other than a literal text"
                )
    assert calls > 50  # the templates' own words are all found


async def test_a_notice_after_a_change_is_shown_in_the_phones_language_and_escaped(study, invite):
    async with served(study) as server, phone("zh-CN,zh;q=0.9") as p:
        link, _ = await enrol(p, server, invite.token)
        status, _, r = await send(p, link, path_of(link) + "/contribute", WALK, server.base_url)
        assert status == 303
        _, page = await fetch(p, server.base_url + r.headers["Location"])
    en = "Thank you: your contribution was received."
    assert gettext.translation("citizen", str(LOCALE_DIR), languages=["zh"]).gettext(en) in page
