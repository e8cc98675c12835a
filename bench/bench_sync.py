"""Push and pull of a large study with a hub (PouchDB Server), against the server's own work.

A laptop generates the demo study (100,000 contributions; ``--quick``: 2,000) and, each in a fresh
process whose time and peak memory are measured (``os.wait4``):

- pushes it to an empty database (``citizen sync STUDY URL --push-only``), against PouchDB
  Server's own ingest of the same documents: ``_bulk_docs`` straight from a file, in batches of
  the same size, into another empty database of the same server, in the same run;
- clones it onto an empty laptop (``citizen study clone URL``: ``_changes``, ``_bulk_get``, the
  join, every record written durably), against a plain read of the same pages (``_changes`` +
  ``_bulk_get``, JSON parsed, nothing else);
- pushes it again to an empty database, killed (-9) once the hub holds 90% of the documents, then
  resumed: the share of documents sent a second time.

Targets (issue 17): push at most 2x the server's ingest; pull at most 2x the plain read; peak
memory under 200 MiB either way; a resumed sync after a cut at 90% sends less than 15% again.

Run alone: ``python bench/bench_sync.py [--quick]``; or through the bench runner. Needs
``npm install`` (PouchDB Server).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from citizen.services.demo import create_demo  # noqa: E402
from citizen.store import DataFolder  # noqa: E402
from tests.support.hub import PouchServer  # noqa: E402

STUDY = "air-quality-walk"
BATCH = 500
MIB = 1024 * 1024


def _call(method: str, url: str, body: bytes | None = None) -> object:
    req = urllib.request.Request(
        url, data=body, method=method, headers={"Accept": "application/json", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def _citizen(args: list[str], kill_when=None) -> tuple[float, int, str]:
    """Wall seconds, peak resident bytes and output of one citizen command in its own process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = Path(sys.executable).parent / "citizen"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "citizen"]
    start = time.perf_counter()
    proc = subprocess.Popen(command + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    if kill_when is not None:
        while proc.poll() is None and not kill_when():
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = proc.stdout.read().decode() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if kill_when is None and proc.returncode != 0:
        raise RuntimeError(f"citizen {' '.join(args)} failed: {out[-500:]}")
    return time.perf_counter() - start, usage.ru_maxrss * 1024, out


def _ingest(base: str, source: str, tmp: Path) -> tuple[float, int]:
    """PouchDB Server's own ingest: the documents citizen pushed, written to a file, then posted
    from it with _bulk_docs into an empty database (the file is read before the clock starts)."""
    rows = _call("GET", f"{source}/_all_docs?include_docs=true")["rows"]  # type: ignore[index]
    path = tmp / "docs.jsonl"
    with path.open("wb") as fh:
        for start in range(0, len(rows), BATCH):
            docs = [{k: v for k, v in r["doc"].items() if k != "_rev"} for r in rows[start : start + BATCH]]
            fh.write(json.dumps({"docs": docs}).encode() + b"\n")
    del rows
    bodies = path.read_bytes().splitlines()
    target = f"{base}/ingest"
    _call("PUT", target)
    start = time.perf_counter()
    for body in bodies:
        _call("POST", f"{target}/_bulk_docs", body)
    return time.perf_counter() - start, sum(len(json.loads(b)["docs"]) for b in bodies)


def _plain_read(url: str) -> float:
    """_changes pages and _bulk_get of every document, JSON parsed, nothing else."""
    start = time.perf_counter()
    since: object = 0
    while True:
        page = _call("GET", f"{url}/_changes?style=all_docs&limit={BATCH}&since={since}")
        rows = page["results"]  # type: ignore[index]
        if not rows:
            break
        wanted = [{"id": r["id"], "rev": c["rev"]} for r in rows for c in r["changes"]]
        _call("POST", f"{url}/_bulk_get?revs=true", json.dumps({"docs": wanted}).encode())
        since = page["last_seq"]  # type: ignore[index]
        if len(rows) < BATCH:
            break
    return time.perf_counter() - start


def _row(measure: str, ours: float, base: float | None, what: str, unit: str, target: str, ok: bool | None) -> dict:
    """A row as the bench runner tables it: ``baseline`` the number, ``base`` what it is."""
    return {"measure": measure, "ours": ours, "baseline": base, "base": what, "unit": unit, "target": target, "ok": ok}


def measure(contributions: int, tmp: Path) -> list[dict]:
    source = tmp / "laptop"
    source.mkdir()
    (source / "laptop.json").write_text(json.dumps({"laptop": "DE"}))
    with DataFolder(source) as folder:
        create_demo(folder, participants=max(50, contributions // 5), contributions=contributions, seed=11, study_id=STUDY)
    server = PouchServer(tmp / "hub").start()
    try:
        base = server.base
        push_s, push_mem, out = _citizen(["--data", str(source), "sync", STUDY, f"{base}/pushed", "--push-only"])
        docs = int(_call("GET", f"{base}/pushed")["doc_count"])  # type: ignore[index]
        label = f"{contributions:,} contributions ({docs:,} documents)"
        ingest_s, ingested = _ingest(base, f"{base}/pushed", tmp)
        rows = [
            _row(
                f"push of {label}",
                push_s,
                ingest_s,
                f"PouchDB Server's own _bulk_docs ingest of the same {ingested:,} documents from a file",
                "s",
                "<= 2x baseline",
                push_s <= 2 * ingest_s,
            ),
            _row(f"push of {label}: peak memory", push_mem / MIB, None, "", "MiB", "< 200 MiB", push_mem < 200 * MIB),
        ]

        read_s = _plain_read(f"{base}/pushed")
        pull_s, pull_mem, _ = _citizen(["--data", str(tmp / "clone"), "study", "clone", f"{base}/pushed"])
        rows += [
            _row(
                f"pull (clone onto an empty laptop) of {label}",
                pull_s,
                read_s,
                "a plain read of the same _changes pages and _bulk_get",
                "s",
                "<= 2x baseline",
                pull_s <= 2 * read_s,
            ),
            _row(f"pull of {label}: peak memory", pull_mem / MIB, None, "", "MiB", "< 200 MiB", pull_mem < 200 * MIB),
        ]

        fresh = tmp / "again"
        shutil.copytree(source, fresh, ignore=shutil.ignore_patterns(".lock", "sync"))
        url = f"{base}/resumed"

        def at_90() -> bool:
            try:
                return int(_call("GET", url)["doc_count"]) >= 0.9 * docs  # type: ignore[index]
            except OSError:
                return False

        _citizen(["--data", str(fresh), "sync", STUDY, url, "--push-only"], kill_when=at_90)
        held = int(_call("GET", url)["doc_count"])  # type: ignore[index]
        _s, _m, out = _citizen(["--data", str(fresh), "sync", STUDY, url, "--push-only"])
        sent_again = int(out.split(" documents sent")[0].rsplit(" ", 1)[1])
        share = sent_again / docs
        rows.append(
            _row(
                f"push killed at {held / docs:.0%} of {label}, then resumed: documents sent again",
                100 * share,
                None,
                "",
                "%",
                "< 15%",
                share < 0.15,
            )
        )
        return rows
    finally:
        server.stop()


def measurements(quick: bool) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="citizen-bench-sync-"))
    try:
        return measure(2_000 if quick else 100_000, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    for m in measurements("--quick" in sys.argv):
        ratio = f", {m['ours'] / m['baseline']:.2f}x" if m["baseline"] else ""
        base = f" (baseline {m['baseline']:.2f}{ratio}: {m['base']})" if m["baseline"] else ""
        print(
            f"{'ok ' if m['ok'] else 'BAD'} {m['measure']}: {m['ours']:.2f} {m['unit']}{base}; target {m['target']}", flush=True
        )
