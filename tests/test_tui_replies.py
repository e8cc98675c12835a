"""Replies in the terminal app: a "replied" marker and filter in the review queue, the conversation on the contribution."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from textual.widgets import DataTable, Select, TextArea

from citizen.domain.models import ConsentMethod, ContributionSource
from citizen.services import add_contribution, enrol_participant, give_feedback, open_study, reply_to_feedback
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.dialogs.review import FeedbackDialog
from citizen.tui.screens.activity import ActivityScreen
from citizen.tui.screens.contribution_detail import ContributionDetailScreen
from citizen.tui.screens.contributions import ContributionsScreen
from citizen.tui.screens.enrolment import arrivals_in
from citizen.tui.text import local_time

from .support.factories import STUDY, WALK, YES_ALL
from .support.tui import cells, open_from_study, settle, text_of

QUESTION = "Could you say which crossing?"
ANSWER = "The bus station crossing, at 8."


def a_conversation(data_path):
    """Two walks with feedback; the contributor replied to the feedback on one of them."""
    now = datetime.now(timezone.utc)
    with DataFolder(data_path) as data:
        study = open_study(data, STUDY)
        p = enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer", at=now - timedelta(hours=3))
        answered = add_contribution(study, p.id, WALK, ContributionSource.phone, p.code, at=now - timedelta(hours=1))
        quiet = add_contribution(study, p.id, WALK, ContributionSource.phone, p.code, at=now - timedelta(hours=2))
        asked = give_feedback(study, answered.id, QUESTION, "Amina Yusuf").feedback[-1]
        give_feedback(study, quiet.id, "Thank you!", "Amina Yusuf")
        reply_to_feedback(study, p.id, answered.id, asked.at, ANSWER, p.code)
        arrival = arrivals_in([("audit", 0, study.store.table("audit").get(study.store.table("audit").count_rows()))])
    return p.code, answered.id, quiet.id, arrival


async def test_replies_are_marked_and_filtered_in_the_review_queue(demo_data_path):
    code, answered, quiet, arrival = a_conversation(demo_data_path)
    assert [(who, what) for _, who, what in arrival] == [(code, "replied to feedback")]  # the code on the arrival
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        table = screen.query_one("#contributions-table", DataTable)
        rows = {str(key.value): cells(table)[i] for i, key in enumerate(table.rows)}
        assert rows[answered][7] == "replied" and rows[quiet][7] == ""
        assert sum(1 for r in rows.values() if r[7] == "replied") == 1  # nobody else in the demo replied
        await pilot.press("slash", "enter", "end", "enter")  # the review filter: its last choice, "replied"
        await settle(app, pilot)
        assert screen.query_one("#filter-state", Select).value == "replied"
        assert [str(k.value) for k in table.rows] == [answered] and "filtered" in text_of(screen, "#contributions-status")
        # The team answers: the contributor no longer has the last word, and the marker goes.
        table.focus()
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, FeedbackDialog) and app.screen.query_one("#feedback", TextArea).has_focus
        await pilot.press(*"Thanks, noted.", "ctrl+s")
        await settle(app, pilot)
        assert cells(table)[0][7] == ""
        assert not app.study(STUDY).repo.contribution(answered).replied
    app.data.close()


async def test_the_contribution_screen_shows_the_conversation_in_order(demo_data_path):
    code, answered, _, _ = a_conversation(demo_data_path)
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        screen.query_one("#filter-state", Select).value = "replied"
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContributionDetailScreen) and app.screen.contribution_id == answered
        c = app.study(STUDY).repo.contribution(answered)
        body = text_of(app.screen, "#contribution-body")
        conversation = body[body.index("Conversation with the contributor") :].splitlines()
        assert conversation[1:3] == [
            f"  {local_time(c.feedback[0].at)} Amina Yusuf: {QUESTION}",
            f"  {local_time(c.replies[0].at)} {code} replied: {ANSWER}",
        ]
        await pilot.press("b")
        await pilot.pause()
        await pilot.press(*"Thanks, noted.", "ctrl+s")
        await settle(app, pilot)
        body = text_of(app.screen, "#contribution-body")
        assert body.index(QUESTION) < body.index(ANSWER) < body.index("Thanks, noted.")
    app.data.close()


async def test_the_activity_log_names_who_replied_and_never_what_they_wrote(demo_data_path):
    code, answered, _, _ = a_conversation(demo_data_path)
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_from_study(app, pilot, "a", ActivityScreen)
        when, who, what, about, details = cells(screen.query_one("#activity-table", DataTable))[0]  # newest first
        assert (who, what, about) == (code, "feedback replied", answered) and f"participant: {code}" in details
        assert "bus station" not in " ".join(" ".join(row) for row in cells(screen.query_one("#activity-table", DataTable)))
    app.data.close()
