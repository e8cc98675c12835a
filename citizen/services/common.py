"""What every use case shares: the study handle, refusals in plain words, the audit trail."""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Optional, TypeVar

from pydantic import ValidationError

from ..domain.base import CODE_ALPHABET
from ..domain.models import AuditEvent, to_doc, utcnow
from ..domain.protocol_file import explain
from ..store import StudyRepo, StudyStore, Transaction, transaction


class ServiceError(Exception):
    """A use case that could not be carried out; the message is for the person who asked."""


class Refused(ServiceError):
    """Input that cannot be accepted, with a plain reason per field (or item)."""

    def __init__(self, message: str, errors: Optional[dict[str, str]] = None):
        self.errors = errors or {}
        super().__init__(message)


class NotFound(ServiceError):
    pass


class NotOpen(Refused):
    """The study is paused or closed: volunteers' phones add nothing new (``status`` says which)."""

    def __init__(self, status: str):
        self.status = status
        super().__init__(f"This study is {status}: it takes nothing new from volunteers' phones now.")


def volunteers_gate(study: Study) -> None:
    """Refuse a change a volunteer's phone asks for while the study is paused or closed.

    Changing consent and withdrawing are never refused; the team at the desk is not gated.
    """
    record = study.repo.study()
    if not record.open_to_volunteers:
        raise NotOpen(record.status.value)


class Study:
    """A handle on one open study: its store (for writing) and its repo (for reading)."""

    def __init__(self, store: StudyStore, laptop: str = ""):
        self.store = store
        self.repo = StudyRepo(store)
        self.laptop = laptop
        self.notices: list[str] = []  # what opening or importing it changed, for the person to read once

    @property
    def id(self) -> str:
        return self.store.folder.name

    def on_change(self, listener: Any) -> None:
        """Call ``listener(ops)`` after each committed change (the TUI refreshes live with it)."""
        self.store.listeners.append(listener)

    def remove_listener(self, listener: Any) -> None:
        if listener in self.store.listeners:
            self.store.listeners.remove(listener)


def new_token(nbytes: int = 18) -> str:
    """An unguessable token for a link (144 random bits by default)."""
    return secrets.token_urlsafe(nbytes)


def new_code(laptop: str) -> str:
    return f"{laptop}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))


def audit(
    tx: Transaction,
    actor: str,
    action: str,
    target: str = "",
    details: Optional[dict[str, Any]] = None,
    at: Optional[datetime] = None,
    laptop: str = "",
) -> None:
    try:
        event = AuditEvent(
            actor=(actor or "").strip() or "unknown",
            action=action,
            target=target[:200],
            details=details or {},
            at=at or utcnow(),
            laptop=laptop,
        )
    except ValidationError as exc:
        raise Refused("This change cannot be recorded: " + "; ".join(explain(exc))) from None
    tx.insert("audit", to_doc(event))


F = TypeVar("F", bound=Callable[..., Any])


def serialised(use_case: F) -> F:
    """Run a use case under the study's write lock, from its first read to its commit.

    Reading a record and writing it back in two steps would let a second writer (another phone,
    the coordinator) slip in between, and one of the two changes would be lost.
    """

    @functools.wraps(use_case)
    def run(study: Study, *args: Any, **kwargs: Any) -> Any:
        with study.store.lock:
            return use_case(study, *args, **kwargs)

    return run  # type: ignore[return-value]


@contextlib.contextmanager
def change(study: Study) -> Iterator[Transaction]:
    """One durable change of a study: everything written in the block lands together or not at all."""
    with transaction(study.store) as tx:
        yield tx


def row_of(study: Study, table: str, record_id: Any) -> int:
    row = study.store.table(table).find_row(record_id)
    if row is None:
        raise NotFound(f"No such record ({table}: {record_id}).")
    return row


def check_actor_name(name: str) -> str:
    """The name a person gives for the activity log, tidied; refused when empty or too long."""
    name = " ".join((name or "").split())
    if not name:
        raise Refused("Please give your name.", {"name": "Please give your name; the activity log shows who did each step."})
    if len(name) > 120:
        raise Refused("That name is too long.", {"name": "Please keep the name under 120 characters."})
    return name
