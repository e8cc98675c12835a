"""Bundle files for the tests: their bytes on disk, edited copies, a study's older copy."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def data_bytes(folder: Path) -> dict[str, bytes]:
    """The folder's files without the caches beside the segments (rebuilt whenever they are missing)."""
    return {name: data for name, data in folder_bytes(folder).items() if not name.endswith(".cache")}


def rewrite_bundle(path: Path, out: Path, header_change=None, body_change=None, fix_checksum=True) -> Path:
    """A copy of a bundle file with its header or its records changed (its checksum made to match, unless not)."""
    raw = gzip.decompress(path.read_bytes())
    head, body = raw.split(b"\n", 1)
    header = json.loads(head)
    if body_change:
        body = body_change(body)
    if header_change:
        header_change(header)
    if fix_checksum:
        header["sha256"] = hashlib.sha256(body).hexdigest()
    out.write_bytes(gzip.compress(json.dumps(header).encode() + b"\n" + body))
    return out


def older_copy(bundle: Path, out: Path) -> Path:
    """The study as it was earlier: half the contributions (without reviews), half the activity log."""
    raw = gzip.decompress(bundle.read_bytes())
    head, body = raw.split(b"\n", 1)
    header = json.loads(head)
    keep = {t: header["counts"][t] // 2 for t in ("contributions", "audit")}
    lines = []
    for line in body.splitlines():
        table, doc = json.loads(line)
        if table in keep:
            if keep[table] == 0:
                continue
            keep[table] -= 1
            if table == "contributions":
                doc = dict(doc, reviews=[], feedback=[], review_state="received")
        lines.append(json.dumps([table, doc], ensure_ascii=False, separators=(",", ":")).encode())
    counts = {t: 0 for t in header["counts"]}
    for line in lines:
        counts[json.loads(line)[0]] += 1

    def update(h):
        h["counts"] = counts

    out.write_bytes(gzip.compress(head + b"\n" + b"\n".join(lines) + b"\n"))
    return rewrite_bundle(out, out, header_change=update)
