"""Contributions and their review: a paged table that stays quick at 100,000 rows, and triage keys.

The table never holds more than one page (``PAGE`` rows). Filtering runs in a thread worker on
the compact columns of ``services.contribution_index.ContributionIndex``; paging reads only the documents of
the page shown. Moving the cursor past the last row of a page brings the next page, so the
table scrolls on as if it held every row.
"""

from __future__ import annotations

import gc
from typing import Optional

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Select, Static

from ...domain.models import ReviewState
from ...domain.plural import count
from ...services import ServiceError, review_contributions
from ...services.contribution_index import (
    AT_ONCE,
    REVIEW_STATES,
    ContributionFilter,
    ContributionIndex,
    ContributionRow,
    Selection,
    index_for,
    parse_day,
)
from ..dialogs.review import FeedbackDialog, ReviewDialog
from ..text import local_time, plain
from ..widgets.paged_table import PagedTable
from ..widgets.serving_line import app_header
from ..widgets.steady_footer import SteadyFooter
from .base import StudyScreenBase
from .contribution_detail import ContributionDetailScreen
from .participants import open_paper_form

PAGE = 100


def keep_out_of_collections() -> None:
    """The screen is drawn: keep what is loaded now (the screen itself, the index, the page) out of
    the garbage collector's full passes while it is open. Without this a full pass walks them all
    (about 0.1 s on this laptop) every few keypresses, as End loads a page; ``on_unmount`` lets them in
    again, so that the screen's own objects can be freed once it is closed."""
    gc.freeze()


class ContributionsScreen(StudyScreenBase):
    """Every contribution, newest first; filter, mark, review, give feedback, enter paper forms."""

    AUTO_FOCUS = "#contributions-table"  # the rows first: the footer shows their keys from the start
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("slash", "filter", "Filter"),
        Binding("enter", "open", "Open", show=False),
        Binding("space", "mark", "Mark", key_display="spc"),
        Binding("a", "accept", "Accept"),
        Binding("f", "flag", "Flag"),
        Binding("n", "next_waiting", "Next"),
        Binding("v", "review", "Note"),
        Binding("b", "feedback", "Feedback"),
        Binding("d", "paper_form", "Paper"),
        Binding("ctrl+r", "clear_filter", "Clear filter", show=False),  # named in the status line
    ]

    def __init__(self, study_id: str, flt: Optional[ContributionFilter] = None):
        super().__init__(study_id)
        self.index: ContributionIndex = index_for(self.study)
        self.selection = Selection(self.index.latest(PAGE) if not self.index.built else [])
        self.start = 0
        self.lines: list[ContributionRow] = []
        self.marked: set[str] = set()
        self.initial = flt or ContributionFilter()
        self.waiting = True
        self.asked = 0  # filters asked for: a worker's answer to an earlier one is not shown
        self.answering: set[int] = set()  # those a worker is answering

    def compose(self) -> ComposeResult:
        yield from app_header()
        with Horizontal(classes="filter-bar"):
            yield Select(
                [(s, s) for s in [*REVIEW_STATES, "removed", "replied"]], id="filter-state", prompt="any review", compact=True
            )
            yield Input(id="filter-participant", placeholder="participant code", compact=True)
            yield Select([], id="filter-version", prompt="any version", compact=True)
        with Horizontal(classes="filter-bar"):
            yield Input(id="filter-since", placeholder="from YYYY-MM-DD", compact=True)
            yield Input(id="filter-until", placeholder="to YYYY-MM-DD", compact=True)
            yield Input(id="filter-text", placeholder="words in the answers", compact=True)
        yield PagedTable(id="contributions-table", cursor_type="row", zebra_stripes=True)
        yield Static("Loading...", id="contributions-status", classes="hint")
        yield SteadyFooter(compact=True, show_command_palette=False)  # ctrl+p still opens it; 80 columns

    def on_mount(self) -> None:
        self.sub_title = "Contributions"
        table = self.query_one(PagedTable)
        table.add_column(" ", key="mark", width=1)
        table.add_column("Submitted", key="when", width=16)
        table.add_column("Who", key="who", width=7)
        table.add_column("v", key="v", width=2)
        table.add_column("From", key="from", width=5)
        table.add_column("Review", key="review", width=15)
        table.add_column("Fb", key="fb", width=2)
        table.add_column("Reply", key="reply", width=7)
        table.add_column("Answer", key="preview", width=60)
        versions = self.index.versions()
        self.query_one("#filter-version", Select).set_options([(f"version {v}", v) for v in versions])
        if self.initial.review_state:
            with self.prevent(Select.Changed):
                self.query_one("#filter-state", Select).value = self.initial.review_state
        table.focus()
        self.seen_rows = self.index.total()
        self.follow_changes(self._changed, tables=("contributions",))
        if self.index.built or (self.seen_rows <= AT_ONCE and self.index.build_from_kept(wait=0.3)):
            # The columns are at hand: the first page drawn is the answer, counted and ready to filter.
            self.waiting = False
            self.selection = self.index.select(self.initial)
            self.lines = self.index.page(self.selection.rows, 0, PAGE)
            self.render_page()
            self.call_after_refresh(keep_out_of_collections)
            return
        # Paint the newest rows first; the filter index is built after, in a worker.
        self.lines = self.index.page(self.selection.rows, 0, PAGE)
        self.render_page()
        self.call_after_refresh(self.run_query, self.initial)

    def on_unmount(self) -> None:
        gc.unfreeze()

    # -- querying --------------------------------------------------------------------------
    def current_filter(self) -> ContributionFilter:
        state = self.query_one("#filter-state", Select).value
        version = self.query_one("#filter-version", Select).value
        since = parse_day(self.query_one("#filter-since", Input).value)
        until = parse_day(self.query_one("#filter-until", Input).value)
        return ContributionFilter(
            review_state=None if state is Select.NULL or state == "replied" else str(state),
            replied=state == "replied",
            participant=self.query_one("#filter-participant", Input).value,
            protocol_version=None if version is Select.NULL else int(version),
            since=since,
            until=until,
            text=self.query_one("#filter-text", Input).value,
        )

    @on(Select.Changed, "#filter-state")
    @on(Select.Changed, "#filter-version")
    @on(Input.Submitted, ".filter-bar Input")
    def action_apply_filter(self) -> None:
        try:
            flt = self.current_filter()
        except ValueError as exc:
            self.query_one("#contributions-status", Static).update(plain(str(exc)))
            return
        self.run_query(flt)
        self.query_one(PagedTable).focus()  # on to the rows: triage keys work at once

    def run_query(self, flt: ContributionFilter) -> None:
        """Show a filter's rows: at once when the index is filled and the words (if any) are read
        (milliseconds up to ``AT_ONCE`` contributions), else from a worker."""
        self.asked += 1
        quick = self.index.built and len(self.index) <= AT_ONCE and (not flt.text.strip() or self.index.words_ready)
        if quick and not self.answering:  # (a worker still answering holds the index)
            selection = self.index.select(flt)
            self.show_selection(selection, self.index.page(selection.rows, 0, PAGE))
        else:
            self.answering.add(self.asked)
            self.query_in_worker(flt, self.asked)

    @work(thread=True, exclusive=True, group="contributions-query")
    def query_in_worker(self, flt: ContributionFilter, asked: int) -> None:
        first = not self.index.built
        try:
            if not self.index.built:
                self.app.call_from_thread(self.set_status, "Preparing filters...")
                self.index.build()
            selection = self.index.select(flt)
            lines = self.index.page(selection.rows, 0, PAGE)
        finally:
            self.answering.discard(asked)
        self.app.call_from_thread(self.show_selection, selection, lines, asked)
        if first:
            self.app.call_from_thread(keep_out_of_collections)

    def show_selection(self, selection: Selection, lines: list[ContributionRow], asked: Optional[int] = None) -> None:
        if asked is not None and asked != self.asked:
            return  # another filter was asked for meanwhile, and shown
        first_result = self.waiting
        self.waiting = False
        self.selection = selection
        same = first_result and self.start == 0 and [x.id for x in lines] == [x.id for x in self.lines]
        self.start = 0
        self.lines = lines
        if same:  # the page shown while the index was built is already the right one
            self.render_page(self.query_one(PagedTable).cursor_row, only_status=True)
            return
        self.render_page()
        self.query_one(PagedTable).move_cursor(row=0)

    # -- the page --------------------------------------------------------------------------
    def set_status(self, text: str) -> None:
        self.query_one("#contributions-status", Static).update(plain(text))

    def render_page(self, cursor: Optional[int] = None, only_status: bool = False) -> None:
        table = self.query_one(PagedTable)
        if not only_status:
            table.clear()
            for line in self.lines:
                table.add_row(
                    Text("*" if line.id in self.marked else " "),
                    Text(local_time(line.submitted_at)),
                    plain(line.code),
                    Text(str(line.protocol_version)),
                    Text(line.source),
                    Text(line.review_state),
                    Text(str(line.feedback) if line.feedback else ""),
                    Text("replied" if line.replied else ""),
                    plain(line.preview),
                    key=line.id,
                )
        if cursor is not None and self.lines:
            table.move_cursor(row=max(0, min(cursor, len(self.lines) - 1)))
        total = len(self.selection)
        if self.waiting and not self.index.built:
            # Not "of N" yet: the stored total still counts removed contributions, which the list never shows.
            where = f"The newest {count(len(self.lines), 'contribution')}; counting and preparing filters..."
        elif total == 0:
            where = "No contribution matches this filter." if not self.selection.filter.is_empty else "No contributions yet."
        else:
            end = self.start + len(self.lines)
            where = f"{self.start + 1:,}-{end:,} of {total:,}"
            keys = (["PgUp, Home: earlier"] if self.start > 0 else []) + (["PgDn, End: more"] if end < total else [])
            if keys:
                where += f" ({'; '.join(keys)})"
            if not self.selection.filter.is_empty:
                where += " (filtered; ctrl+r clears)"
        marked = f"    {len(self.marked)} marked" if self.marked else ""
        self.set_status(where + marked)

    def _changed(self) -> None:
        """A change to the contributions: new ones (a phone's, while serving) join the list, the
        highlight staying on the contribution it was on; otherwise the page is read again."""
        if self.index.total() <= self.seen_rows:
            self.refresh_page()
            return
        self.seen_rows = self.index.total()
        if self.index.built:
            self.requery_in_place(self.selection.filter)
        elif self.start == 0 and self.selection.filter.is_empty:  # before the index: the newest rows
            self.show_in_place(Selection(self.index.latest(PAGE)))

    @work(thread=True, exclusive=True, group="contributions-new")
    def requery_in_place(self, flt: ContributionFilter) -> None:
        selection = self.index.select(flt)
        self.app.call_from_thread(self.show_in_place, selection)

    def show_in_place(self, selection: Selection) -> None:
        if selection.filter != self.selection.filter:
            return  # another filter was asked for meanwhile: its own result follows
        table = self.query_one(PagedTable)
        cursor = table.cursor_row
        here = self.lines[cursor].id if 0 <= cursor < len(self.lines) else None
        self.selection = selection
        self.lines = self.index.page(selection.rows, self.start, PAGE)
        self.render_page(next((i for i, line in enumerate(self.lines) if line.id == here), cursor))

    def refresh_page(self) -> None:
        """Show the same page again with the stored documents as they are now."""
        cursor = self.query_one(PagedTable).cursor_row
        self.lines = self.index.page(self.selection.rows, self.start, PAGE)
        self.render_page(cursor)

    def go_to(self, start: int, cursor: int = 0) -> None:
        total = len(self.selection)
        start = max(0, min(start, max(0, total - 1)))
        start -= start % PAGE
        self.start = start
        self.lines = self.index.page(self.selection.rows, start, PAGE)
        self.render_page(cursor)

    def action_last_page(self) -> None:
        total = len(self.selection)
        if total:
            self.go_to(total - 1, cursor=(total - 1) % PAGE)

    def action_first_page(self) -> None:
        self.go_to(0)

    @on(PagedTable.Edge)
    def _edge(self, event: PagedTable.Edge) -> None:
        new = self.start + event.step * PAGE
        if 0 <= new < len(self.selection):
            self.go_to(new, cursor=0 if event.step > 0 else PAGE - 1)

    @on(PagedTable.Jump)
    def _jump(self, event: PagedTable.Jump) -> None:
        self.action_last_page() if event.last else self.action_first_page()

    @on(events.DescendantFocus, "#filter-text")
    def _to_the_words(self) -> None:
        self.prepare_words()  # while the words are typed

    @work(thread=True, exclusive=True, group="contributions-words")
    def prepare_words(self) -> None:
        self.index.prepare_words()

    def action_filter(self) -> None:
        self.query_one("#filter-state", Select).focus()

    def action_clear_filter(self) -> None:
        for wid in ("#filter-participant", "#filter-since", "#filter-until", "#filter-text"):
            self.query_one(wid, Input).value = ""
        with self.prevent(Select.Changed):
            self.query_one("#filter-state", Select).clear()
            self.query_one("#filter-version", Select).clear()
        self.query_one(PagedTable).focus()
        self.run_query(ContributionFilter())

    # -- the row under the cursor, and marks ------------------------------------------------
    def current(self) -> Optional[ContributionRow]:
        table = self.query_one(PagedTable)
        if not self.lines:
            return None
        index = table.cursor_row
        return self.lines[index] if 0 <= index < len(self.lines) else None

    def targets(self) -> list[str]:
        """The marked contributions, else the one under the cursor."""
        if self.marked:
            return sorted(self.marked)
        line = self.current()
        return [line.id] if line is not None else []

    def action_mark(self) -> None:
        line = self.current()
        if line is None:
            return
        if line.id in self.marked:
            self.marked.discard(line.id)
        elif line.removed:
            self.notify("A removed contribution cannot be reviewed.", severity="warning")
            return
        else:
            self.marked.add(line.id)
        table = self.query_one(PagedTable)
        table.update_cell(line.id, "mark", Text("*" if line.id in self.marked else " "))
        self.render_status_only()
        table.action_cursor_down()

    def render_status_only(self) -> None:
        self.render_page(self.query_one(PagedTable).cursor_row, only_status=True)

    # -- review ----------------------------------------------------------------------------
    def set_state(self, state: ReviewState) -> None:
        ids = self.targets()
        if not ids:
            return
        try:
            review_contributions(self.study, ids, state, "", getattr(self.app, "actor", "coordinator"))
        except ServiceError as exc:
            self.notify(str(exc), severity="error", title="Not reviewed")
            return
        table = self.query_one(PagedTable)
        was_marked = bool(self.marked)
        self.marked.clear()
        cursor = table.cursor_row
        self.refresh_page()
        if was_marked:
            self.notify(f"{count(len(ids), 'contribution')}: {state.value}.")
        elif cursor < table.row_count - 1:
            table.move_cursor(row=cursor + 1)
        else:
            table.action_cursor_down()  # on to the next page

    def action_accept(self) -> None:
        self.set_state(ReviewState.accepted)

    def action_flag(self) -> None:
        self.set_state(ReviewState.needs_attention)

    def action_next_waiting(self) -> None:
        """Move to the next contribution still waiting for review (received)."""
        table = self.query_one(PagedTable)
        here = self.start + (table.cursor_row if self.lines else -1)
        rows = self.selection.rows
        for pos in range(here + 1, len(rows)):
            if self.index.state_of(rows[pos]) == ReviewState.received.value:
                if pos >= self.start + len(self.lines) or pos < self.start:
                    self.go_to(pos, cursor=pos % PAGE)
                else:
                    table.move_cursor(row=pos - self.start)
                return
        self.notify("Nothing further is waiting for review here.")

    def action_review(self) -> None:
        targets = self.targets()
        if not targets:
            return

        def done(state: Optional[ReviewState]) -> None:
            if state is not None:
                self.marked.clear()
                self.refresh_page()
                self.notify(f"{len(targets)} reviewed: {state.value}.")

        self.app.push_screen(ReviewDialog(self.study, targets), done)

    def action_feedback(self) -> None:
        line = self.current()
        if line is None:
            return
        if line.removed:
            self.notify("A removed contribution cannot get feedback.", severity="warning")
            return

        def done(text: Optional[str]) -> None:
            if text is not None:
                self.notify(f"Feedback sent to {line.code}; they see it on their page.")

        self.app.push_screen(FeedbackDialog(self.study, line.id, line.code), done)

    def action_paper_form(self) -> None:
        open_paper_form(self, self.study, self.query_one("#filter-participant", Input).value.strip())

    def action_open(self) -> None:
        line = self.current()
        if line is not None:
            self.app.push_screen(ContributionDetailScreen(self.study_id, line.id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
