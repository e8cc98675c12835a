"""Studies made through the services, as a team would make them, for the tests that need one."""

from __future__ import annotations

from citizen.services import design as d
from citizen.store import DataFolder


def built_study(data, actor="Amina Yusuf"):
    """A study made from nothing with three fields and two consent items, published as version 1."""
    study = d.new_study(
        data,
        "Safe Crossings",
        "Find the crossings that feel unsafe to us.",
        actor,
        summary="We note crossings on our walks.",
        languages="en",
        team=[{"name": actor, "role": "coordinator"}],
    )
    draft = d.start_draft(study, actor)
    d.save_draft_field(study, draft.id, {"label": {"en": "Which crossing?"}, "type": "place", "required": True}, actor)
    d.save_draft_field(study, draft.id, {"label": {"en": "How safe did it feel?"}, "type": "rating"}, actor)
    d.save_draft_field(
        study,
        draft.id,
        {"label": {"en": "Who was with you?"}, "type": "multiple_choice", "choices": "Alone\nchild | A child\nA friend"},
        actor,
    )
    d.save_consent_text(study, draft.id, "Taking part means noting crossings you use.", actor)
    d.save_consent_item(study, draft.id, {"id": "take_part", "text": "I take part.", "required": True}, actor)
    d.save_consent_item(study, draft.id, {"text": "You may quote my words."}, actor)
    d.publish_draft(study, draft.id, "", actor)
    return study


def empty_study(data_path, title="Safe Crossings"):
    with DataFolder(data_path) as data:
        return d.new_study(data, title, "Find the crossings that feel unsafe to us.", "Amina Yusuf").id


def published_study(data_path):
    with DataFolder(data_path) as data:
        return built_study(data).id


def every_kind_study(data):
    study = d.new_study(data, "Every kind", "Ask every kind of question.", "Amina", languages="en, fr")
    draft = d.start_draft(study, "Amina")
    specs = [
        ("text", {"max": "80", "help": {"en": "A few words", "fr": "Quelques mots"}}),
        ("long_text", {}),
        ("integer", {"min": "0", "max": "120", "required": True}),
        ("decimal", {"min": "0.5"}),
        ("single_choice", {"choices": "canal | Canal path | Chemin du canal\nhigh | High Street | Grand-rue"}),
        ("multiple_choice", {"choices": "cough | Cough | Toux\nwheeze | Wheeze | Sifflement"}),
        ("yes_no", {}),
        ("date", {"required": True}),
        ("time", {}),
        ("rating", {}),
        ("place", {"identifying": True}),
    ]
    for kind, extra in specs:
        values = {"label": {"en": f"The {kind} question", "fr": f"La question {kind}"}, "type": kind, **extra}
        d.save_draft_field(study, draft.id, values, "Amina")
    d.save_consent_text(study, draft.id, {"en": "Taking part.", "fr": "Participer."}, "Amina")
    d.save_consent_item(
        study, draft.id, {"id": "take_part", "text": {"en": "I take part", "fr": "Je participe"}, "required": True}, "Amina"
    )
    d.publish_draft(study, draft.id, "", "Amina")
    return study
