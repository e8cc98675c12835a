"""Who is acting: every change made in the app is recorded under the name given once per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..services.common import check_actor_name
from .dialogs.form import Entry, FormDialog


def ask_name(app: Any, then: Callable[[str], None] | None = None) -> None:
    """Ask the person's name (prefilled with the present one) and remember it for the session."""

    def set_name(values: dict[str, Any]) -> str:
        name = check_actor_name(values["name"])
        app.actor = name
        app.actor_named = True
        return name

    def done(name: Any) -> None:
        if name and then is not None:
            then(name)

    app.push_screen(
        FormDialog(
            "Who is making these changes?",
            [Entry("name", "Your name", value=app.actor if app.actor_named else "", placeholder="e.g. Amina Yusuf")],
            set_name,
            save_label="Continue",
            intro="The activity log records who did each step. You are asked once per session.",
            dialog_id="actor-dialog",
        ),
        done,
    )


def as_actor(app: Any, then: Callable[[str], None]) -> None:
    """Run ``then(name)`` as the named person, asking the name first if it is not known yet."""
    if app.actor_named:
        then(app.actor)
    else:
        ask_name(app, then)
