"""Run in a fresh process by the benchmark: start an app headless and report when it is ready.

    python bench/app_probe.py minimal
    python bench/app_probe.py citizen DATA [--overview]

Prints ``READY <seconds since the process began>`` once the first screen is drawn; with
``--overview`` it then opens the first study, waits for the overview's figures and prints
``OVERVIEW <seconds>``; last ``RSS <peak resident KiB>``.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import asyncio  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def since_start() -> float:
    # The process started a little before T0 (interpreter start); the parent times it from outside too.
    return time.perf_counter() - T0


def peak_rss_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def minimal() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Minimal(App):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("Hello")
            yield Footer()

    app = Minimal()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        print(f"READY {since_start():.4f}", flush=True)
    print(f"RSS {peak_rss_kib()}", flush=True)


async def citizen(data: Path, overview: bool) -> None:
    from textual.widgets import DataTable

    from citizen.tui.app import make_app

    app = make_app(data)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            table = app.screen.query_one("#studies-table", DataTable)
            assert table.row_count >= 1, "the studies list is empty"
            print(f"READY {since_start():.4f}", flush=True)
            if overview:
                await pilot.press("enter")
                for _ in range(2000):
                    await pilot.pause(0.005)
                    figures = app.screen.query("#figures-table")
                    if figures and figures.first(DataTable).row_count > 0:
                        break
                else:
                    raise SystemExit("the overview's figures never appeared")
                print(f"OVERVIEW {since_start():.4f}", flush=True)
        print(f"RSS {peak_rss_kib()}", flush=True)
    finally:
        app.data.close()


if __name__ == "__main__":
    if sys.argv[1] == "minimal":
        asyncio.run(minimal())
    else:
        asyncio.run(citizen(Path(sys.argv[2]), "--overview" in sys.argv))
