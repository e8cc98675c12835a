"""A new private link for a participant, made at the desk: the old link stops working at once."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.widgets import Button, Static

from ...domain.models import Participant
from ...services import ServiceError, Study, relink_participant
from ...web.address import private_link
from ..text import plain
from .base import DeskDialog


class RelinkDialog(DeskDialog[Optional[str]]):
    """Ask first (the old link stops at once), then show the new link and its QR code to photograph."""

    SAVE_LABEL = "Make a new link"

    def __init__(self, study: Study, participant: Participant, url_base: str):
        super().__init__()
        self.study = study
        self.participant = participant
        self.url_base = url_base
        self.link: Optional[str] = None

    def heading(self) -> str:
        return f"New private link for {self.participant.code}"

    def body(self) -> ComposeResult:
        yield Static("Their current link stops working at once (a lost or shared phone, a photographed code). "
                     "They open the new one from the code shown next, or from the link typed in.",
                     id="relink-effects", classes="hint")
        yield Static("", id="relink-code")
        yield Static("", id="relink-link")

    def action_save(self) -> None:
        from ... import qr

        if self.link is not None:
            self.dismiss(self.link)
            return
        try:
            made = relink_participant(self.study, self.participant.id, self.actor)
        except ServiceError as exc:
            self.show_errors(str(exc))
            return
        self.link = private_link(self.url_base, made.link or "")
        self.query_one("#relink-effects", Static).update(
            plain(f"The old link no longer works. {self.participant.code}'s new link (shown only now):"))
        self.query_one("#relink-code", Static).update(qr.terminal_text(self.link))
        self.query_one("#relink-link", Static).update(plain(self.link))
        self.query_one("#save", Button).label = "Done"
        self.query_one("#cancel", Button).display = False

    def action_cancel(self) -> None:
        self.dismiss(self.link)
