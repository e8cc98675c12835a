"""Each phone page is shown from a typed view model (citizen/web/views.py), and a template that reads a
name no view gives stops loudly instead of showing an empty string (issue 14)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from markupsafe import Markup

from citizen.domain.models import pick
from citizen.web import views
from citizen.web.environment import page_environment
from citizen.web.forms import consent_views, field_views
from citizen.web.i18n import StudyWords
from citizen.web.reach_pages import ASKED, reach_view
from citizen.web.server import EnrolmentServer

from .support.factories import T0, enrol

TEMPLATES = Path(views.__file__).parent / "templates"
# pieces of pages, not pages
PARTS = {"base.html", "macros.html", "updates.html", "form_fields.html", "contribution.html", "consent_choices.html"}


def page_views() -> dict[str, type[views.PageView]]:
    return {cls.template: cls for cls in views.PageView.__subclasses__()}


def shown(view: views.PageView, record) -> str:
    """The page as the server renders it: its view's fields and what every page shows."""
    env = EnrolmentServer._make_env(StudyWords("en", {}))
    template = env.get_template(view.template)
    return template.render(lang="en", dir="ltr", study=record, switch=[], page="/p/x", csrf=lambda: "tok", **view.context())


def test_every_page_template_has_one_view_model():
    pages = {p.name for p in TEMPLATES.glob("*.html")} - PARTS
    assert set(page_views()) == pages
    for cls in page_views().values():
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_a_missing_or_misspelt_field_fails_where_the_view_is_made():
    with pytest.raises(TypeError):
        views.PlainView(heading="Not found")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        views.PlainView(heading="Not found", mesage="No such page.")  # type: ignore[call-arg]
    view = views.PlainView(heading="Not found", message="No such page.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.heading = "Found"  # type: ignore[misc]


def test_the_pages_templates_refuse_a_name_nobody_gave(study):
    env = EnrolmentServer._make_env(StudyWords("en", {}))
    with pytest.raises(UndefinedError):
        env.from_string("<p>{{ heading }}</p>").render()
    # The plain page without its message: a refusal, not a page with an empty sentence.
    context = views.PlainView(heading="Not found", message="No such page.").context()
    del context["message"]
    with pytest.raises(UndefinedError):
        env.get_template("plain.html").render(lang="en", dir="ltr", study=None, switch=[], page="", csrf=lambda: "", **context)


def sample_pages(study) -> list[tuple[views.PageView, list[str]]]:
    """Every page template, from a view model with something in each of its parts, and texts it shows."""
    record = study.repo.study()
    current = study.repo.current_protocol()
    participant = enrol(study)
    gettext = StudyWords("en", {}).gettext
    reach = reach_view(current, gettext, ASKED)
    assert reach is not None
    items = consent_views(current.consent, "en", None, None)
    fields = field_views(current.fields, "en", gettext, None, None)
    news = [("Walk on Saturday", "Meet at the library.\nBring water.", T0)]
    contribution = views.ContributionView(
        id="c1",
        at=T0,
        answers=[("Route", "Canal path")],
        revised=True,
        state="Accepted",
        conversation=[views.FeedbackView(text="Thanks!", key="2026-05-01T09:00:00Z", replies=["You are welcome."])],
    )
    pages = [
        (views.PlainView(heading="Not found", message="No such page."), ["<h1>Not found</h1>", "No such page."]),
        (
            views.JoinView(
                action="/j/abc",
                aim=record.aim("en"),
                summary=pick(record.summary, "en"),
                consent_text=pick(current.consent.text, "en"),
                items=items,
                reach=reach,
            ),
            ['action="/j/abc"', 'name="consent_take_part"', 'id="f-reach"'],
        ),
        (
            views.ReceiptView(participant=participant, link="http://laptop/p/xyz", qr=Markup("<svg></svg>")),
            [participant.code, 'href="http://laptop/p/xyz"', "<svg></svg>"],
        ),
        (views.CorrectView(token="xyz", fields=fields, problem=""), ['href="/p/xyz"', 'name="walk_date"']),
        (
            views.ContactView(token="xyz", participant=participant, shown="+44 7700 900123", reach=reach),
            ['id="reach-shown">+44 7700 900123<', 'action="/p/xyz/contact"'],
        ),
        (
            views.LeaveView(token="xyz", participant=participant, choice="remove", count=3, proposals=1),
            ["Your contributions (3) will be deleted", 'name="remove" value="remove"'],
        ),
        (
            views.LeftView(participant=participant, removed=False, kept=2, deleted=0, proposals=0, left_at=T0, updates=news),
            ["Your contributions (2) stay with the study", "<h3>Walk on Saturday</h3>", "<p>Bring water.</p>"],
        ),
        (
            views.ParticipantView(
                token="xyz",
                participant=participant,
                reconsent=False,
                can_contribute=True,
                contributions=[contribution],
                start=0,
                earlier=0,
                older=None,
                newer=None,
                updates=news,
                reach=reach,
                reach_section=views.ReachSection(shown=""),
                section="propose",
                errors={"title": "Please write a few words."},
                proposal=views.ProposalDraft(title="", rationale="Shade on the route"),
                fields=fields,
                optional=consent_views(current.consent, "en", {}, None, only_optional=True),
            ),
            [
                "Please write a few words.",
                ">Shade on the route</textarea>",
                '<p class="reply"><strong>Your reply:</strong> You are welcome.</p>',
                'href="/p/xyz/c/c1"',
                'name="walk_date"',
            ],
        ),
        (
            views.ParticipantView(
                token="xyz",
                participant=participant,
                reconsent=True,
                can_contribute=False,
                contributions=[],
                start=0,
                earlier=0,
                older=None,
                newer=None,
                updates=[],
                reach=None,
                reach_section=None,
                items=items,
                consent_text="Read this.",
                changes={"added": ["A new question"], "removed": [], "reworded": [], "text": []},
            ),
            ["New: A new question", 'id="reconsent"', "Nothing yet."],
        ),
    ]
    assert {type(view).template for view, _ in pages} == set(page_views())
    return pages


def test_each_page_renders_from_its_view_model(study):
    record = study.repo.study()
    for view, expected in sample_pages(study):
        html = shown(view, record)
        for text in expected:
            assert text in html, (view.template, text)


@pytest.mark.parametrize(
    "lang, own",
    [
        ("en", {}),
        ("fr", {}),  # a shipped catalogue
        ("ar", {"Your page": "صفحتك"}),  # a right-to-left catalogue, one text the study's own
        ("sw", {"Send": "Tuma & <b>sasa</b>", "Your page": "100%% yako"}),  # the study's words, marked up
        ("xx", {}),  # a language with neither: English
    ],
)
def test_fixed_texts_said_once_give_the_page_of_saying_them_per_request(study, lang, own):
    """Each page's fixed texts are said when its template is compiled (issue 16): byte for byte the
    page of asking the words on every request, in every kind of language."""
    record = study.repo.study()
    words = StudyWords(lang, own)
    once, per_request = page_environment(words), page_environment(words, fixed_words=False)
    common = dict(lang=lang, dir="ltr", study=record, switch=[("en", "English", "/p/x?lang=en")], page="/p/x", csrf=lambda: "tok")
    for view, _ in sample_pages(study):
        html = once.get_template(view.template).render(**common, **view.context())
        assert html == per_request.get_template(view.template).render(**common, **view.context()), view.template
    said = once.get_template("participant.html").render(**common, **sample_pages(study)[-2][0].context())
    assert words.gettext("Send") in said and words.gettext("Your page") % {} in said


def test_a_contribution_made_once_is_shown_again_until_it_changes(study):
    """A contribution with no conversation is made once per page and reused (issue 16): the same
    page each time, a change to it shown at once, reply forms made anew with fresh form tokens."""
    record = study.repo.study()
    participant = enrol(study)
    env = page_environment(StudyWords("en", {}))
    tokens = iter(range(1000))

    def page(*contributions: views.ContributionView, can_contribute: bool = True) -> str:
        view = views.ParticipantView(
            token="xyz",
            participant=participant,
            reconsent=False,
            can_contribute=can_contribute,
            contributions=list(contributions),
            start=0,
            earlier=0,
            older=None,
            newer=None,
            updates=[],
            reach=None,
            reach_section=None,
        )
        common = dict(lang="en", dir="ltr", study=record, switch=[], page="/p/xyz", csrf=lambda: f"tok{next(tokens)}")
        html = env.get_template("participant.html").render(**common, **view.context())
        return "".join(re.findall(r'<article class="contribution">.*?</article>', html, re.S))

    walk = views.ContributionView(
        id="c1", at=T0, answers=[("Route", "Canal <path>")], revised=False, state="received", conversation=[]
    )
    first = page(walk)
    assert page(walk) == first and "Canal &lt;path&gt;" in first and 'href="/p/xyz/c/c1"' in first
    assert "<strong>accepted</strong>" in page(dataclasses.replace(walk, state="accepted"))
    assert "· corrected" in page(dataclasses.replace(walk, revised=True, answers=[("Route", "Park")]))
    assert 'href="/p/xyz/c/c1"' not in page(walk, can_contribute=False)  # withdrawn from correcting: no link
    talked = dataclasses.replace(walk, conversation=[views.FeedbackView(text="Thanks!", key="k", replies=[])])
    once, again = page(talked), page(talked)
    assert "Thanks!" in once and once != again and re.sub(r"tok\d+", "", once) == re.sub(r"tok\d+", "", again)
    assert page(walk) == first


def test_consent_choices_made_once_follow_each_answer_and_error(study):
    """A consent's items as a form asks them are made once per way of answering them (issue 16):
    each phone still sees its own answers and its own refusal beside the item."""
    record = study.repo.study()
    current = study.repo.current_protocol()
    env = page_environment(StudyWords("en", {}))
    reach = reach_view(current, StudyWords("en", {}).gettext, ASKED)

    def join_page(answers, errors=None) -> str:
        view = views.JoinView(
            action="/j/abc",
            aim="",
            summary="",
            consent_text="",
            items=consent_views(current.consent, "en", answers, errors),
            reach=reach,
        )
        common = dict(lang="en", dir="ltr", study=record, switch=[], page="/j/abc", csrf=lambda: "tok")
        return env.get_template("join.html").render(**common, **view.context())

    said_yes = 'name="consent_quote_words" value="yes" checked'
    said_no = 'name="consent_quote_words" value="no" checked'
    blank = join_page(None)
    assert said_yes not in blank and said_no not in blank and join_page(None) == blank
    for _ in range(2):
        assert said_yes in join_page({"quote_words": True}) and said_no not in join_page({"quote_words": True})
        assert said_no in join_page({"quote_words": False}) and said_yes not in join_page({"quote_words": False})
    refused = join_page({"quote_words": None}, {"quote_words": "Please answer Yes or No."})
    assert 'id="f-quote_words-err"' in refused and 'id="f-quote_words-err"' not in join_page({"quote_words": None})
