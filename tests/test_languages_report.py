"""Every study language beyond the phone pages: titles of updates, the data dictionary, the study report."""

from __future__ import annotations

import pytest

from citizen.cli import main
from citizen.domain.models import Update, to_doc
from citizen.export.report import study_report
from citizen.services import Refused, create_invite, open_study, post_update
from citizen.store import DataFolder

from .support.exports import export, read
from .support.factories import STUDY
from .support.language_study import protocol, study_in, tigrinya
from .support.web import enrol, fetch, phone, served


# -- titles of updates ---------------------------------------------------------------------------------
async def test_an_update_title_is_shown_in_the_readers_language(study):
    post_update(
        study,
        "Evening walks",
        {"en": "The ring road is worst at 6pm.", "zh": "环路晚上六点最差。"},
        "Amina Yusuf",
        titles={"zh": "傍晚的步行"},
    )
    invite = create_invite(study, "poster", "Amina Yusuf")
    pages = {}
    async with served(study) as server:
        for lang in ("zh", "ar", "en"):
            async with phone(lang) as p:
                link, _ = await enrol(p, server, invite.token)
                pages[lang] = (await fetch(p, link))[1]
    assert "<h3>傍晚的步行</h3>" in pages["zh"] and "环路晚上六点最差。" in pages["zh"]
    assert "<h3>Evening walks</h3>" in pages["ar"]  # no Arabic title given: the main language's
    assert "<h3>Evening walks</h3>" in pages["en"] and "傍晚的步行" not in pages["en"]


def test_an_update_stored_before_titles_per_language_still_loads():
    old = to_doc(Update(title="First map", body={"en": "Thanks."}, author="Amina Yusuf"))
    del old["title_text"]
    update = Update.model_validate(old)
    assert update.title_in("zh") == "First map" and update.title_text == {}
    with pytest.raises(ValueError, match="longer than 200"):
        Update(title="t", body={"en": "b"}, author="a", title_text={"zh": "长" * 201})


# -- the data dictionary -------------------------------------------------------------------------------
def test_the_dictionary_labels_fixed_columns_and_codes_in_each_study_language(data, tmp_path):
    doc = protocol("fr", page_words={"ti": tigrinya(), "fr": {"Review state": "Où en est la vérification"}})
    doc["study"]["languages"] = ["fr", "ti"]
    study = study_in(data, tmp_path, "fr", doc)
    rows = {r["column"]: r for r in read(export(study, tmp_path / "out").folder / "data_dictionary.csv")}
    assert rows["contribution_id"]["label_fr"] == "Numéro de la contribution"  # the French catalogue's words
    assert rows["review_state"]["label_fr"] == "Où en est la vérification"  # the study's correction wins
    assert rows["contribution_id"]["label_ti"] == tigrinya()["Contribution id"]  # the study's own words
    assert rows["smelled_fumes"]["choices_fr"] == "1 = oui | 0 = non"
    assert rows["symptoms__cough"]["choices_fr"] == "1 = choisi | 0 = non choisi"
    assert rows["smelled_fumes"]["choices_ti"] == f"1 = {tigrinya()['yes']} | 0 = {tigrinya()['no']}"
    fixed = ("contribution_id", "participant", "submitted_at", "protocol_version", "review_state")
    assert all(rows[c]["label_fr"] and rows[c]["label_ti"] for c in fixed)


def test_the_dictionary_speaks_every_shipped_language(data, tmp_path):
    doc = protocol("sw")
    doc["study"]["languages"] = ["sw", "hi", "ur", "bn", "ru", "es", "pt"]
    study = study_in(data, tmp_path, "sw", doc)
    rows = {r["column"]: r for r in read(export(study, tmp_path / "out").folder / "data_dictionary.csv")}
    assert rows["submitted_at"]["label_sw"] == "Ulipotumwa (UTC, ISO 8601)"
    assert rows["smelled_fumes"]["choices_ru"] == "1 = да | 0 = нет"
    assert rows["participant"]["label_hi"] == "प्रतिभागी कोड (छद्म नाम)"
    for lang in ("sw", "hi", "ur", "bn", "ru", "es", "pt"):
        assert rows["protocol_version"][f"label_{lang}"] and "Protocol" not in rows["protocol_version"][f"label_{lang}"]


# -- the study report ----------------------------------------------------------------------------------
def test_the_report_is_in_the_main_language_and_others_on_request(demo_data_path, data, tmp_path):
    with DataFolder(demo_data_path) as demo:
        study = open_study(demo, STUDY)
        post_update(
            study, "Evening walks", {"en": "Worst at 6pm.", "zh": "晚上六点最差。"}, "Amina Yusuf", titles={"zh": "傍晚的步行"}
        )
        english, chinese = study_report(study), study_report(study, "zh")
        with pytest.raises(Refused, match="not written in 'fr'; its languages are en, zh, ar"):
            study_report(study, "fr")
        aim_zh = study.repo.study().aim("zh")
    assert "## Our shared aim" in english and "## Participation" in english and "### Evening walks" in english
    assert "## 我们共同的目标" in chinese and aim_zh in chinese and "### 傍晚的步行" in chinese
    assert "## 参与情况" in chinese and "### 按审核状态" in chinese and "晚上六点最差。" in chinese
    assert "Our shared aim" not in chinese and "Participation" not in chinese

    french = study_report(study_in(data, tmp_path, "fr"))  # a French study: French unless asked otherwise
    assert "## Notre but commun" in french and "Découvrir ensemble" in french and "Participation\n" in french
    assert "Our shared aim" not in french and "contributions are kept" not in french


def test_citizen_report_language_option(demo_data_path, tmp_path, capsys):
    data = ["--data", str(demo_data_path)]
    assert main([*data, "report", STUDY, "--language", "ar", "--out", str(tmp_path / "ar.md")]) == 0
    assert "## هدفنا المشترك" in (tmp_path / "ar.md").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main([*data, "report", STUDY, "--language", "fr", "--out", str(tmp_path / "fr.md")]) != 0
    err = capsys.readouterr().err.strip()
    assert "not written in 'fr'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "fr.md").exists()


def test_the_report_counts_one_and_many_as_each_language_says_them(study, data, tmp_path):
    from citizen.domain.models import ConsentMethod, ContributionSource
    from citizen.services import add_contribution, enrol_participant

    from .support.factories import SHORT_WALK
    from .support.factories import enrol as enrol_here

    first = enrol_here(study)
    add_contribution(study, first.id, SHORT_WALK, ContributionSource.desk, "Amina Yusuf")
    one = study_report(study)
    assert "- 1 participant enrolled; 1 is taking part, 0 withdrew." in one
    assert "- 1 contribution is kept." in one
    enrol_here(study)
    two = study_report(study)
    assert "- 2 participants enrolled; 2 are taking part, 0 withdrew." in two
    questions = len(study.repo.current_protocol().fields)
    assert f"; {questions} questions; consent document version" in two

    french = study_in(data, tmp_path, "fr")
    yes = {item.id: True for item in french.repo.current_protocol().consent.items}
    enrol_participant(french, yes, ConsentMethod.phone, "volunteer")
    assert "- 1 participant inscrit ; 1 participe, 0 s'est retiré." in study_report(french)
    enrol_participant(french, yes, ConsentMethod.phone, "volunteer")
    report = study_report(french)
    assert "- 2 participants inscrits ; 2 participent, 0 s'est retiré." in report
    assert "0 contribution est conservée." in report  # French says 0 as it says 1
