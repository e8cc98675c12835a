"""A study in several languages: what is missing is shown, and publishing waits for every translation."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, TextArea

from citizen.domain.design import missing_translations
from citizen.services import Refused
from citizen.services import design as d
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.consent import ConsentEditorScreen

from .support.tui import SIZE, fill, shown

PANEL = "Amina Yusuf"


def three_language_draft(data_path):
    """A study in English, Chinese and Arabic whose draft is written in English only."""
    with DataFolder(data_path) as data:
        study = d.new_study(data, "Clinic Waits", "Learn how long we wait at the clinic.", PANEL, languages="en, zh, ar")
        draft = d.start_draft(study, PANEL)
        d.save_draft_field(
            study,
            draft.id,
            {
                "label": {"en": "How long did you wait?"},
                "type": "single_choice",
                "choices": "short | Under an hour\nlong | An hour or more",
            },
            PANEL,
        )
        d.save_consent_text(study, draft.id, "Taking part means telling us how long you waited.", PANEL)
        d.save_consent_item(study, draft.id, {"text": "I take part.", "id": "take_part", "required": True}, PANEL)
        return study.id


def test_missing_translations_name_each_text_and_language(data_path):
    study_id = three_language_draft(data_path)
    with DataFolder(data_path) as data:
        study = d.Study(data.study(study_id))
        draft = d.open_draft(study)
        missing = missing_translations(draft, ["en", "zh", "ar"])
        assert missing == [
            "The consent text in zh, ar",
            "Consent item 'take_part' in zh, ar",
            "Question 'how_long_did_you_wait': the label in zh, ar",
            "Question 'how_long_did_you_wait': the choice 'short' in zh, ar",
            "Question 'how_long_did_you_wait': the choice 'long' in zh, ar",
        ]
        assert missing_translations(draft, ["en"]) == []  # help left empty everywhere is not missing
        with pytest.raises(Refused) as refused:
            d.publish_draft(study, draft.id, "", PANEL)
        message = str(refused.value)
        assert "needs each of the study's languages" in message and "Consent item 'take_part' in zh, ar" in message
        assert study.repo.current_protocol() is None  # nothing was published

        # Translating one item keeps its English words; a study language it does not have is refused.
        d.save_consent_item(
            study, draft.id, {"text": "我参加。", "id": "take_part", "required": True}, PANEL, index=0, language="zh"
        )
        assert d.open_draft(study).consent_items[0].text == {"en": "I take part.", "zh": "我参加。"}
        with pytest.raises(Refused, match="not written in 'fr'"):
            d.save_consent_text(study, draft.id, "Texte", PANEL, language="fr")
        assert d.open_draft(study).consent_text == {"en": "Taking part means telling us how long you waited."}


async def test_translating_in_the_editors_then_publishing(data_path):
    study_id = three_language_draft(data_path)
    app = make_app(data_path, study_id=study_id, actor=PANEL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        design = app.screen
        assert "Translations missing" in shown(design, "#draft-problems")
        assert "the label in zh, ar" in shown(design, "#draft-problems")
        await pilot.press("p")  # the dialog lists what is missing, and publishing is refused
        await pilot.pause()
        intro = " ".join(str(s.render()) for s in app.screen.query(".hint").results())
        assert "Translation missing: The consent text in zh, ar" in intro
        await fill(pilot, approved_by="Community panel")
        assert "Missing:" in shown(app.screen, "#dialog-problem")
        await pilot.press("escape")
        await pilot.pause()

        # The field: a label and choices per language in the field dialog.
        design.query_one("#fields-table", DataTable).focus()
        await pilot.press("e")
        await pilot.pause()
        await fill(
            pilot,
            label_zh="你等了多久？",
            label_ar="كم من الوقت انتظرت؟",
            choices="short | Under an hour | 不到一小时 | أقل من ساعة\nlong | An hour or more | 一小时或更长 | ساعة أو أكثر",
        )
        assert "the label" not in shown(design, "#draft-problems")

        # The consent text and item, language by language in the consent editor.
        await pilot.press("c")
        await pilot.pause()
        consent = app.screen
        assert isinstance(consent, ConsentEditorScreen)
        for lang, text, item in (
            ("zh", "参加就是告诉我们你等了多久。", "我参加。"),
            ("ar", "المشاركة تعني أن تخبرنا كم انتظرت.", "أنا أشارك."),
        ):
            area = consent.query_one("#consent-text", TextArea)
            area.focus()
            area.text = area.text + " (changed)"
            await pilot.press("ctrl+l")  # unsaved words hold the language where it is
            await pilot.pause()
            assert consent.language != lang
            area.text = d.open_draft(app.study(study_id)).consent_text.get(consent.language, "")
            await pilot.press("ctrl+l")
            await pilot.pause()
            assert consent.language == lang and area.text == ""
            assert "(not yet in " + lang + ")" in str(consent.query_one("#items-table", DataTable).get_row_at(0)[1])
            area.text = text
            await pilot.press("ctrl+s")
            await pilot.pause()
            consent.query_one("#items-table", DataTable).focus()
            await pilot.press("e")
            await pilot.pause()
            await fill(pilot, text=item)
            assert item in str(consent.query_one("#consent-preview").render())  # the preview is in that language
        await pilot.press("escape")
        await pilot.pause()
        assert not design.query_one("#draft-problems").display
        await pilot.press("p")
        await pilot.pause()
        await fill(pilot, approved_by="Community panel")
        version = app.study(study_id).repo.current_protocol()
        assert version is not None and version.number == 1
        assert set(version.consent.text) == {"en", "zh", "ar"}
        assert version.consent.items[0].text == {"en": "I take part.", "zh": "我参加。", "ar": "أنا أشارك."}
        assert version.fields[0].choices[1].label["ar"] == "ساعة أو أكثر"
    app.data.close()


async def test_the_shared_aim_and_summary_in_every_language(data_path):
    study_id = three_language_draft(data_path)
    app = make_app(data_path, study_id=study_id, actor=PANEL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")  # details & team
        await pilot.pause()
        details = app.screen
        assert "(shared aim not translated yet)" in shown(details, "#details-facts")
        await pilot.press("e")
        await pilot.pause()
        await fill(
            pilot,
            summary="We time our waits.",
            aim_zh="了解我们在诊所等多久。",
            summary_zh="我们记录等待时间。",
            aim_ar="معرفة كم ننتظر في العيادة.",
        )
        record = app.study(study_id).repo.study()
        assert record.aim("zh") == "了解我们在诊所等多久。" and record.aim("ar") == "معرفة كم ننتظر في العيادة."
        assert record.aim("en") == "Learn how long we wait at the clinic."
        assert record.summary == {"en": "We time our waits.", "zh": "我们记录等待时间。"}
        assert "In zh: 了解我们在诊所等多久。" in shown(details, "#details-facts")
        await pilot.press("e")  # emptied, a translation is gone again; the others stay
        await pilot.pause()
        await fill(pilot, aim_ar="")
        record = app.study(study_id).repo.study()
        assert record.shared_aim_text == {"zh": "了解我们在诊所等多久。"} and record.summary["zh"] == "我们记录等待时间。"
    app.data.close()
