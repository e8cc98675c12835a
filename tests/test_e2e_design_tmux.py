"""End to end in a real terminal: a study built from nothing, published, changed by proposal, version 2."""

from __future__ import annotations

import shlex

from citizen.services import open_study
from citizen.services.queries import activity
from citizen.store import DataFolder

from .support.commands import citizen_command
from .support.terminal import IN_TMUX, Terminal

pytestmark = IN_TMUX


def test_build_publish_propose_and_publish_version_two(tmp_path, run_env):
    data = tmp_path / "data"
    command = " ".join(shlex.quote(c) for c in citizen_command()) + f" --data {shlex.quote(str(data))} --as 'Amina Yusuf'"
    t = Terminal(command, dict(run_env, TERM="xterm-256color"))
    try:
        t.wait_for("No studies yet")
        t.step("n", then="A new study")
        t.keys("Tab")
        t.type("Safe Crossings")
        t.keys("Tab")
        t.type("Find the crossings that feel unsafe to us.")
        t.step("C-s", then="Shared aim: Find the crossings")
        # the form: three fields, one of them a choice
        t.step("d", then="No draft is open")
        t.step("s", then="Draft (a new protocol)")
        t.step("a", then="Add a field")
        t.type("Which crossing?")
        t.step("C-s", then="1 field,")
        t.step("a", then="Add a field")
        t.type("Who was with you?")
        t.keys("Tab")
        t.choose(4)  # type: one choice
        t.keys("Tab", "Tab", "Tab", "Tab")  # key, required, help, then the choices
        t.type("Alone")
        t.wait_for("Alone")
        t.keys("Enter")
        t.type("A child")
        t.wait_for("A child")
        t.step("C-s", then="2 fields")
        t.step("a", then="Add a field")
        t.type("Anything else?")
        t.step("C-s", then="3 fields")
        t.wait_for("( ) A child")  # the live preview
        # the consent document: text and two items
        t.step("c", then="Consent text in plain words")
        t.type("Taking part means noting the crossings you use.")
        t.step("C-s", then="Consent text saved")
        t.keys("Tab")
        t.step("a", then="Add a consent item")
        t.type("I take part.")  # the first item starts required (about taking part)
        t.step("C-s", then="required to take part")
        t.step("a", then="Add a consent item")
        t.type("You may quote my words.")
        t.step("C-s", then="you_may_quote_my_words")
        t.step("Escape", then="3 fields, 2 consent items")
        t.step("p", then="Publish version 1")
        t.step("C-s", then="No draft is open")
        # a proposal, accepted, becomes version 2
        t.step("Escape", then="Protocol version: 1")
        t.step("o", then="No proposals yet")
        t.step("p", then="Propose a change")
        t.type("Ask the time of day")
        t.keys("Tab")
        t.type("Danger depends on the hour.")
        t.step("C-s", then="open")
        t.step("a", then="Accept: Ask the time of day")
        t.type("Agreed at the community meeting.")
        t.step("C-s", then="Accepted by Amina Yusuf")
        t.step("d", then="from the proposal")
        t.step("a", then="Add a field")
        t.type("At what time?")
        t.step("C-s", then="4 fields")
        t.step("p", then="Publish version 2")
        t.wait_for("Fields added: at_what_time")
        t.type("Ask the time of day, as proposed.")
        t.step("C-s", then="No draft is open")
        t.step("Escape", then=": proposals")
        t.step("Escape", then="Protocol version: 2")
        t.step("v", then="Fields added: at_what_time")
        t.step("Escape", then="Protocol version: 2")
        t.step("a", then="steps, newest first")
        screen = t.wait_for("protocol published")
        assert "Amina Yusuf" in screen
        t.step("C-q", then="EXITED 0")
    finally:
        t.close()
    with DataFolder(data) as folder:
        study = open_study(folder, "safe-crossings")
        versions = study.repo.protocol_versions()
        assert [v.number for v in versions] == [1, 2]
        assert [f.key for f in versions[0].fields] == ["which_crossing", "who_was_with_you", "anything_else"]
        assert [c.value for c in versions[0].fields[1].choices] == ["alone", "a_child"]
        assert [(i.id, i.required) for i in versions[0].consent.items] == [
            ("i_take_part", True),
            ("you_may_quote_my_words", False),
        ]
        assert versions[1].proposal_id == study.repo.proposals()[0].id
        assert versions[1].change_summary == "Ask the time of day, as proposed."
        assert {e.actor for e in activity(study)} == {"Amina Yusuf"}
