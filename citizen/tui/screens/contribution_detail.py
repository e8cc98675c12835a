"""One contribution: its answers, what each correction changed, its reviews and the feedback its contributor has seen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from ...domain.models import ReviewState
from ...domain.plural import count
from ...services import NotFound, ServiceError, review_contributions
from ...services.browse import contribution_answers
from ...services.revisions import contribution_corrections
from ..dialogs.review import FeedbackDialog, ReviewDialog
from ..text import local_time, plain
from ..widgets.serving_line import app_header
from .base import StudyScreenBase


class ContributionDetailScreen(StudyScreenBase):
    """One contribution: its answers, its reviews and the feedback its contributor has seen."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "accept", "Accept"),
        Binding("f", "flag", "Flag"),
        Binding("v", "review", "Review+note"),
        Binding("b", "feedback", "Feedback"),
    ]

    def __init__(self, study_id: str, contribution_id: str):
        super().__init__(study_id)
        self.contribution_id = contribution_id
        self.code = ""

    def compose(self) -> ComposeResult:
        yield from app_header()
        with VerticalScroll():
            yield Static("", id="contribution-title", classes="title")
            yield Static("", id="contribution-body")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.follow_changes(self.show)
        self.show()

    def show(self) -> None:
        c = self.study.repo.contribution(self.contribution_id)
        if c is None:
            self.query_one("#contribution-title", Static).update("This contribution is not known.")
            return
        p = self.study.repo.participant(c.participant_id)
        self.code = p.code if p else "?"
        self.sub_title = f"Contribution from {self.code}"
        self.query_one("#contribution-title", Static).update(
            plain(f"From {self.code}, {local_time(c.submitted_at)} ({c.source.value}, form version {c.protocol_version})")
        )
        try:
            answers = contribution_answers(self.study, c.id)
        except NotFound:
            answers = []
        lines = [f"Review: {c.review_state.value}" + ("    REMOVED at the contributor's request" if c.removed else "")]
        if c.revised:
            lines.append(f"Corrected by the contributor {count(len(c.history), 'time')}; each correction is shown below.")
        lines.append("")
        for question, answer in answers:
            lines.append(question)
            lines.append(f"  {answer}")
        if c.revised:
            lines += ["", "Corrections, newest first:"]
            for correction in contribution_corrections(self.study, c.id):
                when = local_time(correction.at) if correction.at else "time not recorded"
                lines.append(f"  {when}  correction {correction.number}")
                lines += [f"    {change.label}: {change.old} -> {change.new}" for change in correction.changes]
        if c.reviews:
            lines += ["", "Reviews:"]
            lines += [f"  {local_time(r.at)} {r.state.value} by {r.by}" + (f": {r.note}" if r.note else "") for r in c.reviews]
        if c.feedback or c.replies:
            # The conversation in order: the team's feedback and the contributor's replies (never exported).
            said = [(f.at, f"{f.by}: {f.text}") for f in c.feedback]
            said += [(r.at, f"{self.code} replied: {r.text}") for r in c.replies]
            lines += ["", "Conversation with the contributor (feedback and replies):"]
            lines += [f"  {local_time(at)} {text}" for at, text in sorted(said, key=lambda item: item[0])]
        self.query_one("#contribution-body", Static).update(plain("\n".join(lines)))

    def _review(self, state: ReviewState) -> None:
        try:
            review_contributions(self.study, [self.contribution_id], state, "", getattr(self.app, "actor", "coordinator"))
        except ServiceError as exc:
            self.notify(str(exc), severity="error", title="Not reviewed")

    def action_accept(self) -> None:
        self._review(ReviewState.accepted)

    def action_flag(self) -> None:
        self._review(ReviewState.needs_attention)

    def action_review(self) -> None:
        self.app.push_screen(ReviewDialog(self.study, [self.contribution_id]))

    def action_feedback(self) -> None:
        self.app.push_screen(FeedbackDialog(self.study, self.contribution_id, self.code))
