"""TinyDB persistence: durable segment files, a write-ahead journal, one writer per data folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .durable import StoreDamaged, StoreError, StoreLocked, StoreWriteError
from .laptop_key import KeyFileProblem, key_path, laptop_key
from .store import DataFolder, StudyStore, Transaction, transaction, user_data_folder

if TYPE_CHECKING:
    from .repo import StudyRepo


def __getattr__(name: str) -> Any:
    # The typed reader loads the record models (pydantic): only when it is first asked for, so
    # that what reads the store as stored (the studies list) starts without them.
    if name == "StudyRepo":
        from .repo import StudyRepo  # lazy (start-up time, see above)

        return StudyRepo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DataFolder",
    "KeyFileProblem",
    "StoreDamaged",
    "StoreError",
    "StoreLocked",
    "StoreWriteError",
    "StudyRepo",
    "StudyStore",
    "Transaction",
    "key_path",
    "laptop_key",
    "transaction",
    "user_data_folder",
]
