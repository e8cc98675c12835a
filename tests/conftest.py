"""Shared fixtures: a fresh data folder per test, the demo study, and the protocol file."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from citizen.services.demo import DEMO_FILE, studies_folder
from citizen.store import DataFolder

from .support.commands import ROOT

# The key that seals invite links on "this laptop": one for the test session, never the user's own
# (commands the tests start inherit it).
os.environ["CITIZEN_KEY_FILE"] = str(Path(tempfile.mkdtemp(prefix="citizen-test-key-")) / "key")


@pytest.fixture
def data_path(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def data(data_path: Path):
    folder = DataFolder(data_path)
    yield folder
    folder.close()


@pytest.fixture
def demo_file() -> Path:
    return studies_folder() / DEMO_FILE


@pytest.fixture
def study(data, demo_file):
    """The demo protocol as a fresh study with nobody enrolled yet."""
    from citizen.services import import_protocol

    return import_protocol(data, demo_file, "Amina Yusuf")


@pytest.fixture
def invite(study):
    """An open invite to the demo study, as a poster in a library would carry."""
    from citizen.services import create_invite

    return create_invite(study, "library poster", "Amina Yusuf")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A data folder holding the generated demo study, made once and copied per test."""
    from citizen.services.demo import create_demo

    path = tmp_path_factory.mktemp("demo-template") / "data"
    with DataFolder(path) as folder:
        create_demo(folder, participants=40, contributions=200, seed=7)
    return path


@pytest.fixture
def demo_data_path(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo-data"
    shutil.copytree(demo_template, path)
    (path / ".lock").unlink(missing_ok=True)
    return path


@pytest.fixture
def run_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CITIZEN_HOME", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory):
    """One PouchDB Server for the sync tests (each test uses a database of its own)."""
    from .support.hub import PouchServer, hub_missing

    if reason := hub_missing():
        pytest.skip(reason)
    server = PouchServer(tmp_path_factory.mktemp("pouchdb-server")).start()
    yield server
    server.stop()


@pytest.fixture
def hub_db(hub_server) -> str:
    """The address of a new, empty database on the hub."""
    return hub_server.new_db()


def pytest_sessionfinish(session, exitstatus):
    """Under .ci/run (CITIZEN_NO_SKIPS=1) a skipped test fails the run: CI installs every tool, so nothing may skip."""
    if os.environ.get("CITIZEN_NO_SKIPS") != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.ensure_newline()
        reporter.write_line(f"CITIZEN_NO_SKIPS: {len(skipped)} test(s) skipped; CI must run them all.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
