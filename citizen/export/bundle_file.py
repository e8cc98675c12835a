"""A bundle file read as a stream, so that importing it takes the same memory at 1,000 records as at 1,000,000.

``open_bundle`` reads the header only. ``BundleFile.check`` then reads the whole file once, a
megabyte at a time: its checksum, every record through its model, the counts the header gives;
a file that fails any of it is refused before anything is written. What a merge must know before
its first batch (the study record, the protocol versions, the invites, the few activity-log
entries that decide review states and the study's status, the withdrawals with removal) is kept
from that reading;
``BundleFile.records`` reads the records again, for the merge, from the same open file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Optional

from pydantic import ValidationError
from pydantic_core import from_json

from ..domain.models import fingerprinted, stored_invite
from ..services.merge import MODELS, BundleRefused

FORMAT = "citizen-bundle"
SCHEMA = 1
READ_CHUNK = 1 << 20
HEADER_MAX = 1 << 20
# Kept whole from the checking read: few records each, and the merge needs them before any batch.
HEAD_TABLES = ("study", "protocol_versions", "invites")
# Activity-log entries the merge needs before its batches (a correction resets a review state;
# the latest status change decides the study's status).
DECIDING_ACTIONS = ("contribution corrected", "study status changed")

Progress = Optional[Callable[[int, int, str], None]]
# Tables whose records are validated straight from their bytes: not the ones changed before they are
# checked (participants, invites), nor the ones the merge keeps whole from the checking read.
FROM_BYTES = frozenset(MODELS) - {"participants", "invites", "consent_events", *HEAD_TABLES}
_PREFIXES = {f'["{name}",'.encode(): name for name in MODELS}


def _shape(line: bytes) -> Optional[tuple[str, bytes]]:
    """A line written as ``["<table>",{...}]`` (as citizen writes them): its table and the record's bytes."""
    end = line.find(b'",', 2, 40)
    name = _PREFIXES.get(line[: end + 2]) if end > 0 else None
    if name is None or not line.endswith(b"]"):
        return None
    return name, line[end + 2 : -1]


def damaged(path: Path) -> BundleRefused:
    return BundleRefused(
        f"{path} is damaged or is not a citizen bundle (it cannot be unpacked); "
        "nothing was changed. Export it again from the other laptop."
    )


def check_header(path: Path, head: bytes, complete: bool) -> dict[str, Any]:
    """The header line of a bundle, checked: the format, the schema, which study."""
    try:
        header = json.loads(head) if complete else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BundleRefused(f"{path} is not a citizen bundle; nothing was changed.")
    schema = header.get("schema")
    if not isinstance(schema, int) or schema < 1:
        raise BundleRefused(f"{path} has no schema version; nothing was changed.")
    if schema > SCHEMA:
        raise BundleRefused(
            f"{path} was made by a newer citizen (bundle schema {schema}; this one knows "
            f"{SCHEMA}). Update citizen on this laptop, then import it again. Nothing was changed."
        )
    return header


def checksum_refusal(path: Path) -> BundleRefused:
    return BundleRefused(
        f"{path} is damaged or was changed after it was made (its checksum does not match); "
        "nothing was changed. Export it again from the other laptop."
    )


def open_file(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise BundleRefused(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise BundleRefused(f"{path} is a folder, not a bundle file.") from None
    except OSError as exc:
        raise BundleRefused(f"{path} cannot be read ({exc.strerror}).") from None


def open_bundle(path: Path) -> BundleFile:
    """The bundle file at ``path``, its header read and checked (nothing else yet)."""
    return BundleFile(Path(path))


class BundleFile:
    """A bundle on disk, read in bounded memory. Kept open: a file replaced meanwhile is not read."""

    def __init__(self, path: Path):
        self.path = path
        self._file = open_file(path)
        try:
            with gzip.GzipFile(fileobj=self._file) as packed:
                head = packed.readline(HEADER_MAX)
        except (OSError, EOFError, zlib.error):
            self.close()
            raise damaged(path) from None
        except BaseException:
            self.close()
            raise
        try:
            header = check_header(path, head, head.endswith(b"\n"))
        except BundleRefused:
            self.close()
            raise
        self.header = header
        study_id = header.get("study")
        self.study_id = study_id if isinstance(study_id, str) else ""
        self.laptop = str(header.get("laptop") or "")
        self.created_at = str(header.get("created_at") or "")
        counts = header.get("counts")
        self.counts: dict[str, int] = dict(counts) if isinstance(counts, dict) else {}
        self.checked = False
        self.head: dict[str, list[dict[str, Any]]] = {name: [] for name in HEAD_TABLES}
        self.deciding: list[dict[str, Any]] = []  # the activity-log entries named in DECIDING_ACTIONS
        self.removals: list[dict[str, Any]] = []  # consent events: withdrawals with removal

    @property
    def total(self) -> int:
        return sum(n for n in self.counts.values() if isinstance(n, int))

    def count(self, table: str) -> int:
        n = self.counts.get(table, 0)
        return n if isinstance(n, int) else 0

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BundleFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------------
    def records(
        self, progress: Progress = None, check: bool = False, label: str = "", keep: bool = True
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every (table, record) of the file, in its order. With ``check``, each record is validated
        and the checksum and counts are checked at the end (a refusal raised then means the records
        already given must not be used); without ``keep``, most records are given empty (``_record``)."""
        self._file.seek(0)
        sha = hashlib.sha256()
        seen: dict[str, int] = {}
        total = self.total
        label = label or ("checking" if check else "reading")
        n = 0
        try:
            with gzip.GzipFile(fileobj=self._file) as packed:
                packed.readline(HEADER_MAX)
                tail = b""
                while True:
                    chunk = packed.read(READ_CHUNK)
                    if not chunk:
                        break
                    sha.update(chunk)
                    lines = (tail + chunk).split(b"\n")
                    tail = lines.pop()
                    for line in lines:
                        n += 1
                        name, doc = self._record(line, n, check, keep)
                        seen[name] = seen.get(name, 0) + 1
                        yield name, doc
                    if progress:
                        progress(min(n, total), total, label)
                if tail:
                    n += 1
                    name, doc = self._record(tail, n, check, keep)
                    seen[name] = seen.get(name, 0) + 1
                    yield name, doc
        except (OSError, EOFError, zlib.error):
            raise damaged(self.path) from None
        if check:
            self._check_whole(sha.hexdigest(), seen)
            self.checked = True

    def _record(self, line: bytes, n: int, check: bool, keep: bool = True) -> tuple[str, dict[str, Any]]:
        """One line's (table, record); with ``check``, validated. Without ``keep`` (the checking read
        before a merge) only the records the merge needs first are made: the others are validated
        straight from their bytes, and given as an empty record."""
        shape = _shape(line) if check else None
        if check and not keep and shape is not None and shape[0] in FROM_BYTES:
            name, body = shape
            found = self._valid(name, body)
            if found is not None:
                if name == "audit" and found.action in DECIDING_ACTIONS:
                    self._keep(name, from_json(body))
                return name, {}
        try:
            name, doc = from_json(line)  # pydantic's parser: json.loads' values, in half its time
        except (ValueError, TypeError):
            raise BundleRefused(f"{self.path}: record {n} is not readable; nothing was changed.") from None
        if not isinstance(doc, dict) or not isinstance(name, str):
            raise BundleRefused(f"{self.path}: record {n} is not a record; nothing was changed.")
        if name == "participants":
            doc = fingerprinted(doc)  # an older bundle's links
        elif name == "invites":
            doc = stored_invite(doc)  # an older bundle's invite tokens, as they were: kept as fingerprints
        if check:
            if shape is None or shape[0] not in FROM_BYTES or self._valid(name, shape[1]) is None:
                self._validate(name, doc, n)  # refused here, with the reason, if it is not valid
            self._keep(name, doc)
        return name, doc

    @staticmethod
    def _valid(name: str, body: bytes) -> Any:
        """The record validated from its bytes (as fast as parsing them), or None if it is not valid."""
        try:
            return MODELS[name].model_validate_json(body)
        except (ValidationError, TypeError, ValueError):
            return None

    def _validate(self, name: str, doc: dict[str, Any], n: int) -> None:
        model = MODELS.get(name)
        if model is None:
            raise BundleRefused(
                f"The bundle holds tables this citizen does not know ({name}); update citizen. Nothing was changed."
            )
        try:
            model.model_validate(doc)
        except (ValidationError, TypeError, ValueError) as exc:
            raise BundleRefused(
                f"The bundle holds a record that is not valid ({name} {n}: {str(exc).splitlines()[0]}); nothing was changed."
            ) from None

    def _keep(self, name: str, doc: dict[str, Any]) -> None:
        """Keep what the merge needs before its first batch."""
        if name in self.head:
            self.head[name].append(doc)
        elif name == "audit" and doc.get("action") in DECIDING_ACTIONS:
            self.deciding.append(doc)
        elif name == "consent_events" and doc.get("kind") == "withdraw" and doc.get("remove_data"):
            self.removals.append(doc)

    def _check_whole(self, digest: str, seen: dict[str, int]) -> None:
        if digest != self.header.get("sha256"):
            raise checksum_refusal(self.path)
        for name in sorted(set(seen) | set(self.counts)):
            if self.count(name) != seen.get(name, 0):
                raise BundleRefused(
                    f"{self.path}: the header counts {self.count(name)} {name} but the file holds "
                    f"{seen.get(name, 0)}; nothing was changed."
                )
        if not self.study_id:
            raise BundleRefused(f"{self.path} does not say which study it holds; nothing was changed.")
        study = self.head["study"]
        if len(study) != 1 or study[0].get("id") != self.study_id:
            raise BundleRefused("The bundle's study record is missing or does not match its header; nothing was changed.")
        numbers = sorted(d["number"] for d in self.head["protocol_versions"])
        if numbers != list(range(1, len(numbers) + 1)):
            raise BundleRefused("The bundle's protocol versions are not numbered 1, 2, 3 ...; nothing was changed.")

    def check(self, progress: Progress = None) -> BundleFile:
        """Read the whole file once: refused with a plain reason (nothing changed) unless every part is sound."""
        if not self.checked:
            for table in self.head.values():
                table.clear()
            self.deciding.clear()
            self.removals.clear()
            for _ in self.records(progress, check=True, keep=False):
                pass
        return self

    def batches(
        self, size: int, progress: Progress = None, check: bool = False, label: str = ""
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """The records again, a run of at most ``size`` records of one table at a time."""
        name = ""
        batch: list[dict[str, Any]] = []
        for table, doc in self.records(progress, check, label):
            if batch and (table != name or len(batch) >= size):
                yield name, batch
                batch = []
            name = table
            batch.append(doc)
        if batch:
            yield name, batch
