"""A contribution whose HTTP response said "saved" survives killing the server (SIGKILL).

Each trial starts `citizen serve` as its own process on 127.0.0.1, lets five phones enrol and
contribute over real HTTP (each contribution carries a unique note), kills the server at a random
moment, then reopens the data folder: every contribution the server acknowledged (303 to
``?done=contributed``) is there, once, whole; every enrolment that showed its receipt is there.
The burst trials do the same with thirty phones posting at once, stored in groups (one durable
change for all that wait, issue 16), killed while groups are being written.
``CITIZEN_WEB_CRASH_TRIALS`` runs more trials (default 6; half as many bursts).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest

from citizen.domain.models import ConsentMethod
from citizen.services import create_invite, enrol_participant, import_protocol, open_study
from citizen.store import DataFolder
from citizen.store.journal import read_journal

from .support.factories import STUDY, YES_ALL
from .support.web import WALK, enrol, path_of, send

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("CITIZEN_WEB_CRASH_TRIALS", "6"))
DEMO = Path(__file__).resolve().parents[1] / "studies" / "air-quality-walk.json"


def prepared(data: Path) -> str:
    with DataFolder(data) as folder:
        study = import_protocol(folder, DEMO, "Amina Yusuf")
        return create_invite(study, "crash trial", "Amina Yusuf").token


def start_server(data: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "citizen", "--data", str(data), "serve", STUDY, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        if found:
            return proc, found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("citizen serve did not start: " + (proc.stdout.read() or ""))


async def one_phone(base: str, invite: str, name: str, acked: list[str], enrolled: list[str]) -> None:
    server = SimpleNamespace(base_url=base, join_url=lambda token: f"{base}/j/{token}")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        link, code = await enrol(s, server, invite)  # raises, ending this phone, once the server is gone
        enrolled.append(code)
        path = path_of(link)
        for i in range(1000):
            note = f"{name} note {i}"
            status, _, r = await send(s, base + path, path + "/contribute", {**WALK, "notes": note}, base)
            if status == 303 and "done=contributed" in r.headers.get("Location", ""):
                acked.append(note)  # the phone showed "saved"
            elif status == 429:
                await asyncio.sleep(0.5)  # slowed down by the server, as a phone would be


async def phones_until_killed(proc: subprocess.Popen, base: str, invite: str, after: float):
    acked: list[str] = []
    enrolled: list[str] = []
    tasks = [asyncio.create_task(one_phone(base, invite, f"phone{n}", acked, enrolled)) for n in range(5)]
    await asyncio.sleep(after)
    proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(proc.wait)
    await asyncio.gather(*tasks, return_exceptions=True)  # connections fail once it is gone
    return list(acked), list(enrolled)


def test_acknowledged_web_contributions_survive_a_kill(tmp_path, capsys):
    rng = random.Random(int(os.environ.get("CITIZEN_CRASH_SEED", "0")))
    total_acked = lost = 0
    for trial in range(TRIALS):
        data = tmp_path / f"trial-{trial}"
        invite = prepared(data)
        proc, base = start_server(data)
        try:
            acked, enrolled = asyncio.run(phones_until_killed(proc, base, invite, rng.uniform(0.5, 3.0)))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with DataFolder(data) as folder:  # the lock of the killed process does not hold the folder
            study = open_study(folder, STUDY)
            notes = [doc["values"].get("notes") for doc in study.repo.contribution_docs()]
            codes = {p.code for p in study.repo.participants()}
        total_acked += len(acked)
        missing = [n for n in acked if n not in notes]
        lost += len(missing)
        assert not missing, f"trial {trial}: acknowledged but gone: {missing[:5]}"
        assert len(notes) == len(set(notes)), f"trial {trial}: a contribution was stored twice"
        assert set(enrolled) <= codes, f"trial {trial}: an enrolment shown to a phone is gone"
    with capsys.disabled():
        print(f"\nweb crash trials: {TRIALS}, contributions acknowledged over HTTP: {total_acked}, lost: {lost}")
    assert total_acked >= TRIALS  # the phones did get to contribute before each kill


BURST_PHONES = 30


def enrolled(data: Path, phones: int) -> list[str]:
    """A study with ``phones`` volunteers already enrolled; their private links' tokens."""
    with DataFolder(data) as folder:
        study = import_protocol(folder, DEMO, "Amina Yusuf")
        return [enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer").link for _ in range(phones)]


async def burst_until_killed(proc: subprocess.Popen, base: str, links: list[str], kill_after: int) -> list[str]:
    """Every phone sends again and again, all at once; the server is killed once ``kill_after`` are acknowledged."""
    acked: list[str] = []

    async def one_phone(n: int, link: str) -> None:
        # Each phone from its own loopback address, as phones on a network are (the per-address limits).
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.1.{n + 1}", 0))
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            path = f"/p/{link}"
            for i in range(1000):
                note = f"phone{n} note {i}"
                status, _, r = await send(s, base + path, path + "/contribute", {**WALK, "notes": note}, base)
                if status == 303 and "done=contributed" in r.headers.get("Location", ""):
                    acked.append(note)

    tasks = [asyncio.create_task(one_phone(n, link)) for n, link in enumerate(links)]
    while len(acked) < kill_after and not all(t.done() for t in tasks):
        await asyncio.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(proc.wait)
    await asyncio.gather(*tasks, return_exceptions=True)  # connections fail once it is gone
    return list(acked)


def test_acknowledged_contributions_of_a_burst_survive_a_kill(tmp_path, capsys):
    rng = random.Random(int(os.environ.get("CITIZEN_CRASH_SEED", "0")))
    trials = max(2, TRIALS // 2)
    total_acked = changes = grouped = 0
    for trial in range(trials):
        data = tmp_path / f"burst-{trial}"
        links = enrolled(data, BURST_PHONES)
        proc, base = start_server(data)
        try:
            acked = asyncio.run(burst_until_killed(proc, base, links, rng.randint(20, 200)))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # What the killed server left: how its contributions were grouped into durable changes.
        journal, _ = read_journal(data / "studies" / STUDY / "journal.jsonl")
        sizes = [n for n in (sum(op[0] == "contributions" for op in change) for change in journal) if n]
        changes += len(sizes)
        grouped += sum(sizes)
        with DataFolder(data) as folder:
            study = open_study(folder, STUDY)
            notes = [doc["values"].get("notes") for doc in study.repo.contribution_docs()]
        total_acked += len(acked)
        missing = [n for n in acked if n not in notes]
        assert not missing, f"burst {trial}: acknowledged but gone: {missing[:5]}"
        assert len(notes) == len(set(notes)), f"burst {trial}: a contribution was stored twice"
    with capsys.disabled():
        print(
            f"\nburst crash trials: {trials}, {BURST_PHONES} phones; acknowledged: {total_acked}, lost: 0; "
            f"stored in {changes} durable changes for {grouped} contributions"
        )
    assert total_acked >= trials * 20  # the phones did get to contribute before each kill
    assert changes < grouped  # phones posting at once shared their durable changes
