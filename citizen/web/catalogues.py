"""Keep the phone pages' word catalogues in step: `python -m citizen.web.catalogues` (needs Babel).

It gathers every marked text from the templates, this package's code and the answer-checking
messages of ``citizen/domain/rules.py`` (marked with ``Said``), adds new ones to each
``locale/<lang>/LC_MESSAGES/citizen.po`` (keeping the translations already there, and marking
gone ones obsolete), and compiles each ``.po`` to the ``.mo`` file that the server loads. The
``.mo`` files are committed, so running the app never needs Babel.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Union

from .i18n import DOMAIN, LOCALE_DIR

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
LANGUAGES = ("en", "zh", "ar", "fr", "es", "pt", "sw", "hi", "ur", "bn", "ru")
KEYWORDS = {"_": None, "gettext": None, "N_": None, "Said": (1,), "ngettext": (1, 2)}
# Code outside the web package whose messages reach the phone pages (or the data dictionary).
ALSO = ("domain/rules.py", "export/plan.py", "export/report.py")


Msgid = Union[str, tuple[str, str]]  # a text, or a text counted (singular, plural) through ngettext


def extract() -> dict[Msgid, list[tuple[str, int]]]:
    """Every msgid used by the pages, with where it is used; a counted text as its (singular, plural) pair."""
    from babel.messages.extract import extract_from_file  # optional: Babel is needed only for this tool

    found: dict[Msgid, list[tuple[str, int]]] = {}
    sources = [(p, "python") for p in sorted(HERE.glob("*.py"))]
    sources += [(PACKAGE / name, "python") for name in ALSO]
    sources += [(p, "jinja2.ext:babel_extract") for p in sorted((HERE / "templates").glob("*.html"))]
    for path, method in sources:
        options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"} if method != "python" else {}
        for lineno, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS, options=options):
            msgid: Msgid = message if isinstance(message, str) else (message[0], message[1])
            if all(msgid):
                found.setdefault(msgid, []).append((str(path.relative_to(PACKAGE)), lineno))
    return found


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_po(lang: str):
    from babel.messages.pofile import read_po as babel_read_po  # optional: Babel (see extract)

    with po_path(lang).open("rb") as fh:
        return babel_read_po(fh, locale=lang)


def translation(previous: Any, msgid: Msgid, forms: int) -> Union[str, tuple[str, ...]]:
    """The translation kept from the catalogue before: a text, or one text per plural form of the language."""
    if isinstance(msgid, str):
        return previous.string if previous is not None and isinstance(previous.string, str) else ""
    kept = previous.string if previous is not None and isinstance(previous.string, tuple) else ()
    return tuple(kept[i] if i < len(kept) else "" for i in range(forms))


def update() -> list[str]:
    """Add new msgids to every catalogue and compile them; returns what still lacks a translation."""
    # optional: Babel is needed only for this tool, never by the running app
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    found = extract()
    missing = []
    for lang in LANGUAGES:
        path = po_path(lang)
        old = read_po(lang) if path.exists() else Catalog(locale=lang, domain=DOMAIN)
        catalog = Catalog(locale=lang, domain=DOMAIN, project="citizen", charset="utf-8")
        for msgid, places in found.items():
            text = translation(old.get(msgid), msgid, catalog.num_plurals)
            if lang == "en" and not any(text):
                text = msgid
            catalog.add(msgid, text, locations=places)
            if not (all(text) if isinstance(text, tuple) else text):
                missing.append(f"{lang}: {msgid if isinstance(msgid, str) else msgid[1]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False)
        with path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)
    return missing


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    gaps = update()
    for gap in gaps:
        print("no translation yet:", gap)
    sys.exit(1 if gaps else 0)
