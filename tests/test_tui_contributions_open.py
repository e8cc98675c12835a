"""Opening the contributions screen: when the columns kept beside the segments are current, the first
page drawn is already the answer (counted, newest first, ready to filter), with no interim page and
no worker; when they must be made again it shows the newest rows first and the count after. And its
footer is rebuilt only when the keys it shows change, always showing the keys that work."""

from __future__ import annotations

import gc
import threading
import weakref

from textual.widgets import DataTable, Input, Select
from textual.widgets._footer import FooterKey

from citizen.services import open_study
from citizen.services.contribution_index import ContributionFilter, ContributionIndex
from citizen.services.demo import create_demo
from citizen.store import DataFolder
from citizen.tui.app import make_app
from citizen.tui.screens.contributions import ContributionsScreen
from citizen.tui.widgets.steady_footer import SteadyFooter

from .support.tui import SIZE, cells, open_from_study, settle, text_of


def made(data_path) -> tuple[str, int]:
    with DataFolder(data_path) as data:
        study = create_demo(data, participants=20, contributions=300, seed=3)
        kept = sum(1 for d in study.repo.contribution_docs() if not d.get("removed_at"))
        return study.id, kept


async def test_the_first_page_drawn_is_counted_when_the_kept_columns_are_current(data_path):
    study_id, kept = made(data_path)
    app = make_app(data_path, study_id=study_id)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("c")  # no waiting for workers: what is drawn first
        screen = app.screen
        assert isinstance(screen, ContributionsScreen)
        assert text_of(screen, "#contributions-status").startswith(f"1-100 of {kept:,}")
        assert not [w for w in app.workers if w.group == "contributions-query"]
        table = screen.query_one("#contributions-table", DataTable)
        times = [row[1] for row in cells(table)]
        assert table.row_count == 100 and times == sorted(times, reverse=True)
        screen.query_one("#filter-state", Select).value = "accepted"  # ready to filter
        await settle(app, pilot)
        assert {row[5] for row in cells(table)} == {"accepted"}
    app.data.close()


def test_the_kept_columns_fill_the_index_at_once_only_when_every_segment_has_them(data_path):
    study_id, kept = made(data_path)
    with DataFolder(data_path) as data:
        index = ContributionIndex(open_study(data, study_id))
        assert index.build_from_kept() and index.built and len(index.select(ContributionFilter())) == kept
    for kept_file in (data_path / "studies" / study_id / "contributions").glob("columns*.cache"):
        kept_file.unlink()
    with DataFolder(data_path) as data:
        index = ContributionIndex(open_study(data, study_id))
        assert not index.build_from_kept() and not index.built and len(index) == 0  # nothing half-filled
        assert len(index.build().select(ContributionFilter())) == kept


async def test_columns_not_at_hand_show_the_newest_rows_first_then_the_count(data_path, monkeypatch):
    study_id, kept = made(data_path)
    filling = threading.Event()
    build = ContributionIndex.build
    monkeypatch.setattr(ContributionIndex, "build_from_kept", lambda index, wait=-1: False)  # as if made again
    monkeypatch.setattr(ContributionIndex, "build", lambda index: filling.wait(30) and build(index))
    app = make_app(data_path, study_id=study_id)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, ContributionsScreen)
        assert "reparing filters" in text_of(screen, "#contributions-status")  # not yet counted
        assert screen.query_one("#contributions-table", DataTable).row_count == 100
        filling.set()
        await settle(app, pilot)
        assert text_of(screen, "#contributions-status").startswith(f"1-100 of {kept:,}")
    app.data.close()


async def test_the_footer_shows_the_keys_that_work_without_being_rebuilt_as_the_focus_moves(data_path, monkeypatch):
    study_id, _ = made(data_path)
    built: list[object] = []
    compose = SteadyFooter.compose

    def counting(self):
        made = [*compose(self)]
        if any(isinstance(widget, FooterKey) for widget in made):
            built.append(self.screen)
        return iter(made)

    monkeypatch.setattr(SteadyFooter, "compose", counting)
    app = make_app(data_path, study_id=study_id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        footer = screen.query_one(SteadyFooter)

        def shown() -> list[str]:
            return [str(key.description) for key in footer.query(FooterKey) if key.display]

        def working() -> list[str]:
            return [b.description for _, b, _, _ in screen.active_bindings.values() if b.show]

        assert "Mark" in shown() and shown() == working()
        assert len(built) == 1  # once, with the screen, showing the rows' keys
        await pilot.press("slash")  # to the review-state list: space opens it, so Mark is not offered
        await settle(app, pilot)
        assert isinstance(app.focused, Select) and "Mark" not in shown() and shown() == working()
        screen.query_one("#filter-since", Input).focus()
        await settle(app, pilot)
        assert shown() == working()
        await pilot.press("tab")  # to the next date box
        await settle(app, pilot)
        assert app.focused is screen.query_one("#filter-until", Input) and shown() == working()
        screen.query_one("#contributions-table", DataTable).focus()  # back at the rows: Mark again
        await settle(app, pilot)
        assert "Mark" in shown() and shown() == working()
        assert len(built) == 1  # some of the same keys each time: shown by hiding the others, never rebuilt
    app.data.close()


async def test_filters_and_prepared_word_searches_are_drawn_without_a_worker(data_path):
    study_id, _ = made(data_path)
    app = make_app(data_path, study_id=study_id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        table = screen.query_one("#contributions-table", DataTable)
        screen.query_one("#filter-state", Select).value = "accepted"
        await pilot.pause()  # no waiting for workers
        assert {row[5] for row in cells(table)} == {"accepted"} and "(filtered" in text_of(screen, "#contributions-status")
        assert not [w for w in app.workers if w.group == "contributions-query"]
        await pilot.press("ctrl+r")
        words = screen.query_one("#filter-text", Input)
        words.focus()  # going to the words box reads the kept words meanwhile
        await settle(app, pilot)
        assert screen.index.words_ready
        await pilot.press(*"road", "enter")
        assert not [w for w in app.workers if w.group == "contributions-query"]
        study = app.study(study_id)
        expected = ContributionIndex(study).build().select(ContributionFilter(text="road"))
        assert f"of {len(expected):,} (" in text_of(screen, "#contributions-status")
    app.data.close()


async def test_an_earlier_filter_answered_late_does_not_replace_a_later_one(data_path, monkeypatch):
    study_id, _ = made(data_path)
    held = threading.Event()
    page = ContributionIndex.page
    first: list[bool] = []

    def paging(index, *args):  # the first answer from a worker waits, after its rows are found
        if threading.current_thread() is not threading.main_thread() and not first:
            first.append(True)
            held.wait(30)
        return page(index, *args)

    monkeypatch.setattr(ContributionIndex, "prepare_words", lambda index: None)  # words left unread: a worker
    monkeypatch.setattr(ContributionIndex, "page", paging)
    app = make_app(data_path, study_id=study_id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        table = screen.query_one("#contributions-table", DataTable)
        words = screen.query_one("#filter-text", Input)
        words.focus()
        await pilot.press(*"road", "enter")  # answered in a worker, held back
        words.value = ""
        screen.query_one("#filter-state", Select).value = "accepted"  # then another filter, answered first
        while not table.row_count or {row[5] for row in cells(table)} != {"accepted"}:
            await pilot.pause(0.05)
        held.set()
        await settle(app, pilot)
        accepted = len(ContributionIndex(app.study(study_id)).build().select(ContributionFilter(review_state="accepted")))
        assert {row[5] for row in cells(table)} == {"accepted"}
        assert text_of(screen, "#contributions-status").startswith(f"1-100 of {accepted:,} ")  # not the words' answer
    app.data.close()


async def test_the_screen_closed_can_be_freed(data_path):
    """Kept out of the collector's full passes while it is open, the screen is let back in when closed."""
    study_id, _ = made(data_path)
    app = make_app(data_path, study_id=study_id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_study(app, pilot, "c", ContributionsScreen)
        await settle(app, pilot)
        assert gc.get_freeze_count() > 0
        closed = weakref.ref(screen)
        del screen
        await pilot.press("escape")
        await settle(app, pilot)
        gc.collect()
        assert closed() is None
    app.data.close()
