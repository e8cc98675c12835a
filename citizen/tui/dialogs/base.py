"""The one base of every form dialog: a heading, a message on top, a scrolling body, Save and Cancel.

Every dialog has the same keys (Escape cancels, Ctrl+S saves, Tab and Shift+Tab move between its
boxes), the same look, and shows refusals the same way: the overall message on top, each field's
own message under its field, and the first field refused gets the focus. A dialog opens with the
focus on its first box and the top of its body in view, and a box reached with Tab is brought into
view together with its label.
"""

from __future__ import annotations

from typing import Any, Optional, TypeVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Label, Static, TextArea

from ..text import plain

T = TypeVar("T")

# Tab and Shift+Tab move on as soon as they arrive. Unbound, a key climbs from the focused box through
# each container to the screen before it moves the focus, and the boxes' change handlers (a preview
# redrawn per key) run on that way; letters typed straight after a Tab overtook it and landed in the
# box just left ("Abc", Tab, "Xyz" gave "AbcXyz"). Bound with priority, the app moves the focus before
# it hands on the next key.
FOCUS_KEYS = [
    Binding("tab", "app.focus_next", "Next box", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous box", show=False, priority=True),
]


class Dialog(ModalScreen[T]):
    """A modal form: ``ctrl+s`` saves, ``escape`` cancels; refusals show beside their field.

    A dialog gives its ``heading`` (or ``TITLE_TEXT``), an optional ``intro``, its ``body`` and its
    ``action_save``; ``first_focus`` says where the typing starts (the first box by default).
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        # Not a priority key: Ctrl+S then waits behind the letters typed before it, so they are saved too.
        Binding("ctrl+s", "save", "Save"),
        *FOCUS_KEYS,
    ]
    AUTO_FOCUS = None  # the focus is set in on_mount, without scrolling the first label out of view
    TITLE_TEXT = ""
    SAVE_LABEL = "Save"
    problem_text = ""  # the message on top, as shown

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.heading()), classes="dialog-title")
            if intro := self.intro():
                yield Static(plain(intro), id="dialog-intro", classes="hint")
            problem = Static("", id="dialog-problem", classes="problem")
            problem.display = False  # shown when there is something to say
            yield problem
            with VerticalScroll(classes="dialog-body") as body:
                body.can_focus = False  # Tab goes from field to field; the body follows the focus
                yield from self.body()
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.SAVE_LABEL, id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    def heading(self) -> str:
        return self.TITLE_TEXT

    def intro(self) -> str:
        return ""

    def body(self) -> ComposeResult:  # pragma: no cover - every dialog has its own
        yield from ()

    def first_focus(self) -> Optional[Widget]:
        """The box the typing starts in: the body's first."""
        body = self.query_one(".dialog-body")
        return next((w for w in self.focus_chain if body in w.ancestors), None)

    def on_mount(self) -> None:
        # Focus now, not later: keys typed the moment the dialog shows must land in its first box. Not
        # scrolled to it either: before the first layout every box looks out of view, and Textual would
        # centre the box, scrolling its label (and the text above it) away.
        for area in self.query(TextArea):  # typing goes after the existing text, not in front of it
            area.move_cursor(area.document.end)
        first = self.first_focus()
        if first is not None:
            self.set_focus(first, scroll_visible=False)
        self.call_after_refresh(self.fit_body)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_body)

    def fit_body(self) -> None:
        """Let the body have at most the room the rest of the dialog leaves on the screen, so a long form
        scrolls while its heading and buttons stay in view; a short one keeps its own height."""
        dialog = self.query_one(".dialog")
        body = self.query_one(".dialog-body", VerticalScroll)
        rest = sum(self.height_of(part, dialog) for part in dialog.children if part is not body and part.display)
        footer = sum(f.outer_size.height for f in self.query(Footer))
        room = max(3, self.size.height - footer - rest - dialog.styles.gutter.height)
        body.styles.max_height = room

    def height_of(self, part: Widget, dialog: Widget) -> int:
        """A part's height; the message on top's from its words (it may just have been shown, before any layout)."""
        if part.id != "dialog-problem":
            return part.outer_size.height
        width = max(1, dialog.content_region.width - 2)  # less the message's own padding
        return sum(max(1, -(-len(line) // width)) for line in self.problem_text.splitlines()) or 1

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.call_after_refresh(self.show_with_label, event.widget)

    def show_with_label(self, widget: Widget) -> None:
        """Scroll the body so the focused box is in view with its label (and hint) above it."""
        body = self.query_one(".dialog-body", VerticalScroll)
        part = widget
        while part.parent is not None and part.parent is not body:
            part = part.parent
        if part.parent is not body or not part.is_attached:
            return
        parts = list(body.children)
        start = parts.index(part)
        while start > 0 and (isinstance(parts[start - 1], Label) or parts[start - 1].has_class("hint")):
            start -= 1
        region = parts[start].virtual_region_with_margin.union(part.virtual_region_with_margin)
        window = Region(*body.scroll_offset, *body.scrollable_content_region.size)  # the part of the body in view
        if not window.contains_region(region):
            # out of view: bring it to the middle, so a drop-down opened there has room below it
            body.scroll_to_region(region, animate=False, immediate=True, center=True)

    @staticmethod
    def error_slot(key: str) -> Static:
        return Static("", id=f"error-{key}", classes="field-error")

    def show_errors(self, message: str, errors: Optional[dict[str, str]] = None) -> None:
        """The overall message on top and each field's message beside its field; the first such field gets the focus."""
        errors = errors or {}
        for slot in self.query(".field-error").results(Static):
            slot.update("")
            slot.remove_class("-shown")
        unplaced = []
        first: Optional[Static] = None
        for key, text in errors.items():
            found = self.query(f"#error-{key}")
            if found:
                slot = found.first(Static)
                slot.update(plain(text))
                slot.add_class("-shown")
                first = first or slot
            else:
                unplaced.append(text)
        problem = self.query_one("#dialog-problem", Static)
        self.problem_text = "\n".join(t for t in [message, *unplaced] if t)
        problem.update(plain(self.problem_text))
        problem.display = bool(message or unplaced)
        self.call_after_refresh(self.fit_body)  # the message on top takes room from the body
        if first is not None:
            box = self.box_of(first)
            if box is not None:
                box.focus(scroll_visible=False)
            self.call_after_refresh(first.scroll_visible, animate=False)

    @staticmethod
    def box_of(slot: Widget) -> Optional[Widget]:
        """The box a field's message is about: the nearest one before it."""
        siblings = list(slot.parent.children) if slot.parent else []
        before = siblings[: siblings.index(slot)]
        return next((w for w in reversed(before) if w.focusable), None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:  # pragma: no cover - every dialog has its own
        raise NotImplementedError

    @property
    def actor(self) -> Any:
        return getattr(self.app, "actor", "coordinator")
