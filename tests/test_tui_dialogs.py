"""Every dialog opens with its first box focused and in view with its label, at 100x30 and at 80x24;
a box reached with Tab comes into view with its label."""

from __future__ import annotations

import pytest
from textual.widget import Widget
from textual.widgets import Label

from citizen.tui.app import make_app
from citizen.tui.dialogs.consent import EnrolDialog
from citizen.tui.screens.participants import ParticipantsScreen

from .support.factories import STUDY
from .support.studies import empty_study
from .support.tui import open_from_study, settle


def in_view(screen, widget: Widget) -> bool:
    """Wholly inside the dialog's body as it is scrolled now (a label scrolled away is not)."""
    body = screen.query_one(".dialog-body")
    region = widget.region
    return region.height > 0 and body.content_region.contains_region(region)


def entries_in_view(screen) -> list[str]:
    """The names of the form's boxes shown whole together with their labels."""
    out = []
    for entry in screen.entries:
        box = screen.query_one(f"#f-{entry.name}")
        labels = [w for w in box.parent.children if isinstance(w, Label)]
        if in_view(screen, box) and all(in_view(screen, label) for label in labels):
            out.append(entry.name)
    return out


async def new_study_dialog(app, pilot):
    await settle(app, pilot)
    await pilot.press("n")
    await settle(app, pilot)
    assert app.screen.id == "new-study-dialog"
    return app.screen


async def add_field_dialog(app, pilot):
    await settle(app, pilot)
    await pilot.press("d", "s", "a")
    await settle(app, pilot)
    assert app.screen.id == "field-dialog"
    return app.screen


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_the_new_study_dialog_opens_with_every_box_and_its_label_in_view(data_path, size):
    app = make_app(data_path, actor="Amina Yusuf")
    async with app.run_test(size=size) as pilot:
        dialog = await new_study_dialog(app, pilot)
        assert app.focused is dialog.query_one("#f-id")
        assert entries_in_view(dialog) == [e.name for e in dialog.entries]  # the id and its label first of all
        await pilot.press(*"safe-crossings")
        assert dialog.query_one("#f-id").value == "safe-crossings"
        await pilot.press("ctrl+s")  # no title yet: refused, the message on top, the buttons still in view
        await settle(app, pilot)
        assert "cannot be left empty" in str(dialog.query_one("#error-title").render())
        assert app.screen.region.contains_region(dialog.query_one("#save").region)
        assert app.focused is dialog.query_one("#f-title") and "title" in entries_in_view(dialog)
    app.data.close()


async def test_the_field_dialog_shows_every_box_at_100x30_and_each_with_its_label_at_80x24(data_path):
    study_id = empty_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await add_field_dialog(app, pilot)
        assert app.focused is dialog.query_one("#f-label_en")
        assert entries_in_view(dialog) == [e.name for e in dialog.entries]
        assert app.screen.region.contains_region(dialog.query_one("#save").region)
    app.data.close()
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await add_field_dialog(app, pilot)
        assert app.focused is dialog.query_one("#f-label_en")
        assert entries_in_view(dialog)[:3] == ["label_en", "type", "key"]
        save = dialog.query_one("#save")
        for entry in dialog.entries[1:]:  # Tab, as a person goes through the form
            await pilot.press("tab")
            await settle(app, pilot)
            box = dialog.query_one(f"#f-{entry.name}")
            assert app.focused is box, entry.name
            assert entry.name in entries_in_view(dialog), entry.name
            assert save.region.height == 1 and app.screen.region.contains_region(save.region)  # Save stays in view
    app.data.close()


async def test_a_desk_dialog_opens_at_its_top_with_the_first_answer_focused(demo_data_path):
    app = make_app(demo_data_path, study_id=STUDY, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_from_study(app, pilot, "p", ParticipantsScreen)
        await pilot.press("e")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, EnrolDialog)
        body = dialog.query_one(".dialog-body")
        assert body.scroll_y == 0  # the consent document is read from its first line
        first = dialog.query_one("#item-take_part")
        assert app.focused is first and in_view(dialog, first)
    app.data.close()


async def test_a_confirmation_is_centred_takes_only_its_own_keys_and_not_one_typed_before_it(data_path):
    from citizen.services import design as d
    from citizen.tui.dialogs.confirm import ConfirmDialog
    from citizen.tui.dialogs.field import FieldDialog
    from citizen.tui.screens.design import DesignScreen

    from .support.tui import type_at_once

    study_id = empty_study(data_path)
    app = make_app(data_path, study_id=study_id, actor="Amina Yusuf")
    async with app.run_test(size=(100, 30)) as pilot:
        study = app.study(study_id)
        draft = d.start_draft(study, "Amina Yusuf")
        for label in ("Age", "Route"):
            d.save_draft_field(study, draft.id, {"label": {"en": label}, "type": "text"}, "Amina Yusuf")
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, DesignScreen)

        def keys() -> list[str]:
            return [f.key for f in d.open_draft(study).fields]

        await type_at_once(pilot, "x", "y")
        question = app.screen
        assert isinstance(question, ConfirmDialog) and keys() == ["age", "route"]
        box, screen = question.query_one(".confirm").region, app.screen.region
        assert abs(box.center[0] - screen.center[0]) <= 1 and abs(box.center[1] - screen.center[1]) <= 2  # centred
        assert question.query_one(".confirm").styles.border_top[0] == "thick"
        assert "y: Remove" in str(question.query_one(".confirm .hint").render())  # its keys are written out
        await pilot.press("enter")  # Enter on the question just opened keeps things as they are
        await settle(app, pilot)
        assert isinstance(app.screen, DesignScreen) and keys() == ["age", "route"]
        await pilot.press("x")
        await settle(app, pilot)
        await pilot.press("a")  # a key meant for the screen: no answer, and it goes on to the screen
        await settle(app, pilot)
        assert isinstance(app.screen, FieldDialog) and keys() == ["age", "route"]
        await pilot.press("escape")
        for answer, left in (("n", ["age", "route"]), ("y", ["route"])):  # no keeps it; yes removes the highlighted one
            await pilot.press("x")
            await settle(app, pilot)
            await pilot.press(answer)
            await settle(app, pilot)
            assert isinstance(app.screen, DesignScreen) and keys() == left, answer
    app.data.close()
