"""`citizen sync` and `citizen study clone` from the command line: credentials, progress, summary."""

from __future__ import annotations

import subprocess

import pytest
from yarl import URL

from citizen.sync.client import HubError, split_url, warnings_for

from .support.bundles import STUDY
from .support.commands import citizen_command
from .support.hub_proxy import HubProxy


@pytest.fixture
def guarded(hub_server):
    """The hub behind a door that asks for a user name and password."""
    proxy = HubProxy(hub_server.base, login=("amina", "s3cret horse")).start()
    yield proxy
    proxy.stop()


def run(args, env, **kw):
    return subprocess.run(citizen_command() + args, env=env, capture_output=True, text=True, timeout=120, **kw)


def test_sync_and_clone_from_the_command_line(demo_data_path, tmp_path, guarded, hub_server, run_env):
    url = guarded.base + "/" + hub_server.new_db().rsplit("/", 1)[1]
    env = dict(run_env, CITIZEN_SYNC_PASSWORD="s3cret horse")
    done = run(["--data", str(demo_data_path), "sync", STUDY, url, "--user", "amina"], env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "Sending:" in done.stdout
    assert f"Synced '{STUDY}' with {url} in" in done.stdout and "documents sent, 0 received, 0 conflicts resolved" in done.stdout
    again = run(["--data", str(demo_data_path), "sync", STUDY], env)  # the hub and user are remembered
    assert again.returncode == 0 and "0 documents sent, 0 received" in again.stdout
    other = tmp_path / "other"
    cloned = run(["--data", str(other), "study", "clone", url.replace("http://", "http://amina@"), "--id", "walk-copy"], env)
    assert cloned.returncode == 0, cloned.stderr
    assert "received" in cloned.stdout and "amina@" not in cloned.stdout
    listed = run(["--data", str(other), "study", "list"], env)
    assert listed.stdout.split() == ["walk-copy"]
    back = run(["--data", str(other), "sync", "walk-copy"], env)
    assert back.returncode == 0 and "0 documents sent, 0 received" in back.stdout, back.stdout + back.stderr
    for folder in (demo_data_path, other):
        stored = b"".join(p.read_bytes() for p in (folder / "sync").rglob("*") if p.is_file())
        assert b"s3cret" not in stored


def test_wrong_password_and_no_password_are_plain_refusals(demo_data_path, guarded, hub_server, run_env):
    url = guarded.base + "/" + hub_server.new_db().rsplit("/", 1)[1]
    env = dict(run_env, CITIZEN_SYNC_PASSWORD="wrong")
    done = run(["--data", str(demo_data_path), "sync", STUDY, url, "--user", "amina"], env)
    assert done.returncode == 1
    assert done.stderr.startswith("citizen: The hub at ") and "refused the user name or password (401" in done.stderr
    assert "Traceback" not in done.stderr
    env.pop("CITIZEN_SYNC_PASSWORD")
    done = run(["--data", str(demo_data_path), "sync", STUDY, url, "--user", "amina"], env, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and "No password for amina: set CITIZEN_SYNC_PASSWORD" in done.stderr


def test_addresses_are_shown_without_password_and_plain_http_is_warned():
    url, user, password = split_url("https://amina:pw@hub.example.org/northgate-air/")
    assert (str(url), user, password) == ("https://hub.example.org/northgate-air", "amina", "pw")
    assert warnings_for(url) == []
    assert warnings_for(URL("http://127.0.0.1:5984/x")) == [] and warnings_for(URL("http://localhost/x")) == []
    warned = warnings_for(URL("http://hub.example.org/northgate-air"))
    assert warned and "unencrypted" in warned[0] and "https://" in warned[0]
    for bad in ("ftp://hub/x", "https://hub.example.org", "https://hub.example.org/a/b", "not a url"):
        with pytest.raises(HubError):
            split_url(bad)
