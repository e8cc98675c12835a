"""TinyDB persistence: durable segment files, a write-ahead journal, one writer per data folder."""

from .durable import StoreDamaged, StoreError, StoreLocked, StoreWriteError
from .repo import StudyRepo
from .store import DataFolder, StudyStore, Transaction, transaction, user_data_folder

__all__ = [
    "DataFolder",
    "StoreDamaged",
    "StoreError",
    "StoreLocked",
    "StoreWriteError",
    "StudyRepo",
    "StudyStore",
    "Transaction",
    "transaction",
    "user_data_folder",
]
