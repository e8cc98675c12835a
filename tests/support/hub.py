"""PouchDB Server as the hub for the sync tests: started on a free port, in memory, on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from .commands import ROOT

SERVER = ROOT / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
_names = itertools.count(1)


class ThreadedApp:
    """An aiohttp application on its own event loop in a thread, so a test can sync through it
    with ``asyncio.run``; a subclass answers every request in ``_handle``."""

    def start(self):
        from aiohttp import web

        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            app = web.Application(client_max_size=256 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        self.started()
        return self

    def started(self) -> None:
        pass

    async def _handle(self, request):
        raise NotImplementedError

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def hub_missing() -> str | None:
    """Why no hub can run on this machine (None when one can): node, and PouchDB from `npm install`."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs): the sync tests run PouchDB Server on it"
    if not SERVER.exists() or not (ROOT / "node_modules" / "pouchdb").is_dir():
        return "PouchDB Server is not installed: run `npm install` at the repository root"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PouchServer:
    """One PouchDB Server process, its folder (config.json, log.txt) and its address."""

    def __init__(self, folder: Path, port: int = 0):
        self.folder = folder
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> PouchServer:
        node = shutil.which("node")
        if node is None or not SERVER.exists():
            raise RuntimeError("PouchDB Server is not installed: run `npm install` in the repository")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [node, str(SERVER), "-m", "-p", str(self.port), "-o", "127.0.0.1", "-n"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"PouchDB Server stopped at start (exit {self.proc.returncode})")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise RuntimeError("PouchDB Server did not answer in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def new_db(self, stem: str = "study") -> str:
        return f"{self.base}/{stem}-{next(_names)}"


def get(url: str) -> dict:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def send(url: str, body: dict, method: str = "PUT") -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def all_docs(db: str) -> dict[str, dict]:
    """Every document on the hub (winning revisions), by id."""
    rows = get(db + "/_all_docs?include_docs=true&conflicts=true")["rows"]
    return {r["id"]: r["doc"] for r in rows}
