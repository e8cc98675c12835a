"""Study bundles: one versioned, checksummed file carrying a study from one laptop to another.

The file is gzip-compressed JSON lines. The first line is the header::

    {"format": "citizen-bundle", "schema": 1, "study": "...", "laptop": "AB",
     "created_at": "...", "app": "0.1.0", "counts": {"contributions": 200, ...}, "sha256": "..."}

Every following line is one record, ``["<table>", {...}]``, tables in the order of
``BUNDLE_TABLES``. ``sha256`` is the checksum of every byte after the header line, so a damaged or
edited file is refused as a whole. Contacts travel in the bundle (the coordinator's laptop needs
them to reach people who asked to be contacted); they never appear in a default export.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from pydantic_core import to_json

from .. import __version__
from ..domain.models import fingerprinted, stored_invite, utcnow
from ..services.common import ServiceError, Study
from ..services.merge import BUNDLE_TABLES, Bundle, BundleRefused, bundle_records, check_bundle, paused_gc
from ..store import durable
from .bundle_file import FORMAT, SCHEMA, check_header, checksum_refusal, damaged, open_file

SUFFIX = ".citizen-bundle"
CHUNK = 1 << 20
# gzip level: 3 packs a study's records to within 15% of level 6, in half the time.
COMPRESSION = 3


@dataclass
class BundleInfo:
    path: Path
    study_id: str
    laptop: str
    counts: dict[str, int]
    sha256: str
    size: int


def default_name(study: Study) -> str:
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return f"{study.id}-{study.laptop or 'XX'}-{stamp}{SUFFIX}"


def export_bundle(study: Study, path: Path, progress: Optional[Callable[[int, int, str], None]] = None) -> BundleInfo:
    """Write the whole study to one bundle file (atomically: the old file or the new, never half).

    Streamed, so memory stays bounded however large the study: the records are read a segment at
    a time and written, as they come, to a temporary file beside the bundle while their checksum
    is taken; the header (which carries the counts and that checksum) is then written in front of
    them through gzip into a second temporary file, fsynced and renamed into place.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError(f"Cannot write {path}: {exc.strerror}. Nothing was written.") from None
    body_path = durable.temp_path(path.with_name(path.name + ".body"))
    final = durable.temp_path(path)
    try:
        try:
            counts, digest = _write_body(study, body_path, progress)
            header = {
                "format": FORMAT,
                "schema": SCHEMA,
                "study": study.id,
                "laptop": study.laptop,
                "created_at": utcnow().isoformat(),
                "app": __version__,
                "counts": counts,
                "sha256": digest,
            }
            with open(final, "wb") as out, open(body_path, "rb") as body:
                with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=COMPRESSION, mtime=0) as packed:
                    packed.write(json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n")
                    shutil.copyfileobj(body, packed, CHUNK)
                out.flush()
                durable.fsync(out.fileno())
            size = final.stat().st_size
            durable.replace(final, path)
            durable.fsync_dir(path.parent)
        except OSError as exc:
            raise ServiceError(durable.plain_os_error(exc, path)) from None
    finally:
        for leftover in (body_path, final):
            leftover.unlink(missing_ok=True)
    return BundleInfo(path, study.id, study.laptop, counts, digest, size)


def _write_body(study: Study, body_path: Path, progress: Optional[Callable[[int, int, str], None]]) -> tuple[dict[str, int], str]:
    """The records, one JSON line each, into ``body_path``; their counts and the checksum of the lines."""
    sha = hashlib.sha256()
    counts: dict[str, int] = {}
    written = 0
    with study.store.lock, paused_gc(), open(body_path, "wb") as body:  # a consistent copy
        pending: list[bytes] = []
        size = 0
        for name, docs in bundle_records(study).items():
            n = 0
            for doc in docs:
                # pydantic's encoder: the compact UTF-8 JSON of json.dumps, five times faster
                line = to_json([name, doc], inf_nan_mode="constants") + b"\n"
                pending.append(line)
                size += len(line)
                n += 1
                if size >= CHUNK:
                    chunk = b"".join(pending)
                    sha.update(chunk)
                    body.write(chunk)
                    pending, size = [], 0
                    if progress:
                        progress(written + n, 0, name)
            counts[name] = n
            written += n
            if progress:
                progress(written, 0, name)
        chunk = b"".join(pending)
        sha.update(chunk)
        body.write(chunk)
    return counts, sha.hexdigest()


def read_bundle_raw(path: Path) -> tuple[dict[str, Any], bytes]:
    """The header and the checked body of a bundle file; refused with a plain reason otherwise."""
    path = Path(path)
    with open_file(path) as file:
        try:
            packed = file.read()
        except OSError as exc:
            raise BundleRefused(f"{path} cannot be read ({exc.strerror}).") from None
    try:
        raw = gzip.decompress(packed)
    except (OSError, EOFError, zlib.error):
        raise damaged(path) from None
    head, sep, body = raw.partition(b"\n")
    header = check_header(path, head, True)
    if not sep or hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise checksum_refusal(path)
    return header, body


def read_bundle(path: Path, progress: Optional[Callable[[int, int, str], None]] = None) -> Bundle:
    """Read, check and validate a bundle file, ready to merge."""
    with paused_gc():
        return _read_bundle(path, progress)


def _read_bundle(path: Path, progress: Optional[Callable[[int, int, str], None]]) -> Bundle:
    header, body = read_bundle_raw(path)
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in BUNDLE_TABLES}
    lines = body.split(b"\n")
    total = len(lines)
    for i, line in enumerate(lines):
        if not line:
            continue
        try:
            name, doc = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, TypeError):
            raise BundleRefused(f"{path}: record {i + 1} is not readable; nothing was changed.") from None
        if not isinstance(doc, dict) or not isinstance(name, str):
            raise BundleRefused(f"{path}: record {i + 1} is not a record; nothing was changed.")
        records.setdefault(name, []).append(doc)
        if progress and i % 20000 == 0:
            progress(i, total, "reading")
    records["participants"] = [fingerprinted(d) for d in records.get("participants", [])]  # an older bundle's links
    if "invites" in records:
        records["invites"] = [stored_invite(d) for d in records["invites"]]  # its invite tokens, as they were
    counts = header.get("counts") or {}
    for name, docs in records.items():
        if counts.get(name, 0) != len(docs):
            raise BundleRefused(
                f"{path}: the header counts {counts.get(name, 0)} {name} but the file holds {len(docs)}; nothing was changed."
            )
    study_id = header.get("study")
    if not isinstance(study_id, str) or not study_id:
        raise BundleRefused(f"{path} does not say which study it holds; nothing was changed.")
    bundle = Bundle(study_id, str(header.get("laptop") or ""), str(header.get("created_at") or ""), records)
    return check_bundle(bundle)
