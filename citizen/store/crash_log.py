"""The crash log: the traceback of an unexpected failure, kept in the data folder for whoever fixes it.

Both the terminal app and the command line write it; the person sees one plain line instead.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__


def write_crash_log(data: Path, exc: BaseException) -> Path:
    """Append the traceback to the data folder's log (or the temp folder when that fails)."""
    text = f"--- {datetime.now(timezone.utc).isoformat()} citizen {__version__}\n" + "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    for folder in (data / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            log = folder / "citizen.log"
            with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8") as fh:
                fh.write(text)
            return log
        except OSError:
            continue
    return Path("(no log could be written)")
