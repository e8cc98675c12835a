"""A stand-in that answers in CouchDB 3's shapes where they differ from PouchDB Server's.

CouchDB itself cannot be installed here; these answers follow CouchDB 3.3's (as its replication
protocol documentation and a live server give them): sequences are opaque strings such as
"3-g1AAAAB4eJzLYWBgYMpgTmHgz8tPSTV0MDQy0TM..." and are refused unless sent back exactly;
``_bulk_get`` reports a missing revision as ``{"error": {...}}`` and keeps the order asked;
``_changes`` lists the winning revision first; ``_revs_diff`` gives ``possible_ancestors``;
``_bulk_docs`` with ``new_edits: false`` answers ``[]``. ``old=True`` answers like CouchDB 1.x,
which has no ``_bulk_get`` (a 404), so the client falls back to ``open_revs``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .hub import ThreadedApp


def seq_text(n: int) -> str:
    return f"{n}-g1AAAA" + base64.urlsafe_b64encode(hashlib.sha1(str(n).encode()).digest()).decode().rstrip("=")


@dataclass
class CouchDB3(ThreadedApp):
    db: str = "walk"
    old: bool = False
    docs: dict[str, dict[str, dict]] = field(default_factory=dict)  # id -> rev -> doc
    local: dict[str, dict] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)  # (seq, id)
    sinces: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    seq: int = 0
    bulk_get_asked: int = 0
    open_revs_asked: int = 0

    def started(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}/{self.db}"

    def put(self, doc: dict) -> None:
        self.docs.setdefault(doc["_id"], {})[doc["_rev"]] = doc
        self.log = [(s, i) for s, i in self.log if i != doc["_id"]]
        self.seq += 1
        self.log.append((self.seq, doc["_id"]))

    def leaves(self, doc_id: str) -> list[str]:
        """Live leaves, the winner first (CouchDB's order), then deleted ones."""
        revs = self.docs[doc_id]
        parents = {p for d in revs.values() for p in _ancestors(d)}
        leaves = [r for r in revs if r not in parents]
        return sorted(leaves, key=lambda r: (not revs[r].get("_deleted"), int(r.split("-")[0]), r), reverse=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.strip("/").split("/", 1)
        if parts[0] != self.db:
            return _error(404, "not_found", "Database does not exist.")
        rest = parts[1] if len(parts) > 1 else ""
        body = await request.json() if request.can_read_body else None
        self.requests.append(f"{request.method} {request.path_qs}")
        if rest == "":
            if request.method == "PUT":
                return web.json_response({"ok": True}, status=201)
            return web.json_response(
                {"db_name": self.db, "update_seq": seq_text(self.seq), "doc_count": len(self.docs), "instance_start_time": "0"}
            )
        if rest.startswith("_local/"):
            if request.method == "PUT":
                self.local[rest] = body
                return web.json_response({"ok": True, "id": rest, "rev": "0-1"}, status=201)
            return web.json_response(self.local[rest]) if rest in self.local else _error(404, "not_found", "missing")
        if rest == "_all_docs":
            low, high = json.loads(request.query["startkey"]), json.loads(request.query["endkey"])
            rows = [
                {"id": i, "key": i, "value": {"rev": self.leaves(i)[0]}, "doc": self.docs[i][self.leaves(i)[0]]}
                for i in sorted(self.docs)
                if low <= i <= high
            ]
            return web.json_response({"total_rows": len(self.docs), "offset": 0, "rows": rows})
        if rest == "_changes":
            return self._changes(request)
        if rest == "_revs_diff":
            out = {}
            for doc_id, revs in body.items():
                missing = [r for r in revs if r not in self.docs.get(doc_id, {})]
                if missing:
                    entry: dict[str, Any] = {"missing": missing}
                    if doc_id in self.docs:
                        entry["possible_ancestors"] = self.leaves(doc_id)
                    out[doc_id] = entry
            return web.json_response(out)
        if rest == "_bulk_docs":
            assert body["new_edits"] is False
            for doc in body["docs"]:
                self.put(doc)
            return web.json_response([], status=201)
        if rest == "_bulk_get":
            if self.old:
                return _error(404, "not_found", "missing")
            self.bulk_get_asked += 1
            results = [{"id": a["id"], "docs": [self._one(a["id"], a["rev"])]} for a in body["docs"]]
            return web.json_response({"results": results})
        doc_id = request.match_info["tail"].split("/", 1)[1]
        if "open_revs" in request.query:
            self.open_revs_asked += 1
            revs = json.loads(request.query["open_revs"])
            return web.json_response([self._one(doc_id, r, old=True) for r in revs])
        if doc_id in self.docs:
            return web.json_response(self.docs[doc_id][self.leaves(doc_id)[0]])
        return _error(404, "not_found", "missing")

    def _one(self, doc_id: str, rev: str, old: bool = False) -> dict:
        doc = self.docs.get(doc_id, {}).get(rev)
        if doc is not None:
            return {"ok": doc}
        if old:
            return {"missing": rev}
        return {"error": {"id": doc_id, "rev": rev, "error": "not_found", "reason": "missing"}}

    def _changes(self, request: web.Request) -> web.StreamResponse:
        since = request.query.get("since", "0")
        self.sinces.append(since)
        assert request.query.get("style") == "all_docs"
        if since == "0":
            start = 0
        else:
            known = {seq_text(s): s for s, _ in self.log}
            if since not in known:
                return _error(400, "bad_request", "Malformed sequence supplied in 'since' parameter.")
            start = known[since]
        limit = int(request.query.get("limit", "1000"))
        rows = [(s, i) for s, i in sorted(self.log) if s > start][:limit]
        results = [{"seq": seq_text(s), "id": i, "changes": [{"rev": r} for r in self.leaves(i)]} for s, i in rows]
        last = seq_text(rows[-1][0]) if rows else since
        return web.json_response({"results": results, "last_seq": last, "pending": 0})


def _ancestors(doc: dict) -> list[str]:
    revs = doc.get("_revisions")
    if not revs:
        return []
    start, ids = revs["start"], revs["ids"]
    return [f"{start - k}-{h}" for k, h in enumerate(ids)][1:]


def _error(status: int, error: str, reason: str) -> web.Response:
    return web.json_response({"error": error, "reason": reason}, status=status)
