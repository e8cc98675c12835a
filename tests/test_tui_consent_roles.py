"""The consent editor gives each item a role, shown in the items table and carried in the protocol.

Issue 13, finding 1: the editor made ids from the words, and the rules read fixed ids; now the
rules read the role a person chooses here. Driven with the Pilot at 80x24.
"""

from __future__ import annotations

import json

from citizen.store import DataFolder


async def test_the_consent_editor_gives_each_item_a_role_shown_in_the_table_and_the_protocol(data_path, tmp_path):
    from textual.widgets import DataTable, Static

    from citizen.services import design as d
    from citizen.services import export_protocol
    from citizen.tui.app import make_app
    from citizen.tui.screens.consent import ConsentEditorScreen

    from .support.tui import SIZE, cells, fill, shown

    with DataFolder(data_path) as data:
        study = d.new_study(data, "Safe Crossings", "Find the crossings that feel unsafe to us.", "Amina Yusuf")
        draft = d.start_draft(study, "Amina Yusuf")
        d.save_draft_field(study, draft.id, {"label": {"en": "What did you see?"}, "type": "long_text"}, "Amina Yusuf")
        d.save_consent_text(study, draft.id, "Taking part means noting crossings you use.", "Amina Yusuf")
        study_id = study.id
    app = make_app(data_path, study_id=study_id, actor="Li Wei")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d", "c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConsentEditorScreen)
        screen.query_one("#items-table", DataTable).focus()
        await pilot.press("a")  # the first item is about taking part unless the person says otherwise
        await pilot.pause()
        await fill(pilot, text="I take part.")
        assert "free-text answers will be exported" in shown(screen, "#consent-meaning")
        await pilot.press("a")
        await pilot.pause()
        await fill(pilot, text="You may print my words in the newsletter.", role="quote_words")
        assert [r[2] for r in cells(screen.query_one("#items-table", DataTable))] == ["taking part", "quoting"]
        meaning = shown(screen, "#consent-meaning")
        assert "only for participants who said yes to 'you_may_print_my_words_in_the_newsletter'" in meaning
        assert "no contacts are ever exported" in meaning
        await pilot.press("a")  # a second quoting item is refused beside the role; nothing is stored
        await pilot.pause()
        await fill(pilot, text="Quote me on the radio too.", role="quote_words")
        assert "already has the role" in shown(app.screen, "#error-role")
        await pilot.press("escape")
        await pilot.pause()
        assert len(d.open_draft(app.study(study_id)).consent_items) == 2
        await pilot.press("escape", "p")
        await pilot.pause()
        intro = " ".join(str(s.render()) for s in app.screen.query(".hint").results(Static))
        assert "no contacts are ever exported" in intro and "free-text answers will be exported" not in intro
        await fill(pilot, approved_by="Community panel")
        consent = app.study(study_id).repo.current_protocol().consent
        assert [(i.role.value, i.required) for i in consent.items] == [("take_part", True), ("quote_words", False)]
        export_protocol(app.study(study_id), tmp_path / "crossings.json")
    app.data.close()
    saved = json.loads((tmp_path / "crossings.json").read_text(encoding="utf-8"))["protocol"]["consent"]["items"]
    assert [i["role"] for i in saved] == ["take_part", "quote_words"]


async def test_adding_an_old_protocol_file_in_the_app_says_which_roles_its_items_were_given(data_path, demo_file, tmp_path):
    from citizen.tui.app import make_app
    from citizen.tui.screens.overview import StudyOverviewScreen

    from .support.tui import SIZE, fill

    doc = json.loads(demo_file.read_text(encoding="utf-8"))
    for item in doc["protocol"]["consent"]["items"]:
        item.pop("role", None)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    app = make_app(data_path, actor="Li Wei")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        await fill(pilot, path=str(old))  # the file is added and the study opens
        assert isinstance(app.screen, StudyOverviewScreen)
        [note] = [n for n in app._notifications if n.title == "Consent item roles"]
        assert "'take_part' is taking part" in note.message and "'contact_later' is contacting them later" in note.message
        consent = app.study("air-quality-walk").repo.current_protocol().consent
        assert [i.role.value for i in consent.items] == ["take_part", "share_partners", "quote_words", "contact_later"]
    app.data.close()
    with DataFolder(data_path) as data:  # stored with its roles: opening it again says nothing more
        from citizen.services import open_study
        from citizen.services.queries import role_notices

        assert role_notices(open_study(data, "air-quality-walk")) == []
