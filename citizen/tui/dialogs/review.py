"""Review with a note, feedback to a contributor, and an update to every participant."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.widgets import Input, Label, RadioSet, TextArea

from ...domain.models import ReviewState
from ...services import ServiceError, give_feedback, post_update, review_contributions
from ...services.common import Study
from .base import Dialog

STATES = list(ReviewState)


class ReviewDialog(Dialog[Optional[ReviewState]]):
    """Set the review state of one contribution or of every marked one, with a note."""

    SAVE_LABEL = "Save review"

    def __init__(self, study: Study, contribution_ids: list[str], current: Optional[str] = None):
        super().__init__()
        self.study = study
        self.ids = contribution_ids
        self.current = current

    def heading(self) -> str:
        n = len(self.ids)
        return "Review this contribution" if n == 1 else f"Review {n} marked contributions"

    def body(self) -> ComposeResult:
        yield Label("Review state")
        yield RadioSet(*[s.value for s in STATES], id="state", compact=True)
        yield self.error_slot("state")
        yield Label("Note (why; seen by the team)")
        yield TextArea(id="note", classes="long-answer", soft_wrap=True, compact=True)

    def action_save(self) -> None:
        index = self.query_one("#state", RadioSet).pressed_index
        if index < 0:
            self.show_errors("Please choose a review state.", {"state": "Please choose one."})
            return
        state = STATES[index]
        try:
            review_contributions(self.study, self.ids, state, self.query_one("#note", TextArea).text.strip(), self.actor)
        except ServiceError as exc:
            self.show_errors(str(exc), getattr(exc, "errors", None))
            return
        self.dismiss(state)


class FeedbackDialog(Dialog[Optional[str]]):
    """Feedback the contributor reads on their own page: what came of their work."""

    SAVE_LABEL = "Send feedback"

    def __init__(self, study: Study, contribution_id: str, code: str):
        super().__init__()
        self.study = study
        self.contribution_id = contribution_id
        self.code = code

    def heading(self) -> str:
        return f"Feedback to {self.code} (shown on their page)"

    def body(self) -> ComposeResult:
        yield Label("Your feedback")
        yield TextArea(id="feedback", classes="long-answer", soft_wrap=True, compact=True)
        yield self.error_slot("feedback")

    def action_save(self) -> None:
        text = self.query_one("#feedback", TextArea).text.strip()
        if not text:
            self.show_errors("Please write the feedback first.", {"feedback": "This needs some words."})
            return
        try:
            give_feedback(self.study, self.contribution_id, text, self.actor)
        except ServiceError as exc:
            self.show_errors(str(exc))
            return
        self.dismiss(text)


class UpdateDialog(Dialog[Optional[str]]):
    """A 'what we learned' message that every participant sees on their page."""

    SAVE_LABEL = "Post update"

    def __init__(self, study: Study):
        super().__init__()
        self.study = study
        record = study.repo.study()
        self.language = record.main_language
        self.further = record.languages[1:]

    def heading(self) -> str:
        return "Post a study update (every participant sees it)"

    def body(self) -> ComposeResult:
        yield Label("Title")
        yield Input(id="title", placeholder="like: First map of hotspots", compact=True)
        yield self.error_slot("title")
        yield Label("What we learned")
        yield TextArea(id="body", classes="long-answer", soft_wrap=True, compact=True)
        yield self.error_slot("body")
        for lang in self.further:
            yield Label(f"The same in {lang} (participants reading {lang} see it; left empty, they see the first)")
            yield Input(id=f"title-{lang}", placeholder=f"the title in {lang}", compact=True)
            yield self.error_slot(f"title-{lang}")
            yield TextArea(id=f"body-{lang}", classes="long-answer", soft_wrap=True, compact=True)

    def action_save(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        body = self.query_one("#body", TextArea).text.strip()
        errors = {}
        if not title:
            errors["title"] = "An update needs a title."
        if not body:
            errors["body"] = "Please write what the study learned."
        for lang in self.further:
            if len(self.query_one(f"#title-{lang}", Input).value.strip()) > 200:
                errors[f"title-{lang}"] = "A title is at most 200 characters."
        if errors:
            self.show_errors("The update is not complete yet.", errors)
            return
        try:
            texts = {lang: self.query_one(f"#body-{lang}", TextArea).text.strip() for lang in self.further}
            titles = {lang: self.query_one(f"#title-{lang}", Input).value.strip() for lang in self.further}
            body_texts = {self.language: body} | {lang: t for lang, t in texts.items() if t}
            update = post_update(self.study, title, body_texts, self.actor, titles={k: v for k, v in titles.items() if v})
        except ServiceError as exc:
            self.show_errors(str(exc))
            return
        self.dismiss(update.title)
