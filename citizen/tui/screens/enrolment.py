"""Enrolment: the study's invites, serving the phone pages, the QR code to scan, today's arrivals live.

Serving starts and stops here, but it is the app's (tui/serving.py): leaving this screen keeps the
phone pages served, and the line under every screen's title says so, until `s` here stops them or
the app quits (which asks first).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Label, Static

from ... import qr
from ...domain.models import Invite, StudyStatus
from ...services import Refused, ServiceError, close_invite
from ...services.arrivals import Arrival, arrivals_in, arrivals_since, start_of_today
from ...services.invite_links import invite_token
from ...services.invites import InviteRow, create_invite_as_typed, invite_rows
from ...services.studies import set_study_status
from ...store import StoreError
from ...web.address import base_url, join_link, local_address
from ..acting import as_actor
from ..dialogs.confirm import ConfirmDialog
from ..dialogs.form import Entry, FormDialog
from ..text import local_time, plain
from ..widgets.row_table import RowTable
from ..widgets.serving_line import app_header
from .base import StudyPage

QR_STYLE = "#ffffff on #000000"  # fixed: light modules white, dark ones black, whatever the theme
SHOWN_ARRIVALS = 200  # the newest of the day; the activity log keeps them all


class EnrolmentScreen(StudyPage):
    """Invites, the server, the QR of the highlighted invite and what arrives while it runs."""

    AUTO_FOCUS = "#invites-table"  # before the first key: Shift+Tab from it reaches Port, then Host
    BINDINGS = [
        Binding("escape", "leave", "Back"),
        Binding("s", "serve", "Serve/stop"),
        Binding("n", "new_invite", "New invite"),
        Binding("x", "close_invite", "Close invite"),
        Binding("w", "save_poster", "Poster"),
    ]

    class Arrived(Message):
        """Changes committed by any thread (the phone pages' workers among them)."""

        def __init__(self, arrivals: list[Arrival], invites_changed: bool):
            super().__init__()
            self.arrivals = arrivals
            self.invites_changed = invites_changed

    def __init__(self, study_id: str):
        super().__init__(study_id)
        self.rows: list[InviteRow] = []
        self.arrivals: list[Arrival] = []  # today's, oldest first
        self.shown_link = ""

    def compose(self) -> ComposeResult:
        yield from app_header()
        with Horizontal(id="enrol-body"):
            with VerticalScroll(id="enrol-side"):
                yield Static("Serve the phone pages", classes="title")
                with Horizontal(id="serve-row"):
                    yield Label("Host")
                    # The address served on last in this session, else this laptop's on its network.
                    host, port = self.app.served_on or (local_address(), "8080")
                    yield Input(host, id="serve-host", compact=True)
                    yield Label("Port")
                    yield Input(port, id="serve-port", compact=True, restrict=r"[0-9]*", max_length=5)
                yield Static("", id="serve-status")
                yield Static("Invites (n new, x close)", classes="title")
                yield RowTable(id="invites-table", zebra_stripes=True)
                yield Static("Arrivals today, newest first", classes="title")
                yield DataTable(id="arrivals-table", cursor_type="none", show_cursor=False)
            with VerticalScroll(id="enrol-qr"):
                yield Static("", id="qr-code")
                yield Static("", id="qr-link")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Enrolment: {self.study_id}"
        self.query_one("#invites-table", DataTable).add_columns("Invite", "Used", "Expires", "State")
        self.query_one("#arrivals-table", DataTable).add_columns("When", "Who", "What")
        self.query_one("#enrol-qr").can_focus = False
        self.study.on_change(self._changed)
        self.show_arrivals(arrivals_since(self.study, start_of_today()))
        super().on_mount()
        self.query_one("#invites-table", DataTable).focus()

    def on_unmount(self) -> None:
        if self.study_id in self.app._studies:
            self.study.remove_listener(self._changed)

    @property
    def server(self) -> Any:
        """The app's enrolment server when it serves this study (else None)."""
        serving = self.app.serving
        return serving.server if serving.serves(self.study_id) else None

    # -- live changes ------------------------------------------------------------------------------
    def _changed(self, ops: list[Any]) -> None:
        # Runs on whichever thread committed; post_message is safe from any of them and never waits.
        arrivals = arrivals_in(ops)
        invites_changed = any(table == "invites" for table, _row, _doc in ops)
        if arrivals or invites_changed:
            self.post_message(self.Arrived(arrivals, invites_changed))

    def on_enrolment_screen_arrived(self, message: Arrived) -> None:
        self.show_arrivals(message.arrivals)
        if message.invites_changed:
            self.refresh_view()

    def show_arrivals(self, arrivals: list[Arrival]) -> None:
        """Today's arrivals, newest first (in sight at 80x24 however many came before)."""
        if not arrivals:
            return
        self.arrivals = (self.arrivals + arrivals)[-SHOWN_ARRIVALS:]
        table = self.query_one("#arrivals-table", DataTable)
        table.clear()
        for at, who, what in reversed(self.arrivals):
            try:
                when = local_time(datetime.fromisoformat(at))[-5:]
            except ValueError:
                when = at[:16]
            table.add_row(when, plain(who), plain(what))

    # -- invites -----------------------------------------------------------------------------------
    def refresh_view(self) -> None:
        table = self.query_one("#invites-table", DataTable)
        chosen = self.highlighted()
        self.rows = invite_rows(self.study)
        table.clear()
        for row in self.rows:
            expires = local_time(row.invite.expires_at) if row.invite.expires_at else "never"
            table.add_row(plain(row.label), row.uses, expires, row.state_word, key=row.invite.id)
        if chosen is not None:
            for index, row in enumerate(self.rows):
                if row.invite.id == chosen.id:
                    table.move_cursor(row=index)
        self.show_status()
        self.show_code()

    def highlighted(self) -> Optional[Invite]:
        table = self.query_one("#invites-table", DataTable)
        index = self.cursor_row(table)
        if index is None or index >= len(self.rows):
            return None
        return self.rows[index].invite

    @on(DataTable.RowHighlighted, "#invites-table")
    def _row_moved(self) -> None:
        self.show_code()

    def action_new_invite(self) -> None:
        def ask(actor: str) -> None:
            def submit(values: dict[str, Any]) -> Invite:
                return create_invite_as_typed(self.study, values["label"], actor, values["limit"], values["expires"])

            self.app.push_screen(
                FormDialog(
                    "New invite link",
                    [
                        Entry("label", "Label (where the QR code will be)", placeholder="library poster"),
                        Entry("limit", "Limit: at most this many people (empty: no limit)", placeholder="e.g. 50"),
                        Entry("expires", "Last day (year-month-day; empty: never expires)", placeholder="2026-12-31"),
                    ],
                    submit,
                    save_label="Create invite",
                    dialog_id="invite-dialog",
                ),
                self._created,
            )

        self.with_actor(ask)

    def _created(self, invite: Any) -> None:
        if isinstance(invite, Invite):
            self.refresh_view()
            table = self.query_one("#invites-table", DataTable)
            for index, row in enumerate(self.rows):
                if row.invite.id == invite.id:
                    table.move_cursor(row=index)
            self.notify(f"Invite '{invite.label}' created; its QR code is shown.")

    def action_close_invite(self) -> None:
        invite = self.highlighted()
        if invite is None or invite.closed:
            self.notify("Highlight an open invite first.", severity="warning")
            return

        def confirmed(yes: Optional[bool]) -> None:
            if yes:
                self.act(
                    lambda actor: close_invite(self.study, invite.id, actor),
                    f"Invite '{invite.label}' closed: its link enrols no one now.",
                )

        self.app.push_screen(
            ConfirmDialog(
                f"Close the invite '{invite.label}'? Its link and QR code will stop enrolling people.", yes="Close invite"
            ),
            confirmed,
        )

    # -- the code ---------------------------------------------------------------------------------
    def address_base(self) -> str:
        if self.server is not None:
            return self.server.base_url
        host = self.query_one("#serve-host", Input).value.strip() or local_address()
        port = self.query_one("#serve-port", Input).value.strip()
        return base_url(host, int(port) if port.isdigit() and int(port) else 8080)

    def show_code(self) -> None:
        invite = self.highlighted()
        code = self.query_one("#qr-code", Static)
        caption = self.query_one("#qr-link", Static)
        row = next((r for r in self.rows if invite is not None and r.invite.id == invite.id), None)
        if row is None or not row.is_open:
            self.shown_link = ""
            code.update(
                plain(
                    "No open invite highlighted.\nPress n to create one."
                    if row is None
                    else f"The invite '{row.label}' is {row.state_word}:\nit has no QR code."
                )
            )
            caption.update("")
            return
        try:
            token = invite_token(self.study, row.invite)
        except Refused as exc:  # made on another laptop (or the key file is unusable): say so, offer a new one
            self.shown_link = ""
            code.update(plain(str(exc)))
            caption.update("")
            return
        link = join_link(self.address_base(), token)
        self.shown_link = link
        code.update(Text(qr.terminal_text(link), style=QR_STYLE, no_wrap=True, overflow="crop"))
        waiting = "" if self.server is not None else "\n(not serving yet: press s)"
        caption.update(plain(f"{row.label}: {link}{waiting}"))

    def action_save_poster(self) -> None:
        invite = self.highlighted()
        if not self.shown_link or invite is None:
            self.notify("Highlight an open invite first.", severity="warning")
            return
        link, record = self.shown_link, self.study.repo.study()
        safe = "".join(ch if ch.isalnum() else "-" for ch in invite.label.lower()).strip("-") or "invite"
        suggested = str(Path("exports") / f"{self.study_id}-{safe}.png")

        def submit(values: dict[str, Any]) -> Path:
            try:
                return qr.save_poster(Path(values["path"].strip() or suggested), link, record.title, record.shared_aim)
            except qr.QrError as exc:
                raise Refused(str(exc), {"path": str(exc)}) from None

        self.app.push_screen(
            FormDialog(
                "Save a poster of this invite",
                [
                    Entry("path", "File (.png or .svg): the code, the study's title, shared aim and link", value=suggested),
                ],
                submit,
                save_label="Save poster",
                intro=f"Link: {link}",
                dialog_id="poster-dialog",
            ),
            lambda path: self.notify(f"Poster saved to {path}.") if isinstance(path, Path) else None,
        )

    # -- serving ----------------------------------------------------------------------------------
    def show_status(self, problem: str = "") -> None:
        status = self.query_one("#serve-status", Static)
        status.set_class(bool(problem), "problem")
        if problem:
            status.update(plain(problem))
        elif self.app.serving.running and self.server is None:
            serving = self.app.serving
            status.update(
                plain(
                    f"The phone pages of '{serving.study_id}' are being served at {serving.base_url}; one study "
                    "is served at a time: stop it on that study's Enrolment screen to serve this one."
                )
            )
        elif self.server is not None:
            status.update(
                plain(
                    f"Serving at {self.server.base_url}. Phones on this laptop's network scan the "
                    f"code (or type the link). s stops; on other screens it goes on (the line under the title says so)."
                )
            )
        else:
            status.update(plain(f"Not serving. s (or Enter in Host/Port) starts; phones will reach {self.address_base()}."))

    @on(Input.Changed, "#serve-host, #serve-port")
    def _address_typed(self) -> None:
        if self.server is None:
            self.show_status()
            self.show_code()

    @on(Input.Submitted, "#serve-host, #serve-port")
    async def _address_entered(self) -> None:
        if self.server is None:
            await self.action_serve()

    async def action_serve(self) -> None:
        serving = self.app.serving
        if self.server is not None:
            await serving.stop()
            self.show_status()
            self.show_code()
            return
        if serving.running:  # another study's pages: said in the status line
            self.show_status()
            return
        host = self.query_one("#serve-host", Input).value.strip()
        port_text = self.query_one("#serve-port", Input).value.strip()
        if not host:
            self.show_status(
                f"Type the address to serve on: {local_address()} is this laptop on its local network; "
                "0.0.0.0 serves every network, VPN and tethered ones too."
            )
            return
        if not port_text.isdigit() or int(port_text) > 65535:
            self.show_status("The port must be a number from 0 to 65535, such as 8080.")
            return
        try:
            await serving.start(self.study_id, host, int(port_text))
        except ServiceError as exc:
            self.show_status(str(exc))
            return
        self.app.served_on = (host, port_text)  # kept for the next time the screen opens
        self.show_status()
        self.show_code()
        self.query_one("#invites-table", DataTable).focus()  # the screen's keys work again, from the table
        if self.study.repo.study().status == StudyStatus.draft:
            self.offer_recruiting()

    def offer_recruiting(self) -> None:
        """Phones can join now, yet the study still says draft: offer to say it is recruiting."""

        def mark(name: str) -> None:
            try:
                set_study_status(self.study, StudyStatus.recruiting, name)
            except (ServiceError, StoreError) as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"'{self.study.repo.study().title}' is now marked recruiting.")

        def answered(yes: Optional[bool]) -> None:
            if yes:
                as_actor(self.app, mark)

        self.app.push_screen(
            ConfirmDialog("This study is still a draft, yet phones can join it now. Mark it recruiting?", yes="Mark recruiting"),
            answered,
        )

    def action_leave(self) -> None:
        self.dismiss()  # serving, if on, goes on: the line under every title says so
