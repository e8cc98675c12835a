"""What every command shares: the exit codes, the plain error line, the data folder, who is acting."""

from __future__ import annotations

import argparse
from enum import IntEnum
from pathlib import Path
from typing import Optional

from ..store import DataFolder, user_data_folder


class Exit(IntEnum):
    """The exit codes of every command (README, "Exit codes")."""

    OK = 0
    FAILED = 1  # refused or failed: one plain line on stderr says why and what to do
    USAGE = 2  # the command line itself is wrong (argparse uses 2 as well)
    NOT_CONFIRMED = 3  # shown what would happen, not confirmed: nothing was written
    STOPPED = 130  # Ctrl-C


class CliError(Exception):
    """A plain message for stderr, with its exit code."""

    def __init__(self, message: str, code: int = Exit.FAILED):
        self.code = int(code)
        super().__init__(message)


def data_path(args: argparse.Namespace) -> Path:
    return Path(args.data).expanduser() if args.data else user_data_folder()


def open_data(args: argparse.Namespace, readonly: bool = False) -> DataFolder:
    return DataFolder(data_path(args), readonly=readonly)


def acting(args: argparse.Namespace, default: Optional[str] = "coordinator") -> Optional[str]:
    """Who the activity log names: the command's own flag (``--actor``, ``--approved-by``), else the
    global ``--as``, else ``default``."""
    return getattr(args, "actor", None) or getattr(args, "actor_name", None) or default


def say(text: str) -> None:
    print(text, flush=True)
