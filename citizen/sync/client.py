"""The hub's HTTP endpoints that replication uses, over aiohttp, with plain-word errors.

Every request asks for JSON (PouchDB Server labels JSON text/plain otherwise), is retried a few
times when the network or the server fails, and is counted against a bound on requests in flight.
Sequence values are passed back exactly as the hub gave them.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import os
from typing import Any, Optional
from urllib.parse import quote

import aiohttp
from yarl import URL

from . import PASSWORD_ENV

MAX_IN_FLIGHT = 4
RETRIES = 2
RETRY_DELAY = 0.4  # seconds; doubled after each try
TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=15)


class HubError(Exception):
    """A sync that could not go on; the message is for the person who asked."""


class HubAuthError(HubError):
    pass


class HubMissing(HubError):
    pass


def split_url(text: str) -> tuple[URL, str, str]:
    """The database address without credentials, and any user and password written into it."""
    try:
        url = URL(text.strip())
    except (ValueError, TypeError):
        raise HubError(f"'{text[:80]}' is not a web address.") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise HubError(
            f"'{display(url)}' is not an http:// or https:// address of a database "
            "(for example https://hub.example.org/northgate-air)."
        )
    db = url.path.strip("/")
    if not db or "/" in db:
        raise HubError(
            f"'{display(url)}' does not name one database: end it with the database's name, "
            "for example https://hub.example.org/northgate-air."
        )
    user, password = url.user or "", url.password or ""
    bare = url.with_user(None).with_password(None).with_query(None).with_fragment(None)
    return bare.with_path("/" + db), user, password


def display(url: URL) -> str:
    """The address as shown to people and written to files: never with a password."""
    if not url.is_absolute():
        return str(url)[:80]
    return str(url.with_user(None).with_password(None))


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warnings_for(url: URL) -> list[str]:
    if url.scheme == "http" and not is_loopback(url.host or ""):
        return [
            f"Warning: {display(url)} is plain http: the password and the study's records cross the network "
            "unencrypted, readable by anyone on the way. Use https:// for a hub on another machine."
        ]
    return []


def password_from_env() -> str:
    return os.environ.get(PASSWORD_ENV, "")


class Hub:
    """One CouchDB (or PouchDB Server, or Cloudant) database."""

    def __init__(
        self,
        url: URL,
        user: str = "",
        password: str = "",
        max_in_flight: int = MAX_IN_FLIGHT,
        retries: int = RETRIES,
        retry_delay: float = RETRY_DELAY,
    ):
        self.url = url
        self.shown = display(url)
        # Basic authentication (over https, as the warning for plain http says); never logged.
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._headers = {"Accept": "application/json"}
        if user:
            self._headers["Authorization"] = "Basic " + token
        self.retries = retries
        self.retry_delay = retry_delay
        self._slots = asyncio.Semaphore(max_in_flight)
        self._session: Optional[aiohttp.ClientSession] = None
        self.bulk_get_works = True

    async def __aenter__(self) -> Hub:
        self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers=self._headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _address(self, path: str, params: Optional[dict[str, str]] = None) -> URL:
        base = str(self.url).rstrip("/")
        url = URL(base + ("/" + path if path else ""), encoded=True)
        return url.with_query(params) if params else url

    async def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Optional[dict[str, str]] = None,
        body: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        """The JSON answer, or None for a 404 when ``missing_ok``; HubError in plain words otherwise."""
        assert self._session is not None
        data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else None
        delay = self.retry_delay
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                async with self._slots:
                    async with self._session.request(
                        method, self._address(path, params), data=data, headers=headers, allow_redirects=False
                    ) as resp:
                        raw = await resp.read()
                        status, reason = resp.status, resp.reason or ""
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                if last:
                    raise HubError(
                        f"Cannot reach the hub at {self.shown} while {what} ({_why(exc)}). "
                        "Nothing acknowledged was lost; sync again when the hub can be reached."
                    ) from None
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if status >= 500 and not last:
                await asyncio.sleep(delay)
                delay *= 2
                continue
            return self._answer(status, reason, raw, what, missing_ok)
        raise AssertionError("unreachable")

    def _answer(self, status: int, reason: str, raw: bytes, what: str, missing_ok: bool) -> Any:
        if status == 401:
            raise HubAuthError(
                f"The hub at {self.shown} refused the user name or password (401 {reason}). "
                f"Check them; the password comes from the prompt or {PASSWORD_ENV}."
            )
        if status == 403:
            raise HubAuthError(
                f"The hub at {self.shown} does not let this user do this (403, while {what}): "
                "ask the hub's administrator to make the user a member of the database."
            )
        if status == 404 and missing_ok:
            return None
        if status == 404:
            raise HubMissing(f"The hub has no database at {self.shown} (404 while {what}).")
        if status >= 500:
            raise HubError(
                f"The hub at {self.shown} failed while {what} ({status} {reason}). Nothing acknowledged "
                "was lost; sync again later, it goes on from the last checkpoint."
            )
        if 300 <= status < 400:
            raise HubError(
                f"The hub at {self.shown} sent this laptop elsewhere ({status} {reason}) while {what}; "
                "give the address it names (the password is never sent on to another address)."
            )
        if status >= 400:
            raise HubError(f"The hub at {self.shown} refused a request while {what} ({status} {reason}: {_detail(raw)}).")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise HubError(
                f"The hub at {self.shown} gave an answer that is not JSON while {what}: is the address "
                "that of a CouchDB database? Nothing was changed by it."
            ) from None

    def malformed(self, what: str, detail: str) -> HubError:
        return HubError(
            f"The hub at {self.shown} gave an answer that is not what CouchDB sends while {what} "
            f"({detail}). Nothing was changed by it; sync again, or check the hub."
        )

    # -- the endpoints ----------------------------------------------------------------------------------
    async def info(self) -> Optional[dict]:
        answer = await self.request("GET", "", "reading the database's information", missing_ok=True)
        if answer is not None and not isinstance(answer, dict):
            raise self.malformed("reading the database's information", "not an object")
        return answer

    async def create(self) -> None:
        await self.request("PUT", "", "creating the database")

    async def get_local(self, local_id: str) -> Optional[dict]:
        answer = await self.request("GET", "_local/" + quote(local_id, safe=""), "reading a checkpoint", missing_ok=True)
        return answer if isinstance(answer, dict) else None

    async def put_local(self, local_id: str, doc: dict) -> None:
        current = await self.get_local(local_id)
        body = dict(doc, _id="_local/" + local_id)
        if current and "_rev" in current:
            body["_rev"] = current["_rev"]
        await self.request("PUT", "_local/" + quote(local_id, safe=""), "writing a checkpoint", body=body)

    async def get(self, doc_id: str) -> Optional[dict]:
        answer = await self.request("GET", quote(doc_id, safe=""), f"reading {doc_id}", missing_ok=True)
        if answer is not None and not isinstance(answer, dict):
            raise self.malformed(f"reading {doc_id}", "not an object")
        return answer

    async def range_docs(self, prefix: str) -> list[dict]:
        answer = await self.request(
            "GET",
            "_all_docs",
            f"reading the {prefix} documents",
            params={"startkey": json.dumps(prefix + ":"), "endkey": json.dumps(prefix + ":\ufff0"), "include_docs": "true"},
        )
        rows = answer.get("rows") if isinstance(answer, dict) else None
        if not isinstance(rows, list):
            raise self.malformed("listing documents", "no rows")
        return [r["doc"] for r in rows if isinstance(r, dict) and isinstance(r.get("doc"), dict)]

    async def changes(self, since: Any, limit: int) -> tuple[list[dict], Any]:
        what = "reading the list of changes"
        params = {"style": "all_docs", "since": str(since), "limit": str(limit)}
        answer = await self.request("GET", "_changes", what, params=params)
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list) or "last_seq" not in answer:
            raise self.malformed(what, "no results or no last_seq")
        rows = []
        for row in answer["results"]:
            if not (
                isinstance(row, dict)
                and isinstance(row.get("id"), str)
                and isinstance(row.get("changes"), list)
                and all(isinstance(c, dict) and isinstance(c.get("rev"), str) for c in row["changes"])
            ):
                raise self.malformed(what, "a row without an id or revisions")
            rows.append(row)
        return rows, answer["last_seq"]

    async def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, set[str]]:
        what = "comparing revisions"
        answer = await self.request("POST", "_revs_diff", what, body=revs)
        if not isinstance(answer, dict):
            raise self.malformed(what, "not an object")
        out: dict[str, set[str]] = {}
        for doc_id, entry in answer.items():
            missing = entry.get("missing") if isinstance(entry, dict) else None
            if not isinstance(missing, list):
                raise self.malformed(what, f"no list of missing revisions for {doc_id[:60]}")
            out[doc_id] = {str(r) for r in missing}
        return out

    async def bulk_docs(self, docs: list[dict]) -> None:
        what = "writing documents"
        answer = await self.request("POST", "_bulk_docs", what, body={"docs": docs, "new_edits": False})
        if not isinstance(answer, list):
            raise self.malformed(what, "not a list")
        failed = [a for a in answer if isinstance(a, dict) and a.get("error")]
        if failed:
            first = failed[0]
            raise HubError(
                f"The hub at {self.shown} refused {len(failed)} document(s) ({first.get('id')}: "
                f"{first.get('error')}, {str(first.get('reason'))[:120]}). Nothing else was lost."
            )

    async def fetch(self, wanted: dict[str, list[str]]) -> list[dict]:
        """The documents at these revisions (with their history), by _bulk_get or else open_revs."""
        if self.bulk_get_works:
            try:
                return await self._bulk_get(wanted)
            except _NoBulkGet:
                self.bulk_get_works = False
        found = await asyncio.gather(*(self._open_revs(i, revs) for i, revs in wanted.items()))
        return [doc for docs in found for doc in docs]

    async def _bulk_get(self, wanted: dict[str, list[str]]) -> list[dict]:
        what = "fetching documents"
        body = {"docs": [{"id": i, "rev": r} for i, revs in wanted.items() for r in revs]}
        try:
            answer = await self.request("POST", "_bulk_get", what, params={"revs": "true", "latest": "true"}, body=body)
        except HubMissing:
            raise _NoBulkGet() from None
        except HubError as exc:
            if any(f"({code} " in str(exc) for code in ("400", "405", "501")):
                raise _NoBulkGet() from None
            raise
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise self.malformed(what, "no results")
        docs: list[dict] = []
        for entry in results:
            if not isinstance(entry, dict) or not isinstance(entry.get("docs"), list):
                raise self.malformed(what, "a result without docs")
            docs += self._docs(entry["docs"], what)
        return docs

    async def _open_revs(self, doc_id: str, revs: list[str]) -> list[dict]:
        what = f"fetching {doc_id[:60]}"
        answer = await self.request(
            "GET", quote(doc_id, safe=""), what, params={"open_revs": json.dumps(revs), "revs": "true", "latest": "true"}
        )
        if not isinstance(answer, list):
            raise self.malformed(what, "open_revs did not give a list")
        return self._docs(answer, what)

    def _docs(self, entries: list, what: str) -> list[dict]:
        out = []
        for item in entries:
            if not isinstance(item, dict):
                raise self.malformed(what, "an entry that is not an object")
            if "ok" in item:
                doc = item["ok"]
                if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str) or not isinstance(doc.get("_rev"), str):
                    raise self.malformed(what, "a document without _id or _rev")
                out.append(doc)
            elif "missing" in item or "error" in item:
                continue  # CouchDB: {"error": {...}}; PouchDB: {"missing": rev}: gone meanwhile
            else:
                raise self.malformed(what, "an entry that is neither a document nor an error")
        return out


class _NoBulkGet(Exception):
    pass


def _why(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "its TLS certificate could not be verified"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {exc.os_error.strerror or exc.os_error}" if exc.os_error else "connection failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the connection was cut"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut short"
    return type(exc).__name__


def _detail(raw: bytes) -> str:
    try:
        body = json.loads(raw)
        if isinstance(body, dict):
            return f"{body.get('error', '')} {body.get('reason', '')}".strip()[:160]
    except ValueError:
        pass
    return raw[:120].decode("utf-8", "replace")
