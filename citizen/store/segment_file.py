"""Reading one segment file: its schema version, migrations of older files, and damage found on open."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .durable import StoreDamaged

SCHEMA = 1
META = "_meta"


def _from_schema_0(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 0 (the first pre-release files) kept records under TinyDB's ``_default`` table."""
    meta = data[META]["1"]
    table = meta.get("table")
    if not isinstance(table, str) or not table:
        raise ValueError("a schema 0 file names its table in its _meta record")
    rows = data.pop("_default", {})
    return {**data, table: {**rows, **(data.get(table) or {})}}


# Migrations of a segment's raw data from schema N to N + 1, run on open; the file is rewritten
# in the new schema the next time it changes (its old copy is kept as the last good copy).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_schema_0}


LARGE = 1 << 18  # bytes from which a file is read by pydantic's parser


def read_json(raw: bytes) -> Any:
    """A stored file's JSON. A large one (a segment, the index of 64 segments) is read by pydantic's
    parser, twice as fast as json's, for the same values; a small one (what the first screen reads)
    by json, which costs no import. What pydantic's parser refuses is read by json, which gives the
    reason, or the values (a lone surrogate escape, which pydantic refuses and json reads)."""
    if len(raw) >= LARGE:
        from pydantic_core import from_json  # lazy: start-up time

        try:
            return from_json(raw)
        except ValueError:
            pass
    return json.loads(raw)


def load_segment(path: Path, table: str) -> dict[str, Any]:
    """Read and check one segment file; a damaged one raises StoreDamaged, never reads as empty."""
    backup = path.with_name(path.name + ".bak")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StoreDamaged(path, "the file is missing", backup) from None
    except OSError as exc:
        raise StoreDamaged(path, f"it cannot be read ({exc.strerror})", backup) from None
    if not raw.strip():
        raise StoreDamaged(path, "the file is empty", backup)
    try:
        data = read_json(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreDamaged(path, f"it is not complete JSON ({exc})", backup) from None
    except RecursionError:
        raise StoreDamaged(path, "it is nested too deeply to be ours", backup) from None
    if not isinstance(data, dict) or not isinstance(data.get(META), dict):
        raise StoreDamaged(path, "it does not have the shape of a citizen table file", backup)
    meta = data[META].get("1")
    if not isinstance(meta, dict) or not isinstance(meta.get("schema"), int):
        raise StoreDamaged(path, "its schema version is missing", backup)
    schema = meta["schema"]
    if schema > SCHEMA:
        raise StoreDamaged(path, f"it was written by a newer citizen (schema {schema}; this one knows {SCHEMA}); update citizen")
    while schema < SCHEMA:
        migrate = MIGRATIONS.get(schema)
        if migrate is None:
            raise StoreDamaged(path, f"schema {schema} is too old to be read", backup)
        try:
            data = migrate(data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise StoreDamaged(path, f"it cannot be brought from schema {schema} to {schema + 1} ({exc})", backup) from None
        schema += 1
        data[META]["1"]["schema"] = schema
    rows = data.get(table, {})
    if not isinstance(rows, dict) or not all(isinstance(d, dict) for d in rows.values()):
        raise StoreDamaged(path, f"its '{table}' table does not hold records", backup)
    for key in rows:
        if not key.isdigit():
            raise StoreDamaged(path, f"record id '{key[:20]}' is not a number", backup)
    data[table] = rows
    return data
