"""One study's overview: the shared aim, the protocol in force and the study's figures."""

from __future__ import annotations

from pydantic import ValidationError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Sparkline, Static

from ...services.common import ServiceError
from ...services.contribution_index import prepare_index, settle_memory
from ...services.queries import StudyFigures, damage_message, figures, role_notices, summarise
from ...store import StoreError
from ..dialogs.protocol_file import share_protocol_dialog
from ..dialogs.review import UpdateDialog
from ..text import local_time, plain
from ..widgets.serving_line import app_header
from .base import StudyScreenBase
from .contributions import ContributionsScreen
from .participants import ParticipantsScreen

# What a study that cannot be read raises: a damaged file, a record of the wrong shape, a refusal.
CANNOT_READ = (StoreError, ServiceError, ValidationError)


def weekly(counter: dict[str, int]) -> list[float]:
    """Counts per ISO week in order, with empty weeks kept as zero."""
    if not counter:
        return [0.0]
    weeks = sorted(counter)
    return [float(counter.get(w, 0)) for w in weeks]


class StudyOverviewScreen(StudyScreenBase):
    """The study's home: later screens (participants, contributions, enrolment ...) open from here."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to studies"),
        Binding("r", "refresh", "Refresh"),
        Binding("e", "open('details')", "Details & team"),
        Binding("d", "open('design')", "Design"),
        Binding("v", "open('versions')", "Versions"),
        Binding("o", "open('proposals')", "Proposals"),
        Binding("a", "open('activity')", "Activity"),
        Binding("x", "export_data", "Export data"),
        Binding("f", "export_protocol", "Protocol file"),
        Binding("b", "bundles", "Bundles"),
        Binding("s", "sync", "Sync"),
        Binding("p", "participants", "Participants"),
        Binding("c", "contributions", "Contributions"),
        Binding("u", "post_update", "Post update"),
        Binding("j", "enrolment", "Enrolment"),
    ]

    def __init__(self, study_id: str):
        super().__init__(study_id)

    def compose(self) -> ComposeResult:
        yield from app_header()
        with VerticalScroll():
            yield Static("", id="study-title", classes="title")
            yield Static("", id="study-aim", classes="aim")
            yield Static("", id="overview-facts")
            yield Static("Contributions per week", id="contributions-spark-label", classes="hint")
            yield Sparkline([0.0], id="contributions-spark")
            yield Static("Participants enrolled per week", id="participants-spark-label", classes="hint")
            yield Sparkline([0.0], id="participants-spark")
            yield Static("Counting...", id="figures-status", classes="hint")
            yield DataTable(id="figures-table", cursor_type="none", show_header=False)
        yield Footer()

    def action_bundles(self) -> None:
        from .bundles import BundlesScreen  # lazy: loaded when first opened (the app's start-up time)

        self.app.push_screen(BundlesScreen(self.study_id))

    def action_sync(self) -> None:
        from .sync import SyncScreen  # lazy: loaded when first opened (the app's start-up time)

        self.app.push_screen(SyncScreen(self.study_id))

    def on_mount(self) -> None:
        table = self.query_one("#figures-table", DataTable)
        # Fixed widths: a width grown from the rows is worked out lazily, and a busy terminal could
        # paint the figures before it was, cutting every label to the header's four letters.
        table.add_column("What", width=37)
        table.add_column("How many", width=9)
        table.can_focus = False  # a read-only figure list; focus would scroll the aim out of sight
        try:
            self.follow_changes(self.action_refresh)
            notices = role_notices(self.study)
        except CANNOT_READ as exc:
            self.cannot_show(exc)
            return
        for line in notices:  # a study made before consent items had roles: say how it is read
            self.notify(plain(line), title="Consent item roles", severity="warning", timeout=20)
        self.action_refresh()

    def action_open(self, name: str) -> None:
        """The study's details and team, its design, versions, proposals or activity log."""
        # lazy: loaded when first opened (the app's start-up time)
        from .activity import ActivityScreen
        from .design import DesignScreen
        from .proposals import ProposalsScreen
        from .study_details import StudyDetailsScreen
        from .versions import VersionsScreen

        screens = {
            "details": StudyDetailsScreen,
            "design": DesignScreen,
            "versions": VersionsScreen,
            "proposals": ProposalsScreen,
            "activity": ActivityScreen,
        }
        self.app.push_screen(screens[name](self.study_id))

    def action_export_data(self) -> None:
        from .export import ExportScreen  # lazy: loaded when first opened (the app's start-up time)

        self.app.push_screen(ExportScreen(self.study_id))

    def action_export_protocol(self) -> None:
        self.app.push_screen(
            share_protocol_dialog(self.study), lambda path: self.notify(f"Protocol written to {path}.") if path else None
        )

    def cannot_show(self, exc: Exception) -> None:
        """A damaged file met while the study is open: say so plainly and go back to the studies."""
        self.app.notify(
            plain(damage_message(exc, self.app.data.studies_folder / self.study_id)),
            title="This study cannot be shown",
            severity="error",
            timeout=20,
        )
        if self.is_attached and self in self.app.screen_stack:
            self.dismiss()

    def action_refresh(self) -> None:
        try:
            self._show_study()
        except CANNOT_READ as exc:
            self.cannot_show(exc)

    def _show_study(self) -> None:
        summary = summarise(self.study.repo)
        record = self.study.repo.study()
        self.sub_title = record.title
        self.query_one("#study-title", Static).update(plain(record.title))
        self.query_one("#study-aim", Static).update(plain(f"Shared aim: {record.shared_aim}"))
        facts = (
            f"Status: {record.status.value}    Protocol version: {summary.protocol_version or '-'}    "
            f"Consent version: {summary.consent_version or '-'}\n"
            f"Participants: {summary.participants}    Contributions: {summary.contributions}    "
            f"Last activity: {local_time(summary.last_activity)}\n"
            f"Team: " + ", ".join(f"{m.name} ({m.role.value})" for m in record.team)
        )
        self.query_one("#overview-facts", Static).update(plain(facts))
        self.count_figures()

    @work(thread=True, exclusive=True, group="figures")
    def count_figures(self) -> None:
        try:
            fig = figures(self.study)
        except CANNOT_READ as exc:
            self.app.call_from_thread(self.cannot_show, exc)
            return
        settle_memory()  # every contribution is loaded now: keep them out of full collections
        self.app.call_from_thread(self.show_figures, fig)
        prepare_index(self.study)  # then the contributions screen opens counted and ready to filter

    def show_figures(self, fig: StudyFigures) -> None:
        table = self.query_one("#figures-table", DataTable)
        table.clear()
        rows = [
            ("Participants taking part", fig.active),
            ("Participants who withdrew", fig.withdrawn),
            ("Participants needing re-consent", fig.needs_reconsent),
            ("Contributions", fig.contributions),
            ("Waiting for review", fig.by_review.get("received", 0)),
            ("Needing attention", fig.by_review.get("needs attention", 0)),
            ("Accepted", fig.by_review.get("accepted", 0)),
            ("Rejected", fig.by_review.get("rejected", 0)),
            ("Removed at the contributor's request", fig.removed),
            ("Open proposals", fig.open_proposals),
            ("Updates shared with participants", fig.updates),
        ]
        for what, count in rows:
            table.add_row(what, str(count))
        self._chart("contributions-spark", "Contributions per week", fig.by_week)
        self._chart("participants-spark", "Participants enrolled per week", fig.enrolled_by_week)
        self.query_one("#figures-status", Static).update(
            f"Review backlog: {fig.by_review.get('received', 0)} waiting, "
            f"{fig.by_review.get('needs attention', 0)} needing attention."
        )

    def _chart(self, name: str, title: str, counter: dict[str, int]) -> None:
        """A chart of the weeks, or "none yet" (a chart of nothing but zeros would draw solid blocks)."""
        data = weekly(counter)
        spark = self.query_one(f"#{name}", Sparkline)
        spark.data = data
        spark.display = any(data)
        self.query_one(f"#{name}-label", Static).update(title if any(data) else f"{title}: none yet")

    def action_participants(self) -> None:
        self.app.push_screen(ParticipantsScreen(self.study_id))

    def action_contributions(self) -> None:
        self.app.push_screen(ContributionsScreen(self.study_id))

    def action_enrolment(self) -> None:
        from .enrolment import EnrolmentScreen  # lazy: loaded when first opened (the app's start-up time)

        self.app.push_screen(EnrolmentScreen(self.study_id))

    def action_post_update(self) -> None:
        def done(title) -> None:
            if title is not None:
                self.notify(f"Update posted: {title}. Every participant sees it on their page.")

        self.app.push_screen(UpdateDialog(self.study), done)
