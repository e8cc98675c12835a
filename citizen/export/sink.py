"""One export file written durably: formula-safe CSV cells, hashed as they go to disk.

The writers of every export format (CSV, REDCap, FHIR, the data package) write through here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Optional

from ..store import durable
from .cells import FORMULA_FIRST, safe_row_maker

CHUNK = 1 << 20


def safe_cell(value: Any, numeric: bool = False) -> str:
    """A cell as text; one a spreadsheet would run as a formula gets a leading apostrophe."""
    kind = type(value)
    if kind is str:
        return "'" + value if value[:1] in FORMULA_FIRST else value
    if value is None:
        return ""
    if kind is bool:
        return "1" if value else "0"
    if kind is int or kind is float:
        text = repr(value) if kind is float else str(value)
        return text if numeric or text[:1] not in FORMULA_FIRST else "'" + text
    text = str(value)
    return "'" + text if text[:1] in FORMULA_FIRST else text


class Sink:
    """A file written in large chunks through the durable-write functions, hashed on the way."""

    def __init__(self, path: Path, bom: bool):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.sha = hashlib.sha256()
        self.parts: list[str] = []
        self.pending = 0
        self.size = 0
        if bom:
            self.write("\ufeff")

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.pending += len(text)
        if self.pending >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        data = "".join(self.parts).encode("utf-8")
        self.parts, self.pending = [], 0
        self.sha.update(data)
        self.size += len(data)
        durable.write_all(self.fd, data)

    def close(self) -> None:
        try:
            self.flush()
            durable.fsync(self.fd)
        finally:
            os.close(self.fd)

    def abandon(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


@dataclass
class WrittenFile:
    name: str
    rows: int
    sha256: str
    bytes: int
    header: list[str] = field(default_factory=list)


BATCH = 2000  # rows laid out by the csv module in one call, then handed to the file as one piece of text


def write_csv(
    folder: Path,
    name: str,
    header: list[str],
    rows: Iterable[list[Any]],
    numeric: list[bool],
    bom: bool,
    progress: Optional[Callable[[int], None]] = None,
) -> WrittenFile:
    """``rows`` as RFC 4180 CSV, each cell as ``safe_cell`` gives it, a batch of rows per call to the csv module."""
    sink = Sink(folder / name, bom)
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([safe_cell(h) for h in header])
        safe = safe_row_maker(numeric, safe_cell)
        remaining = iter(rows)
        n = 0
        while batch := list(islice(remaining, BATCH)):
            if progress:
                progress(n)
            writer.writerows(map(safe, batch))
            n += len(batch)
            sink.write(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
        sink.write(buffer.getvalue())
        sink.close()
    except BaseException:
        sink.abandon()
        raise
    return WrittenFile(name, n, sink.sha.hexdigest(), sink.size, list(header))


def write_lines(folder: Path, name: str, header: list[str], lines: list[str], bom: bool) -> WrittenFile:
    """Rows already laid out as CSV text (each ending in CRLF) under the header ``write_csv`` would write."""
    sink = Sink(folder / name, bom)
    try:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow([safe_cell(h) for h in header])
        sink.write(buffer.getvalue())
        for start in range(0, len(lines), BATCH):
            sink.write("".join(lines[start : start + BATCH]))
        sink.close()
    except BaseException:
        sink.abandon()
        raise
    return WrittenFile(name, len(lines), sink.sha.hexdigest(), sink.size, list(header))
