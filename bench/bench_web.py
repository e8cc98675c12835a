"""Phones contributing at once over HTTP to `citizen serve`, on a study that already holds many contributions.

The study is generated through the services (``citizen demo``), fresh volunteers are enrolled
through the services, then the real ``citizen serve`` runs in its own process and N phones (each
from its own loopback address, as phones on a network are, so the per-address limits apply as in
use) open their page and send contributions, all at the same time. Afterwards the data folder is
reopened and every acknowledged contribution must be there, once.

The baseline is contributions added by calling the service directly, one after another, in one
process (every one fsynced): what the HTTP layer (two requests, a rendered page, the checks) costs
on top of the writes. The target is absolute: 50 contributions/s is far above what a room full of
phones sends, with no contribution lost or stored twice, and a p95 under a second.

Run alone: ``python -m bench.bench_web [--quick] [--phones N] [--each M] [--size CONTRIBUTIONS] [--runs N]
[--profile FILE]`` (``--runs``: fresh copies of the one generated study, medians printed; ``--profile``:
the first run's server under cProfile, its stats written to FILE for ``python -m pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STUDY = "air-quality-walk"
CONSENT = {"take_part": True, "share_partners": True, "quote_words": False, "contact_later": False}
ANSWERS = {
    "walk_date": "2026-05-02",
    "route": "canal_path",
    "walk_minutes": "35",
    "breathing": "4",
    "symptoms": "cough",
    "traffic": "3",
}


@dataclass
class WebRun:
    phones: int
    each: int
    size: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    lost: int = 0
    duplicated: int = 0
    direct_per_second: float = 0.0
    first_page: float = 0.0  # seconds: the first page a phone opens once the server says it is ready
    server_peak: float = float("nan")  # MiB: the server's peak resident memory, read before it stops
    server_cpu: float = 0.0  # seconds of CPU of the `citizen serve` process while the phones sent
    server_system: float = 0.0  # of which in the kernel (sockets, fsync)
    phones_cpu: float = 0.0  # seconds of CPU of the phones (this process) while they sent

    @property
    def sent(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def _prepare(data: Path, phones: int, extra: int) -> tuple[list[tuple[str, str]], int, float]:
    """Enrol the phones' volunteers; time ``extra`` direct service adds (the baseline). Returns tokens."""
    from citizen.domain.models import ConsentMethod, ContributionSource
    from citizen.services import add_contribution, enrol_participant, open_study
    from citizen.store import DataFolder

    with DataFolder(data) as folder:
        study = open_study(folder, STUDY)
        people = [enrol_participant(study, CONSENT, ConsentMethod.phone, "bench") for _ in range(phones + 1)]
        baseline_person = people.pop()
        start = time.perf_counter()
        for i in range(extra):
            add_contribution(study, baseline_person.id, dict(ANSWERS, notes=f"direct {i}"), ContributionSource.phone, "bench")
        direct = extra / (time.perf_counter() - start)
        before = study.repo.contribution_count()
        return [(p.id, p.link) for p in people], before, direct


async def _phones(base: str, tokens: list[tuple[str, str]], each: int, run: WebRun) -> None:
    import aiohttp

    async def phone(n: int, token: str) -> None:
        # Each phone from its own loopback address: the server's per-address limits treat it as a phone.
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.{1 + n // 250}.{1 + n % 250}", 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            for i in range(each):
                start = time.perf_counter()
                try:
                    async with session.get(f"{base}/p/{token}") as r:
                        page = await r.text()
                    csrf = re.search(
                        r'action="/p/[^"]+/contribute"[^>]*>\s*<input type="hidden" name="csrf" '
                        r'value="([^"]+)"',
                        page,
                    )
                    if csrf is None:
                        raise RuntimeError(f"page {r.status}")
                    form = {**ANSWERS, "notes": f"phone {n} walk {i}", "csrf": csrf.group(1)}
                    async with session.post(f"{base}/p/{token}/contribute", data=form, allow_redirects=False) as r:
                        await r.read()
                        if r.status != 303:
                            raise RuntimeError(f"status {r.status}")
                except Exception as exc:  # counted, and the phone goes on
                    key = str(exc)[:60] or type(exc).__name__
                    run.errors[key] = run.errors.get(key, 0) + 1
                    continue
                run.latencies.append(time.perf_counter() - start)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(phone(n, token) for n, (_, token) in enumerate(tokens)))
    run.seconds = time.perf_counter() - start
    run.phones_cpu = time.process_time() - cpu


def _serve(data: Path, profile: Path | None = None) -> tuple[subprocess.Popen, str]:
    from .studies import citizen_command

    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "citizen"] if profile else citizen_command()
    proc = subprocess.Popen(
        [*command, "--data", str(data), "serve", STUDY, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("citizen serve did not start: " + proc.stderr.read().strip())
        if found := re.search(r"at (http://\S+) ", line):
            return proc, found.group(1)


def _verify(data: Path, tokens: list[tuple[str, str]], run: WebRun, before: int) -> None:
    from citizen.services import open_study
    from citizen.store import DataFolder

    with DataFolder(data, readonly=True) as folder:
        study = open_study(folder, STUDY)
        notes: dict[str, int] = {}
        for pid, _ in tokens:
            for c in study.repo.contributions_of(pid):
                note = c.values.get("notes", "")
                notes[note] = notes.get(note, 0) + 1
        run.kept = study.repo.contribution_count() - before
    run.duplicated = sum(n - 1 for n in notes.values() if n > 1)
    # Every acknowledged contribution must be stored: count them against what the server kept.
    run.lost = max(0, run.sent - run.kept)


async def _first_page(base: str, token: str) -> float:
    """Seconds to the first page a phone opens after the server started (before any other request)."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        async with session.get(f"{base}/p/{token}") as r:
            await r.text()
            if r.status != 200:
                raise RuntimeError(f"the first page answered {r.status}")
        return time.perf_counter() - start


def run_web(
    size: int, phones: int, each: int, keep: bool = False, profile: Path | None = None, source: Path | None = None
) -> WebRun:
    from .studies import copy_study, demo_study, peak_mib, work_folder

    source = source or demo_study(size).data
    data = work_folder() / f"web-{size}-{phones}"
    if data.exists():
        shutil.rmtree(data)
    copy_study(source, data)
    run = WebRun(phones=phones, each=each, size=size)
    tokens, before, run.direct_per_second = _prepare(data, phones, min(200, phones * each))
    proc, base = _serve(data, profile)
    try:
        # One page first (a volunteer's own, as after a briefing), then every phone at once.
        run.first_page = asyncio.run(_first_page(base, tokens[0][1]))
        user, system = _cpu_of(proc.pid)
        asyncio.run(_phones(base, tokens, each, run))
        user_after, system_after = _cpu_of(proc.pid)
        run.server_system = system_after - system
        run.server_cpu = user_after - user + run.server_system
        run.server_peak = peak_mib(proc.pid) or float("nan")
    finally:
        proc.send_signal(signal.SIGINT)
        if proc.wait(timeout=60) != 0:
            raise RuntimeError("citizen serve did not stop cleanly: " + proc.stderr.read().strip())
    _verify(data, tokens, run, before)
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
    return run


def _cpu_of(pid: int) -> tuple[float, float]:
    """Seconds of CPU a process has used so far, in itself and in the kernel (Linux: /proc; elsewhere 0)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def report(run: WebRun) -> str:
    lines = [
        f"{run.phones} phones x {run.each} contributions on a study of {run.size:,} contributions",
        f"  sent and acknowledged: {run.sent} in {run.seconds:.2f} s = {run.per_second:.1f} contributions/s "
        f"(direct service calls, one after another: {run.direct_per_second:.1f}/s)",
        f"  latency (open the page + send): p50 {run.percentile(50):.0f} ms, p95 {run.percentile(95):.0f} ms, "
        f"p99 {run.percentile(99):.0f} ms",
        f"  errors: {sum(run.errors.values())}" + (f" {run.errors}" if run.errors else ""),
        f"  kept {run.kept}, lost {run.lost}, duplicated {run.duplicated}",
        f"  first page after the server started: {run.first_page * 1000:.0f} ms",
        f"  CPU while the phones sent: the server {run.server_cpu:.2f} s, {run.server_system:.2f} s of it in the kernel "
        f"({run.server_cpu / max(1, run.sent) * 1000:.1f} ms per contribution), the phones {run.phones_cpu:.2f} s",
    ]
    return "\n".join(lines)


def measurements(quick: bool) -> list[dict[str, Any]]:
    phones, each, size = (20, 5, 2_000) if quick else (50, 10, 20_000)
    run = run_web(size, phones, each)
    print(report(run), file=sys.stderr)
    whole = run.lost == 0 and run.duplicated == 0 and not run.errors
    return [
        {
            "measure": f"{phones} phones contributing at once ({size:,} in the study)",
            "ours": run.per_second,
            "baseline": run.direct_per_second,
            "base": "direct service calls in one process",
            "unit": "contrib/s",
            "target": ">= 50/s, none lost",
            "ok": whole and run.per_second >= 50,
        },
        {
            "measure": "phone contribution latency p95",
            "ours": run.percentile(95),
            "baseline": None,
            "base": "",
            "unit": "ms",
            "target": "< 1000 ms",
            "ok": run.percentile(95) < 1000,
        },
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_web", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 phones x 5 contributions on 2,000 (a fast look)")
    parser.add_argument("--phones", type=int, default=None, help="phones at once (default 50; 20 with --quick)")
    parser.add_argument("--each", type=int, default=None, help="contributions per phone (default 10; 5 quick)")
    parser.add_argument("--size", type=int, default=None, help="contributions already in the study (default 20,000; 2,000 quick)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder (its path is printed)")
    parser.add_argument("--runs", type=int, default=1, help="runs on fresh copies of the same study; medians shown (1)")
    parser.add_argument("--profile", metavar="FILE", default=None, help="run the server under cProfile, stats to FILE")
    parser.add_argument(
        "--from", dest="source", metavar="DATA", default=None, help="copy this data folder's demo study instead of making one"
    )
    args = parser.parse_args(argv)
    phones, each, size = (20, 5, 2_000) if args.quick else (50, 10, 20_000)
    from .studies import cleanup, work_folder

    runs = []
    try:
        for n in range(args.runs):
            profile = Path(args.profile) if args.profile and n == 0 else None
            source = Path(args.source) if args.source else None
            runs.append(run_web(args.size or size, args.phones or phones, args.each or each, args.keep, profile, source))
            print(report(runs[-1]), flush=True)
        if args.runs > 1:
            print(medians(runs))
        if args.keep:
            print(f"data kept in {work_folder()}")
    finally:
        if not args.keep:
            cleanup()
    return 0 if all(r.lost == 0 and r.duplicated == 0 and not r.errors for r in runs) else 1


def medians(runs: list[WebRun]) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    return (
        f"median of {len(runs)} runs: {med([r.per_second for r in runs]):.1f} contributions/s; "
        f"p50 {med([r.percentile(50) for r in runs]):.0f} ms, p95 {med([r.percentile(95) for r in runs]):.0f} ms, "
        f"p99 {med([r.percentile(99) for r in runs]):.0f} ms; first page {med([r.first_page for r in runs]) * 1000:.0f} ms; "
        f"errors {sum(sum(r.errors.values()) for r in runs)}, lost {sum(r.lost for r in runs)}, "
        f"duplicated {sum(r.duplicated for r in runs)}"
    )


if __name__ == "__main__":
    sys.exit(main())
