"""The benchmark runner gathers rows from every bench module and skips a failing one with a note."""

from __future__ import annotations

import sys
import types

import pytest

bench_main = pytest.importorskip("bench.__main__")


def test_rows_from_modules_are_tabled_and_a_failing_module_is_skipped(monkeypatch, capsys):
    from bench import core

    monkeypatch.setattr(
        core,
        "measurements",
        lambda quick, note=print: [
            {
                "measure": "durable add",
                "ours": 2.0,
                "baseline": 400.0,
                "base": "stock TinyDB insert",
                "unit": "ms",
                "target": ">= 100x faster",
                "ok": True,
            }
        ],
    )
    good = types.ModuleType("bench.bench_good")
    good.measurements = lambda quick: [
        {"measure": "export", "ours": 3.0, "baseline": 1.0, "base": "csv module", "unit": "s", "target": "<= 2x", "ok": False}
    ]
    broken = types.ModuleType("bench.bench_broken")

    def fails(quick):
        raise RuntimeError("no server")

    broken.measurements = fails
    monkeypatch.setitem(sys.modules, "bench.bench_good", good)
    monkeypatch.setitem(sys.modules, "bench.bench_broken", broken)
    monkeypatch.setattr(bench_main, "extra_modules", lambda: ["bench.bench_broken", "bench.bench_good"])
    assert bench_main.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "| durable add" in out and "0.005x (1/200)" in out and "| yes" in out
    assert "| export" in out and "3.00x" in out and "| NO" in out
    assert "bench.bench_broken skipped: RuntimeError: no server" in out
    assert "Targets missed: export" in out
