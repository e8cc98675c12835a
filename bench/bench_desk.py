"""The contributions screen on a large study: time to open it, to scroll to the end, to filter.

Targets (issue 7, item 2): opening the contributions screen at most 1.5x the start of a minimal
Textual app measured in the same run; scrolling to the end and applying a filter each under
100 ms. The study is generated through the project's own services (``create_demo``): 100,000
contributions, or 10,000 in quick mode.

Run alone: ``python -m bench.bench_desk [--quick]``.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

STUDY = "air-quality-walk"


def make_study(path: Path, contributions: int) -> None:
    from citizen.services.demo import create_demo
    from citizen.store import DataFolder

    with DataFolder(path) as data:
        create_demo(data, participants=max(100, contributions // 100), contributions=contributions, seed=1, study_id=STUDY)


async def _minimal_start() -> float:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Minimal(App):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("hello")
            yield Footer()

    start = time.perf_counter()
    async with Minimal().run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        took = time.perf_counter() - start
    return took


async def _desk_run(path: Path) -> dict[str, float]:
    """One fresh app on the study: open the contributions screen, go to the end, filter twice."""
    from textual.widgets import DataTable, Input, Select

    from citizen.tui.app import make_app
    from citizen.tui.screens.contributions import ContributionsScreen

    app = make_app(path, study_id=STUDY)
    out: dict[str, float] = {}
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()  # the overview has counted its figures
            await pilot.pause()
            start = time.perf_counter()
            await pilot.press("c")
            while not (
                isinstance(app.screen, ContributionsScreen) and app.screen.query_one("#contributions-table", DataTable).row_count
            ):
                await pilot.pause()
            out["open"] = time.perf_counter() - start
            screen = app.screen
            await app.workers.wait_for_complete()  # the filter index is built in the background
            await pilot.pause()
            out["ready"] = time.perf_counter() - start
            table = screen.query_one("#contributions-table", DataTable)
            start = time.perf_counter()
            await pilot.press("end")
            await pilot.pause()
            out["end"] = time.perf_counter() - start
            assert screen.start + table.cursor_row == len(screen.selection) - 1, "did not reach the end"
            start = time.perf_counter()
            screen.query_one("#filter-state", Select).value = "needs attention"
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            out["filter"] = time.perf_counter() - start
            assert screen.selection.filter.review_state == "needs attention"
            words = screen.query_one("#filter-text", Input)
            words.value = "station road"
            start = time.perf_counter()
            words.focus()
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            out["search"] = time.perf_counter() - start
            assert screen.selection.filter.text == "station road"
    finally:
        app.data.close()
    return out


def measurements(quick: bool) -> list[dict]:
    """Median figures of the contributions screen on a generated study, with their baselines."""
    count = 10_000 if quick else 100_000
    repeats = 3
    folder = Path(tempfile.mkdtemp(prefix="citizen-bench-desk-"))
    try:
        path = folder / "data"
        make_study(path, count)
        minimal = [asyncio.run(_minimal_start()) for _ in range(repeats)]
        runs = [asyncio.run(_desk_run(path)) for _ in range(repeats)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = statistics.median(minimal)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    n = f"{count:,}"
    rows = [
        {
            "measure": f"open contributions screen ({n})",
            "ours": med("open") * 1000,
            "baseline": "minimal Textual app start",
            "base": base * 1000,
            "unit": "ms",
            "target": "<= 1.5x base",
            "ok": med("open") <= 1.5 * base,
        },
        {
            "measure": f"contributions screen ready to filter ({n})",
            "ours": med("ready") * 1000,
            "baseline": "minimal Textual app start",
            "base": base * 1000,
            "unit": "ms",
            "target": "reported",
            "ok": True,
        },
        {
            "measure": f"scroll to the end ({n})",
            "ours": med("end") * 1000,
            "baseline": "target",
            "base": 100.0,
            "unit": "ms",
            "target": "< 100 ms",
            "ok": med("end") < 0.1,
        },
        {
            "measure": f"filter by review state ({n})",
            "ours": med("filter") * 1000,
            "baseline": "target",
            "base": 100.0,
            "unit": "ms",
            "target": "< 100 ms",
            "ok": med("filter") < 0.1,
        },
        {
            "measure": f"search words in answers ({n})",
            "ours": med("search") * 1000,
            "baseline": "target",
            "base": 100.0,
            "unit": "ms",
            "target": "< 100 ms",
            "ok": med("search") < 0.1,
        },
    ]
    return rows


def main(argv: list[str]) -> int:
    rows = measurements("--quick" in argv)
    print(f"{'measure':46} {'ours':>9} {'base':>9} {'ratio':>6}  target        ok")
    for r in rows:
        ratio = r["ours"] / r["base"] if r["base"] else float("nan")
        print(
            f"{r['measure']:46} {r['ours']:8.1f}{r['unit']} {r['base']:7.1f}{r['unit']} {ratio:6.2f}  "
            f"{r['target']:13} {'yes' if r['ok'] else 'NO'}"
        )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
