"""One replication of a study with a hub: pull (the hub's changes joined here), then push.

The protocol is CouchDB's (version 3): a replication id per direction; a checkpoint in a
``_local`` document on both sides, resumed only from a session both sides recorded; ``_changes``
with ``style=all_docs``; ``_revs_diff``; ``_bulk_get`` (else ``open_revs``); ``_bulk_docs`` with
``new_edits: false``. Work goes in batches, a few requests in flight, so memory stays bounded.

Conflicts (two leaves on the hub) are joined by the bundle merge rules; the join is written onto
the winning leaf with a revision that depends only on the leaves and the content, and the losing
leaves are closed the same way, so two laptops settling one conflict write the same revisions.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Optional

from pydantic import ValidationError

from ..domain.models import UNLINKED, canonical_json, utcnow
from ..services.common import ServiceError, Study, new_token
from ..services.joining import join_records, record_sync, write_joined
from ..services.merge import MODELS
from ..services.opening import open_study
from ..store import DataFolder
from ..store.segments import load_segment
from .client import Hub, HubError
from .mapping import (
    SCHEMA,
    TYPES,
    NotARecord,
    digest,
    doc_id,
    from_doc,
    next_rev,
    revisions,
    table_of,
    to_body,
    tombstone_rev,
    travels,
    typed_numbers,
    winner,
)
from .report import SyncReport
from .state import HubState, Revs

BATCH = 500  # documents per _changes page, _revs_diff and _bulk_docs
FETCH = 250  # documents per _bulk_get
PUSHES_IN_FLIGHT = 2
HISTORY = 10  # sessions kept in a checkpoint's history
Progress = Optional[Callable[[int, int, str], None]]


def replication_id(laptop: str, study_id: str, url: str, direction: str, include_contacts: bool) -> str:
    seed = canonical_json(["citizen", SCHEMA, laptop, study_id, url, direction, include_contacts])
    return "citizen-" + hashlib.md5(seed.encode("utf-8")).hexdigest()


def common_since(local: Optional[dict], remote: Optional[dict]) -> Any:
    """The last sequence both sides recorded in one session; 0 when they share none."""
    if not local or not remote:
        return 0
    if local.get("session_id") and local.get("session_id") == remote.get("session_id"):
        return local.get("source_last_seq", 0)
    remote_sessions = {h.get("session_id") for h in remote.get("history", []) if isinstance(h, dict)}
    for entry in local.get("history", []):
        if isinstance(entry, dict) and entry.get("session_id") in remote_sessions:
            return entry.get("recorded_seq", 0)
    return 0


class Replicator:
    def __init__(
        self,
        data: DataFolder,
        study_id: str,
        hub: Hub,
        actor: str = "sync",
        include_contacts: bool = False,
        progress: Progress = None,
        batch: int = BATCH,
    ):
        self.data = data
        self.study: Study = open_study(data, study_id)
        self.hub = hub
        self.actor = actor
        self.include_contacts = include_contacts
        self.progress = progress
        self.batch = batch
        self.state = HubState.open(data.path, study_id, hub.shown)
        self.hub_study = study_id  # the study's id on the hub (another one after `study clone --id`)
        self.report = SyncReport(study_id, hub.shown)
        self._decimals: dict[int, frozenset[str]] = {}

    def _tick(self, done: int, total: int, what: str) -> None:
        if self.progress:
            self.progress(done, total, what)

    def rep_id(self, direction: str) -> str:
        return replication_id(self.data.laptop_id, self.study.id, self.hub.shown, direction, self.include_contacts)

    async def run(self, direction: str = "both") -> SyncReport:
        started = time.monotonic()
        self.report.direction = direction
        try:
            await self._meet(create=direction != "pull")
            if direction in ("both", "pull"):
                await self.pull()
            if direction in ("both", "push"):
                await self.push()
        finally:
            self.state.compact()
            self.report.seconds = time.monotonic() - started
            self.report.finished_at = utcnow().isoformat()
            self.state.last = self.report.as_dict()
            self.state.save(self.hub.shown)
            self.state.close()
        if self.report.pushed or self.report.pulled:
            details = {k: v for k, v in self.report.as_dict().items() if k not in ("study_id", "skipped")}
            await asyncio.to_thread(record_sync, self.study, self.actor, "study synced", details, self.data.laptop_id)
        return self.report

    async def _meet(self, create: bool) -> None:
        """The database exists (created for a push when it may be) and holds this study or none."""
        info = await self.hub.info()
        if info is None:
            if not create:
                raise HubError(f"The hub has no database at {self.hub.shown}; push the study first, or check the address.")
            await self.hub.create()
        doc = await self.hub.get("study")
        known = self.state.checkpoints.get("hub_study")
        if doc is not None and not doc.get("_deleted"):
            there = doc.get("id")
            if there != self.study.id and there != known:
                raise HubError(
                    f"The database at {self.hub.shown} holds the study '{str(there)[:63]}', not "
                    f"'{self.study.id}'; nothing was changed. Use one database per study."
                )
            self.hub_study = str(there)
        elif known:
            self.hub_study = known

    # -- pull ----------------------------------------------------------------------------------------
    async def pull(self) -> None:
        rep = self.rep_id("pull")
        remote = await self.hub.get_local(rep)
        since = common_since(self.state.checkpoints.get(rep), remote)
        start, session = since, uuid.uuid4().hex
        info = await self.hub.info() or {}
        total = int(info.get("doc_count") or 0) if isinstance(info.get("doc_count"), int) else 0
        seen = 0
        # The next page is fetched while this one is joined (the hub and this laptop work at once);
        # a document is listed once in a pass of _changes, so pages do not depend on each other.
        ahead: Optional[asyncio.Task] = asyncio.create_task(self._page(since))
        try:
            while ahead is not None:
                rows, last_seq, page = await ahead
                ahead = None
                if not rows:
                    break
                if len(rows) >= self.batch:
                    ahead = asyncio.create_task(self._page(last_seq))
                await self._apply(page)
                since = last_seq
                await self._checkpoint(rep, session, start, since, remote)
                remote = None  # written now: the next checkpoint reads it again
                seen += len(rows)
                self._tick(min(seen, total or seen), max(total, seen), "receiving")
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)

    async def _page(self, since: Any) -> tuple[list[dict], Any, tuple[list[dict[str, dict]], Revs]]:
        rows, last_seq = await self.hub.changes(since, self.batch)
        return rows, last_seq, await self._fetch_rows(rows)

    async def _fetch_rows(self, rows: list[dict]) -> tuple[list[dict[str, dict]], Revs]:
        """The documents of a page this laptop lacks, in rounds (a conflict's leaves one per round),
        and what the hub will hold of each document once they are joined."""
        revs = self.state.revs
        leaves_of: dict[str, list[str]] = {}
        wanted: dict[str, list[str]] = {}
        for row in rows:
            ident = row["id"]
            table = table_of(ident)
            if table is None or (table == "contacts" and not self.include_contacts):
                continue
            leaves = [c["rev"] for c in row["changes"]]
            st = revs.get(ident)
            known = {st[0], *st[2]} if st else set()
            leaves_of[ident] = leaves
            missing = [r for r in leaves if r not in known]
            if missing:
                wanted[ident] = missing
        items = list(wanted.items())
        chunks = [dict(items[i : i + FETCH]) for i in range(0, len(items), FETCH)]
        fetched = await asyncio.gather(*(self.hub.fetch(c) for c in chunks))
        by_id: dict[str, dict[str, dict]] = {}
        for docs in fetched:
            for doc in docs:
                by_id.setdefault(doc["_id"], {})[doc["_rev"]] = doc
        rounds: list[dict[str, dict]] = []
        updates: Revs = {}
        for ident, leaves in leaves_of.items():
            st = revs.get(ident)
            known = {st[0], *st[2]} if st else set()
            got = by_id.get(ident, {})
            live = [r for r in leaves if (r in got and not got[r].get("_deleted")) or (r not in got and r in known)]
            live += [r for r, d in got.items() if r not in leaves and not d.get("_deleted")]  # newer, by latest=true
            live = sorted(set(live))
            if not live:  # every leaf deleted on the hub: a record is never deleted, the next push restores it
                updates[ident] = [winner(leaves + list(got)), None, []]
                continue
            top = winner(live)
            # The content's digest is taken once the record is read back in citizen's own form
            # (a JavaScript hub writes 2.0 as 2): known here for a revision seen before.
            top_digest = st[1] if st and st[0] == top and top not in got else None
            updates[ident] = [top, top_digest, [r for r in live if r != top]]
            for k, rev in enumerate(r for r in live if r in got):  # a conflict's leaves go in rounds
                if k == len(rounds):
                    rounds.append({})
                rounds[k][ident] = got[rev]
        return rounds, updates

    async def _apply(self, page: tuple[list[dict[str, dict]], Revs]) -> None:
        rounds, updates = page
        if rounds:
            received, conflicts, skipped, digests = await asyncio.to_thread(self._join, rounds)
            self.report.pulled += received
            self.report.conflicts += conflicts
            self.report.skipped += skipped
            for ident, entry in updates.items():
                if entry[1] is None and (ident, entry[0]) in digests:
                    entry[1] = digests[(ident, entry[0])]
        self.state.record(updates)

    def _join(self, rounds: list[dict[str, dict]]) -> tuple[int, int, list[str], dict[tuple[str, str], str]]:
        """Join each round of received documents with the study, one durable change per round."""
        study = self.study
        received = conflicts = 0
        skipped: list[str] = []
        digests: dict[tuple[str, str], str] = {}
        # One fsync for the page (before its checkpoint is written); segments written back are let go.
        with study.store.lock, study.store.batch():
            for rnd in rounds:
                records: dict[str, list[dict]] = {}
                for ident, doc in rnd.items():
                    try:
                        table, record = from_doc(doc)
                        record = self._normalised(table, record)
                    except NotARecord as exc:
                        skipped.append(f"{ident[:80]}: {exc}")
                        continue
                    except (ValidationError, TypeError, ValueError) as exc:
                        skipped.append(f"{ident[:80]}: not a valid record ({str(exc).splitlines()[0][:120]})")
                        continue
                    digests[(ident, doc["_rev"])] = digest(to_body(table, record))
                    records.setdefault(table, []).append(self._local_form(table, record))
                    received += 1
                self._settle_protocols(records)
                try:
                    plan = join_records(study, records)
                except ServiceError as exc:
                    raise HubError(f"{exc} (received from {self.hub.shown})") from None
                write_joined(study, plan, self.data.laptop_id)
                conflicts += len(plan.report.conflicts)
        return received, conflicts, skipped, digests

    def _normalised(self, table: str, record: dict) -> dict:
        """The record checked by its model, numbers typed as citizen wrote them (a JavaScript hub
        gives 2.0 back as 2); otherwise exactly as received."""
        probe = dict(record, token=UNLINKED + "x" * 22) if table == "participants" else record
        MODELS[table].model_validate(probe)
        record = typed_numbers(table, record)
        if table == "contributions":
            decimals = self._decimal_keys(record["protocol_version"])
            if decimals:
                record = dict(
                    record,
                    values=_floats(record["values"], decimals),
                    history=[dict(h, values=_floats(h["values"], decimals)) for h in record["history"]],
                )
        return record

    def _decimal_keys(self, number: int) -> frozenset[str]:
        keys = self._decimals.get(number)
        if keys is None:
            version = self.study.store.table("protocol_versions").find(number) or {}
            keys = frozenset(f["key"] for f in version.get("fields", []) if f.get("type") == "decimal")
            self._decimals[number] = keys
        return keys

    def _local_form(self, table: str, record: dict) -> dict:
        if table == "study":
            if record.get("id") != self.hub_study:
                raise NotARecord(f"the hub's study record names '{str(record.get('id'))[:63]}', not '{self.hub_study}'")
            return dict(record, id=self.study.id)
        if table == "participants":  # the private link token never travels: this laptop's, or a new one
            local = self.study.store.table("participants").find(record.get("id"))
            return dict(record, token=local["token"] if local else UNLINKED + new_token())
        return record

    def _settle_protocols(self, records: dict[str, list[dict]]) -> None:
        """New protocol versions are joined in order; one that arrived before its predecessor waits."""
        versions = sorted(records.get("protocol_versions", []), key=lambda d: d["number"])
        if not versions:
            return
        have = self.study.store.table("protocol_versions").count_rows()
        keep = []
        for doc in versions:
            if doc["number"] <= have + 1:
                keep.append(doc)
                have = max(have, doc["number"])
            else:
                raise HubError(
                    f"The hub holds protocol version {doc['number']} but not version {have + 1}; "
                    "nothing more was received. Sync the laptop that published it, then sync again."
                )
        records["protocol_versions"] = keep

    async def _checkpoint(self, rep: str, session: str, start: Any, seq: Any, remote: Optional[dict]) -> None:
        entry = {
            "session_id": session,
            "start_last_seq": start,
            "recorded_seq": seq,
            "end_last_seq": seq,
            "end_time": utcnow().isoformat(),
        }
        local = self.state.checkpoints.get(rep) or {}
        history = [entry] + [h for h in local.get("history", []) if h.get("session_id") != session][: HISTORY - 1]
        doc = {"session_id": session, "source_last_seq": seq, "replication_id_version": f"citizen {SCHEMA}", "history": history}
        await self.hub.put_local(rep, doc)  # the hub's side first: a local one alone is never trusted
        self.state.checkpoints[rep] = doc
        self.state.checkpoints["hub_study"] = self.hub_study
        self.state.save(self.hub.shown)

    # -- push ----------------------------------------------------------------------------------------
    async def push(self) -> None:
        rep = self.rep_id("push")
        remote = await self.hub.get_local(rep)
        local = self.state.checkpoints.get(rep)
        # Revisions remembered are trusted only when this hub recorded the same session: otherwise
        # (a new database, another server) every document is checked with _revs_diff.
        trusted = bool(local and remote and common_since(local, remote))
        session = uuid.uuid4().hex
        candidates = self._candidates(trusted)
        total = sum(self.study.store.table(t).count_rows() for t in TYPES)
        tasks: set[asyncio.Task] = set()
        done = 0
        try:
            while True:
                batch = await asyncio.to_thread(_take, candidates, self.batch)
                if not batch:
                    break
                done += len(batch)
                tasks.add(asyncio.create_task(self._push_batch(batch)))
                if len(tasks) >= PUSHES_IN_FLIGHT:
                    finished, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    for task in finished:
                        task.result()
                self._tick(done, max(total, done), "sending")
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # a batch in flight ends before the hub closes
            raise
        count = len(self.state.revs)
        await self._checkpoint(rep, session, 0, count, remote)

    def _candidates(self, trusted: bool) -> Iterator[tuple[str, str, Optional[str], dict, str, list[str]]]:
        """(id, revision, parent, body, digest, leaves to close) of each document the hub may lack."""
        revs = self.state.revs
        for table in TYPES:
            for record in _records(self.study, table):
                if not travels(table, record, self.include_contacts):
                    continue
                if table == "study" and self.hub_study != self.study.id:
                    record = dict(record, id=self.hub_study)
                body = to_body(table, record)
                ident = doc_id(table, record)
                d = digest(body)
                st = revs.get(ident)
                if st is None:
                    yield ident, next_rev(None, d), None, body, d, []
                elif st[1] == d and not st[2]:
                    if not trusted:
                        yield ident, st[0], None, body, d, []
                elif st[1] == d:
                    yield ident, st[0], None, body, d, list(st[2])
                else:
                    yield ident, next_rev(st[0], d, tuple(st[2])), st[0], body, d, list(st[2])

    async def _push_batch(self, batch: list[tuple[str, str, Optional[str], dict, str, list[str]]]) -> None:
        ask: dict[str, list[str]] = {}
        for ident, rev, _parent, _body, _d, leaves in batch:
            ask[ident] = [rev] + [tombstone_rev(leaf) for leaf in leaves]
        missing = await self.hub.revs_diff(ask)
        docs: list[dict] = []
        sent = 0
        for ident, rev, parent, body, _d, leaves in batch:
            lacking = missing.get(ident, set())
            if rev in lacking:
                docs.append(dict(body, _id=ident, _rev=rev, _revisions=revisions(rev, parent)))
                sent += 1
            for leaf in leaves:
                closing = tombstone_rev(leaf)
                if closing in lacking:
                    docs.append({"_id": ident, "_rev": closing, "_deleted": True, "_revisions": revisions(closing, leaf)})
        if docs:
            await self.hub.bulk_docs(docs)
        self.state.record({ident: [rev, d, []] for ident, rev, _p, _b, d, _l in batch})
        self.report.pushed += sent


def _take(iterator: Iterator, n: int) -> list:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) >= n:
            break
    return out


def _floats(values: dict, keys: frozenset[str]) -> dict:
    return {k: float(v) if k in keys and isinstance(v, int) and not isinstance(v, bool) else v for k, v in values.items()}


def _records(study: Study, name: str) -> Iterator[dict]:
    """A table's records a segment at a time, without keeping segments in memory that were not
    (a push of a large study reads it all once); a writer waits at most one segment."""
    store = study.store
    table = store.table(name)
    with store.lock:
        numbers = list(table.segment_numbers())
    for number in numbers:
        with store.lock:
            if table.loaded_storage(number) is not None or not table.segment_path(number).exists():
                docs = [doc for _row, doc in table.segment_rows(number)]
            else:
                docs = list(load_segment(table.segment_path(number), name)[name].values())
        yield from docs
