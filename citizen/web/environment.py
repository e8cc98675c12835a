"""The templates' environment of one language (and one protocol's own page words), made once.

Every page says thirty or more fixed texts (``{{ _("Your page") }}``); asked of the catalogue on
every request, they were a third of a page's rendering, the largest part of a phone's request
(issue 16). The words of an environment never change (a new protocol version gets a new one), so
a fixed text is said once, when a template is compiled, exactly as the request would have said it:
the translation marked safe, then formatted with no values. Texts with values
(``_("… %(count)s …", count=n)``) are still said per request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context
from markupsafe import Markup

from .i18n import StudyWords, said_filter
from .messages import HERE

# {{ _("text") }} as the lexer gives it
SAID_ONCE = ("variable_begin", "name", "lparen", "string", "rparen", "variable_end")
# What the part of a contribution (contribution.html) reads of its page
ARTICLE_NAMES = ("lang", "token", "can_contribute", "start", "reply_to", "section", "errors", "reply_text", "csrf")
ARTICLES_KEPT = 5000  # contributions kept made, per language: a few phones' pages each, about 1 KB each
CHOICES_KEPT = 64  # consent items as asked, per language: a handful of ways to have answered them


class FixedWords(Extension):
    """Replaces each ``{{ _("text") }}`` by what it says in the environment's words, at compile time."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        tokens = list(stream)
        words: StudyWords = self.environment.globals["words"]
        escaping = self.environment.autoescape
        safe = escaping(stream.name) if callable(escaping) else bool(escaping)
        if any(t.type == "name" and t.value == "autoescape" for t in tokens):
            yield from tokens  # a block that changes escaping: every text is said per request
            return
        i = 0
        while i < len(tokens):
            window = tokens[i : i + len(SAID_ONCE)]
            if tuple(t.type for t in window) == SAID_ONCE and window[1].value == "_":
                try:
                    text = words.gettext(window[3].value)
                    said = str((Markup(text) if safe else text) % {})
                except (ValueError, TypeError, KeyError):
                    said = None  # said per request, where it fails as it always did
                if said is not None:
                    yield Token(window[0].lineno, "data", said)
                    i += len(SAID_ONCE)
                    continue
            yield tokens[i]
            i += 1


def page_environment(words: StudyWords, fixed_words: bool = True) -> Environment:
    """The phone pages' templates in ``words``' language (``fixed_words``: fixed texts said once)."""
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n", *([FixedWords] if fixed_words else [])],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,  # a name no view gives stops the page, never shows as ""
        auto_reload=False,  # the templates ship with citizen: not looked at again on every page
    )
    env.install_gettext_translations(words, newstyle=True)  # type: ignore[attr-defined]
    env.globals["words"] = words
    env.filters["said"] = said_filter(words)
    env.globals["article"] = articles(env)
    env.globals["choices"] = choices(env)
    return env


class Kept:
    """Parts of pages already made, the least recently shown let go first."""

    def __init__(self, most: int):
        self.most = most
        self._made: OrderedDict[Hashable, Markup] = OrderedDict()

    def get(self, key: Hashable) -> Optional[Markup]:
        shown = self._made.get(key)
        if shown is not None:
            self._made.move_to_end(key)
        return shown

    def keep(self, key: Hashable, shown: Markup) -> Markup:
        self._made[key] = shown
        if len(self._made) > self.most:
            self._made.popitem(last=False)
        return shown


def choices(env: Environment) -> Callable[[Any, Any], Markup]:
    """``choices(items, reach)``: a consent's items as a form asks them (consent_choices.html).

    The same for every phone that answered them alike (a join page's are unanswered for everyone;
    a participant's page shows their optional choices): made once per way of having answered, and
    reused. The items and the box for how to reach them are the key, so any change is made anew.
    """
    kept = Kept(CHOICES_KEPT)

    def made(items: Any, reach: Any) -> Markup:
        key = (tuple((i.id, i.text, i.required, i.answer, i.error) for i in items), reach)
        shown = kept.get(key)
        if shown is None:
            shown = kept.keep(key, Markup(env.get_template("consent_choices.html").render(items=items, reach=reach)))
        return shown

    return made


def articles(env: Environment) -> Callable[[Context, Any], Markup]:
    """``article(c)``: one contribution on its contributor's page (contribution.html).

    Most of a page is its five newest contributions, and a phone that sends one more sees four of
    them again. One with no conversation shows only itself, the page's link and whether it can
    still be corrected: made once, it is reused while those are the same (the view is the key, so
    a changed contribution is made anew). One with a conversation has reply forms, each with its
    own form token: made every time.
    """
    kept = Kept(ARTICLES_KEPT)

    @pass_context
    def article(context: Context, c: Any) -> Markup:
        names = {name: context[name] for name in ARTICLE_NAMES}
        key: Optional[Hashable] = None
        if not c.conversation:
            key = (names["token"], bool(names["can_contribute"]), c.id, c.at, tuple(c.answers), c.revised, c.state)
            try:
                shown = kept.get(key)
            except TypeError:  # answers of a kind that cannot be a key: made every time
                key = shown = None
            if shown is not None:
                return shown
        shown = Markup(env.get_template("contribution.html").render(c=c, **names))
        return kept.keep(key, shown) if key is not None else shown

    return article
