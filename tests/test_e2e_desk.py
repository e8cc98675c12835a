"""End to end at the desk, in a real terminal: enrol someone, enter their paper form, review, feedback."""

from __future__ import annotations

import re

from .support.terminal import IN_TMUX, app_on_the_demo_study

pytestmark = IN_TMUX


def test_desk_enrolment_paper_form_review_and_feedback(demo_data_path, run_env):
    t = app_on_the_demo_study(demo_data_path, run_env)
    try:
        t.keys("p")
        t.wait_for("40 of 40 participants")
        # Enrol at the desk: yes, yes, no, no; consent witnessed by Tom Hale.
        t.keys("e")
        t.wait_for("Enrol a participant at the desk")
        t.keys("Enter", "Tab", "Enter", "Tab", "Down", "Enter", "Tab", "Down", "Enter", "Tab", "Tab")
        t.keys("Tom Hale", "C-s")
        screen = t.wait_for("41 of 41 participants")
        lines = screen.splitlines()
        header = next(i for i, line in enumerate(lines) if "Code" in line and "Enrolled" in line)
        code = re.search(r"[A-Z0-9]{2}-[A-Z0-9]{4}", lines[header + 1]).group(0)  # newest first
        assert "desk" in lines[header + 1] and "v1 current" in lines[header + 1]
        # Their paper form: find them, open the form, a wrong number first.
        t.keys("/", code)
        t.wait_for("1 of 41 participants")
        t.step("Enter", then="d Paper")  # the table has the keyboard again: the footer offers its keys
        t.keys("d")
        t.wait_for("Enter a paper form")
        t.keys("2026-05-02", "Tab")
        t.choose(1)
        t.wait_for("Canal path")
        t.keys("Tab", "forty")
        t.wait_for("forty")
        t.keys("C-s")
        t.wait_for("Please enter a whole number, like 42.")
        t.keys(*["BSpace"] * 5)
        t.keys("45", "Tab", "Tab", "Tab", "Tab")
        t.choose(2)
        t.wait_for("│ 2  ")  # the breathing rating shows the 2 chosen
        t.keys("C-s")
        t.wait_for("The paper form is saved")
        t.keys("Escape")
        t.wait_for("Review backlog")
        # Review by keyboard: the paper form is the newest; accept it, then send feedback.
        t.keys("c")
        t.wait_for(f"{code}  2   desk   received")
        t.keys("a")
        t.wait_for(f"{code}  2   desk   accepted")
        t.keys("Home", "b")
        t.wait_for(f"Feedback to {code}")
        t.keys("Thank you for bringing your walk in on paper.", "C-s")
        t.wait_for(f"Feedback sent to {code}")
        t.keys("Escape")
        t.wait_for("Review backlog")
        t.keys("C-q")
        t.wait_for("EXITED 0")
    finally:
        t.close()

    from citizen.domain.models import ConsentMethod, ContributionSource, ReviewState
    from citizen.services import open_study
    from citizen.store import DataFolder

    with DataFolder(demo_data_path) as data:
        study = open_study(data, "air-quality-walk")
        p = study.repo.participant_by("code", code)
        [event] = study.repo.consent_events(p.id)
        assert event.method is ConsentMethod.desk and event.witness == "Tom Hale"
        assert sorted(event.granted) == ["share_partners", "take_part"]
        [c] = study.repo.contributions_of(p.id)
        assert c.source is ContributionSource.desk and c.values["walk_minutes"] == 45
        assert c.values["route"] == "canal_path" and c.values["breathing"] == 2
        assert c.review_state is ReviewState.accepted
        assert [f.text for f in c.feedback] == ["Thank you for bringing your walk in on paper."]
        actions = [a.action for a in study.repo.audit()[-4:]]
        assert actions == ["participant enrolled", "contribution added", "contributions reviewed", "feedback given"]
