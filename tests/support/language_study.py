"""A study written wholly in one language other than English, and a reader of what a phone shows.

``study_in`` builds the study from a protocol file, as a team would; ``visible_texts`` reads a page
as a person sees it (text, the page title, and the words a screen reader says), so the language
tests can check every visible string against the catalogue rather than by eye.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from citizen.domain.words import page_msgids
from citizen.services import design as d
from citizen.services import import_protocol

# The study's own texts, per language: title, aim, consent text, the two consent items, then the
# questions (label, and the choices where there are some).
TEXTS = {
    "fr": {
        "title": "Marches pour un air propre",
        "aim": "Découvrir ensemble où l’air de nos marches gêne la respiration.",
        "consent": "Participer veut dire noter vos marches ici. Vous pouvez arrêter quand vous voulez.",
        "take_part": "Je participe à l’étude.",
        "quote_words": "L’équipe peut citer mes mots.",
        "walk_date": "Quel jour avez-vous marché ?",
        "route": "Quel chemin avez-vous pris ?",
        "routes": ("Le long du canal", "La grande rue"),
        "minutes": "Combien de minutes avez-vous marché ?",
        "fumes": "Avez-vous senti des fumées ?",
        "symptoms": "Qu’avez-vous ressenti ?",
        "symptom_choices": ("Toux", "Sifflement"),
        "breathing": "Comment était votre respiration ?",
        "notes": "Autre chose à dire ?",
    },
    "sw": {
        "title": "Matembezi ya hewa safi",
        "aim": "Kugundua pamoja mahali hewa ya matembezi yetu inapofanya kupumua kuwe kugumu.",
        "consent": "Kushiriki kunamaanisha kuandika matembezi yako hapa. Unaweza kuacha wakati wowote.",
        "take_part": "Ninashiriki katika utafiti.",
        "quote_words": "Timu inaweza kunukuu maneno yangu.",
        "walk_date": "Ulitembea siku gani?",
        "route": "Ulipita njia gani?",
        "routes": ("Kando ya mfereji", "Barabara kuu"),
        "minutes": "Ulitembea kwa dakika ngapi?",
        "fumes": "Ulinusa moshi?",
        "symptoms": "Ulijisikiaje?",
        "symptom_choices": ("Kikohozi", "Kupumua kwa shida"),
        "breathing": "Kupumua kwako kulikuwaje?",
        "notes": "Kuna jingine la kusema?",
    },
    "hi": {
        "title": "साफ़ हवा की सैर",
        "aim": "मिलकर पता लगाना कि हमारी रोज़ की सैर में कहाँ की हवा से साँस लेना मुश्किल होता है।",
        "consent": "भाग लेने का मतलब है अपनी सैर यहाँ लिखना। आप जब चाहें रुक सकते हैं।",
        "take_part": "मैं अध्ययन में भाग लेता/लेती हूँ।",
        "quote_words": "टीम मेरे शब्द उद्धृत कर सकती है।",
        "walk_date": "आप किस दिन चले?",
        "route": "आपने कौन सा रास्ता लिया?",
        "routes": ("नहर के किनारे", "मुख्य सड़क"),
        "minutes": "आप कितने मिनट चले?",
        "fumes": "क्या आपको धुएँ की गंध आई?",
        "symptoms": "आपको कैसा लगा?",
        "symptom_choices": ("खाँसी", "साँस में घरघराहट"),
        "breathing": "आपकी साँस कैसी थी?",
        "notes": "कुछ और कहना है?",
    },
}
WALK = {
    "walk_date": "2026-05-02",
    "route": "canal",
    "walk_minutes": "35",
    "smelled_fumes": "no",
    "symptoms": ["cough"],
    "breathing": "4",
    "notes": "",
}


def protocol(lang: str, page_words: dict | None = None) -> dict:
    t = TEXTS[lang]

    def one(text: str) -> dict[str, str]:
        return {lang: text}

    doc = {
        "format": "citizen-protocol",
        "schema": 1,
        "study": {"id": f"air-{lang}", "title": t["title"], "shared_aim": t["aim"], "languages": [lang]},
        "protocol": {
            "approved_by": "Amina Yusuf",
            "fields": [
                {"key": "walk_date", "type": "date", "required": True, "label": one(t["walk_date"])},
                {
                    "key": "route",
                    "type": "single_choice",
                    "required": True,
                    "label": one(t["route"]),
                    "choices": [
                        {"value": "canal", "label": one(t["routes"][0])},
                        {"value": "high_street", "label": one(t["routes"][1])},
                    ],
                },
                {"key": "walk_minutes", "type": "integer", "required": True, "min": 0, "max": 120, "label": one(t["minutes"])},
                {"key": "smelled_fumes", "type": "yes_no", "label": one(t["fumes"])},
                {
                    "key": "symptoms",
                    "type": "multiple_choice",
                    "label": one(t["symptoms"]),
                    "choices": [
                        {"value": "cough", "label": one(t["symptom_choices"][0])},
                        {"value": "wheeze", "label": one(t["symptom_choices"][1])},
                    ],
                },
                {"key": "breathing", "type": "rating", "label": one(t["breathing"])},
                {"key": "notes", "type": "long_text", "label": one(t["notes"])},
            ],
            "consent": {
                "text": one(t["consent"]),
                "items": [
                    {"id": "take_part", "text": one(t["take_part"]), "required": True},
                    {"id": "quote_words", "text": one(t["quote_words"]), "required": False},
                ],
            },
        },
    }
    if page_words:
        doc["protocol"]["page_words"] = page_words
    return doc


def study_in(data, tmp_path: Path, lang: str, doc: dict | None = None):
    """The study imported from its protocol file, as a team would add it."""
    path = tmp_path / f"air-{lang}.json"
    path.write_text(json.dumps(doc or protocol(lang), ensure_ascii=False), encoding="utf-8")
    return import_protocol(data, path, "Amina Yusuf")


def study_words(study) -> set[str]:
    """Every text the study itself carries (its title, aim, consent, questions), in any language."""
    record = study.repo.study()
    found = {record.title, record.shared_aim, *record.summary.values(), *record.shared_aim_text.values()}
    for version in study.repo.protocol_versions():
        found |= set(version.consent.text.values())
        for item in version.consent.items:
            found |= set(item.text.values())
        for f in version.fields:
            found |= set(f.label.values()) | set(f.help.values())
            for c in f.choices:
                found |= set(c.label.values())
    return found


class _Visible(HTMLParser):
    SKIP = {"script", "style", "svg"}
    SPOKEN = ("aria-label", "alt", "title", "placeholder")

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        for name, value in attrs:
            if name in self.SPOKEN and value and value.strip():
                self.texts.append(value.strip())

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(page: str) -> list[str]:
    parser = _Visible()
    parser.feed(page)
    return parser.texts


WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


PANEL = "Amina Yusuf"


# A few of the pages' words in Tigrinya; every other text gets a marked stand-in, so a test can
# tell the study's words from English on the page.
TIGRINYA = {
    "Join the study": "ኣብ መጽናዕቲ ተሳተፍ",
    "Yes": "እወ",
    "No": "ኣይፋል",
    "Send": "ስደድ",
    "Please enter %(n)s or less.": "በጃኻ %(n)s ወይ ካብኡ ዝነኣሰ ኣእቱ።",
}


def tigrinya() -> dict[str, str]:
    return {m: TIGRINYA.get(m, f"ትግ: {m}") for m in page_msgids()}


def two_language_draft(data, languages="en, ti"):
    """A study in English and Tigrinya whose form and consent are translated, but not the pages."""
    study = d.new_study(data, "Clinic Waits", "Learn how long we wait at the clinic.", PANEL, languages=languages)
    draft = d.start_draft(study, PANEL)
    d.save_draft_field(
        study,
        draft.id,
        {
            "label": {"en": "How many minutes did you wait?", "ti": "ክንደይ ደቒቕ ተጸቢኻ?"},
            "type": "integer",
            "max": "120",
            "required": True,
        },
        PANEL,
    )
    d.save_consent_text(
        study,
        draft.id,
        {"en": "Taking part means telling us how long you waited.", "ti": "ምስታፍ ክንደይ ከም ዝተጸበኻ ምንጋር ማለት እዩ።"},
        PANEL,
    )
    d.save_consent_item(
        study, draft.id, {"id": "take_part", "text": {"en": "I take part.", "ti": "እሳተፍ።"}, "required": True}, PANEL
    )
    return study, d.open_draft(study)
