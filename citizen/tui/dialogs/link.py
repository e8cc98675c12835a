"""A new private link for a participant, made at the desk: the old link stops working at once."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.widgets import Button, Static

from ...domain.models import Participant
from ...services import ServiceError, Study, relink_participant
from ...web.address import private_link
from ..text import plain
from .base import Dialog


class RelinkDialog(Dialog[Optional[str]]):
    """Ask first (the old link stops at once), then show the new link (in the title) and its QR code, whole."""

    SAVE_LABEL = "Make a new link"
    # The code must show whole to be read by a phone: at 80x24 it takes 19 lines, the body all there is.
    DEFAULT_CSS = """
    RelinkDialog .dialog-body { max-height: 100%; }
    """

    def __init__(self, study: Study, participant: Participant, url_base: str):
        super().__init__()
        self.study = study
        self.participant = participant
        self.url_base = url_base
        self.link: Optional[str] = None

    def heading(self) -> str:
        return f"New private link for {self.participant.code}"

    def body(self) -> ComposeResult:
        yield Static(
            "Their current link stops working at once (a lost or shared phone, a photographed code). "
            "They open the new one from the code shown next, or from the link typed in.",
            id="relink-effects",
            classes="hint",
        )
        yield Static("", id="relink-code")

    def action_save(self) -> None:
        from ... import qr  # lazy: qrcode loads only when a new link is drawn (start-up time)

        if self.link is not None:
            self.dismiss(self.link)
            return
        try:
            made = relink_participant(self.study, self.participant.id, self.actor)
        except ServiceError as exc:
            self.show_errors(str(exc))
            return
        self.link = private_link(self.url_base, made.link or "")
        self.query_one("#relink-effects", Static).display = False  # room for the whole code
        self.query_one("#dialog-problem", Static).display = False
        self.query_one(".dialog-title", Static).update(plain(f"{self.participant.code}: {self.link}"))
        self.query_one("#relink-code", Static).update(qr.terminal_text(self.link))
        self.query_one("#save", Button).label = "Done"
        self.query_one("#cancel", Button).display = False

    def action_cancel(self) -> None:
        self.dismiss(self.link)
