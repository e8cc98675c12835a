"""Refreshing a screen after a change committed on any thread (the phone pages write from workers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def on_ui_thread(widget: Any, callback: Callable[[], Any]) -> None:
    """Run ``callback`` on the app's thread: at once when already there, else soon, never waiting.

    A change listener runs on the committing thread while it holds the study's lock; waiting
    there for the app's thread (``call_from_thread``) deadlocks when the app's thread is itself
    about to read the study.
    """
    if widget.app.ui_thread == threading.get_ident():
        callback()
    else:
        widget.call_later(callback)
