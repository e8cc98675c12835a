"""Starting the terminal app: the studies list is drawn from what is stored beside the records (the
study record, the counts kept per segment), in a fresh process that loads neither the web server,
the exports, the sync client, the QR codes nor the record models, and reads no contribution.
Counted (modules, segment files read), never timed; the times are in bench/bench_tmux.py."""

from __future__ import annotations

import json
import subprocess
import sys

from citizen.services.demo import create_demo
from citizen.store import DataFolder

from .support.commands import use_small_segments

# Run in a fresh process, as `citizen --data DATA` starts: the command line is parsed by the real
# parser (every command registered), then the app is started headless and left on its first screen.
START = """
import asyncio, json, sys
from pathlib import Path
from citizen.store import segments, derived, store
tables = dict(store.TABLES)
for name in ("contributions", "audit", "consent_events", "participants"):
    tables[name] = (20, tables[name][1])
store.TABLES = tables
reads = {}
def counting(load):
    def read(path, table):
        reads[table] = reads.get(table, 0) + 1
        return load(path, table)
    return read
segments.load_segment = counting(segments.load_segment)
derived.load_segment = counting(derived.load_segment)

from citizen.cli import build_parser
args = build_parser().parse_args(["--data", sys.argv[1]])
assert args.run.__name__ == "cmd_open", args.run

async def first_screen():
    from citizen.tui.app import make_app
    app = make_app(Path(args.data))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#studies-table")
        row = [str(cell) for cell in table.get_row_at(0)]
        name = type(app.screen).__name__
    app.data.close()
    return name, row

screen, row = asyncio.run(first_screen())
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("aiohttp", "jinja2", "qrcode", "pydantic")
                or m.startswith(("citizen.export", "citizen.sync.", "citizen.web")))
print(json.dumps({"screen": screen, "row": row, "loaded": loaded, "reads": reads}))
"""


def test_the_first_screen_loads_no_heavy_module_and_reads_no_contribution(monkeypatch, data_path, run_env):
    use_small_segments(monkeypatch, 20)
    with DataFolder(data_path) as data:
        study = create_demo(data, participants=30, contributions=300, seed=3)
        live = study.repo.contribution_count()
        segments = len(study.store.table("contributions").segment_numbers())
    assert live == 300 and segments > 10
    out = subprocess.run([sys.executable, "-c", START, str(data_path)], env=run_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["screen"] == "StudiesScreen"
    # The line a person reads: the title, status and both counts, as stored.
    assert seen["row"][0] == study.repo.study().title and seen["row"][2:4] == ["30", "300"]
    assert seen["loaded"] == []  # not aiohttp, jinja2, qrcode, pydantic, the export, sync or web packages
    assert seen["reads"].get("contributions", 0) == 0
    # Without the kept counts (lost, or from an older citizen) they are made again from the
    # segments, once, and the list says the same.
    (data_path / "studies" / study.id / "contributions" / "summary.cache").unlink()
    out = subprocess.run([sys.executable, "-c", START, str(data_path)], env=run_env, capture_output=True, text=True, timeout=300)
    again = json.loads(out.stdout.strip().splitlines()[-1])
    assert again["row"] == seen["row"] and again["reads"]["contributions"] == segments
