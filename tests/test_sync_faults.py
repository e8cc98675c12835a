"""A sync that meets trouble: a cut in mid-batch, a 401, a 5xx, a malformed answer, a stopped hub,
a kill -9 of citizen mid-sync. Each time: a plain message, nothing lost, nothing doubled, and the
next sync goes on from the last checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from citizen.services.demo import create_demo
from citizen.store import DataFolder
from citizen.sync.client import HubError

from .support.bundles import STUDY, laptop_folder, study_of
from .support.commands import citizen_command
from .support.hub import PouchServer, get
from .support.hub_proxy import Fault, HubProxy
from .support.sync import FAST, clone, differences, hub_rows, sync


@pytest.fixture(scope="module")
def big_template(tmp_path_factory):
    """A study of some 2,000 documents, made once."""
    path = tmp_path_factory.mktemp("sync-big") / "data"
    with laptop_folder(path, "AC") as folder:
        create_demo(folder, participants=60, contributions=1500, seed=11)
    return path


@pytest.fixture
def big(big_template, tmp_path):
    import shutil

    path = tmp_path / "big"
    shutil.copytree(big_template, path)
    (path / ".lock").unlink(missing_ok=True)
    folder = DataFolder(path)
    yield folder
    folder.close()


@pytest.fixture
def proxy(hub_server):
    p = HubProxy(hub_server.base).start()
    yield p
    p.stop()


def db_of(proxy: HubProxy, hub_db: str) -> str:
    return proxy.base + "/" + hub_db.rsplit("/", 1)[1]


def journal(folder: DataFolder) -> bytes:
    return study_of(folder).store.journal.path.read_bytes()


def all_on_hub_once(folder: DataFolder, hub_db: str) -> None:
    """Every record of the laptop is on the hub, at its first revision: nothing doubled, nothing lost."""
    rows = hub_rows(hub_db)
    contributions = [r for i, r in rows.items() if i.startswith("contribution:")]
    assert len(contributions) == sum(1 for _ in study_of(folder).store.table("contributions"))
    assert all(r["value"]["rev"].startswith("1-") and "_conflicts" not in r["doc"] for r in rows.values())


def test_a_cut_in_mid_batch_loses_nothing_and_the_next_sync_sends_little_again(big, proxy, hub_db):
    total = sum(1 for t in ("participants", "consent_events", "contributions", "audit") for _ in study_of(big).store.table(t))
    batches = total // 100
    cut = Fault("_bulk_docs", "cut", after=int(batches * 0.9))
    proxy.faults.append(cut)
    with pytest.raises(HubError, match="Cannot reach the hub .*the connection was cut"):
        sync(big, db_of(proxy, hub_db), batch=100)
    assert cut.seen > cut.after  # the hub took in 90% of the study before the cut
    proxy.faults.clear()
    again = sync(big, db_of(proxy, hub_db), batch=100)
    assert 0 < again.pushed < 0.15 * total
    all_on_hub_once(big, hub_db)
    assert sync(big, hub_db).pushed == 0


def test_a_401_says_so_and_changes_nothing(big, proxy, hub_db):
    proxy.login = ("amina", "right horse battery")
    before = journal(big)
    with pytest.raises(HubError, match="refused the user name or password"):
        sync(big, db_of(proxy, hub_db))
    assert journal(big) == before
    from citizen.sync.run import HubLogin

    login = HubLogin(db_of(proxy, hub_db), "amina", "right horse battery", FAST)
    import asyncio

    from citizen.sync.run import sync_study

    report = asyncio.run(sync_study(big, STUDY, login))
    assert report.pushed > 1000
    text = b"".join(p.read_bytes() for p in (big.path / "sync").rglob("*") if p.is_file())
    assert b"right horse battery" not in text and b"amina" in text  # the user name is remembered, never the password


def test_a_5xx_is_tried_again_then_reported_plainly(big, proxy, hub_db):
    proxy.faults.append(Fault("_revs_diff", "500", after=2, times=1))  # once: the retry gets through
    first = sync(big, db_of(proxy, hub_db), hub_options={"retries": 2, "retry_delay": 0.01})
    assert first.pushed > 1000
    from citizen.services import post_update

    post_update(study_of(big), "Thanks", {"en": "We walked 100 km."}, "Amina Yusuf")
    proxy.faults.append(Fault("_bulk_docs", "500"))  # always
    with pytest.raises(HubError, match=r"failed while writing documents \(500"):
        sync(big, db_of(proxy, hub_db))
    proxy.faults.clear()
    assert sync(big, db_of(proxy, hub_db)).pushed == 2  # the update and its activity log entry
    all_on_hub_once(big, hub_db)


def test_a_malformed_answer_is_refused_and_nothing_is_written(big, tmp_path, proxy, hub_db):
    sync(big, hub_db)
    other = laptop_folder(tmp_path / "other", "DE")
    proxy.faults.append(Fault("_changes", "garbage"))
    with pytest.raises(HubError, match="not what CouchDB sends"):
        clone(other, db_of(proxy, hub_db))
    before = journal(other)
    with pytest.raises(HubError, match="not what CouchDB sends"):
        sync(other, db_of(proxy, hub_db))
    assert journal(other) == before
    proxy.faults.clear()
    sync(other, db_of(proxy, hub_db))
    assert differences(big, other) == []
    other.close()


def test_a_stopped_hub_gets_a_plain_message(big, tmp_path):
    server = PouchServer(tmp_path / "hub").start()
    url = server.new_db()
    sync(big, url)
    server.stop()
    before = journal(big)
    with pytest.raises(HubError, match=r"Cannot reach the hub at http://127\.0\.0\.1:\d+/study-\d+ .*connection"):
        sync(big, url)
    assert journal(big) == before


def test_kill_9_mid_sync_then_the_next_sync_resumes(big_template, tmp_path, hub_db, run_env):
    import shutil

    data = tmp_path / "killed"
    shutil.copytree(big_template, data)
    (data / ".lock").unlink(missing_ok=True)
    cmd = citizen_command() + ["--data", str(data), "sync", STUDY, hub_db]
    proc = subprocess.Popen(cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if get(hub_db)["doc_count"] >= 600:
                break
        except OSError:
            pass
        time.sleep(0.02)
    assert proc.poll() is None, "the sync ended before it could be stopped"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    sent = get(hub_db)["doc_count"]
    done = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "documents sent" in done.stdout
    with DataFolder(data) as folder:
        all_on_hub_once(folder, hub_db)
        assert get(hub_db)["doc_count"] >= sent
        again = sync(folder, hub_db)
        assert (again.pushed, again.pulled) == (0, 0)
