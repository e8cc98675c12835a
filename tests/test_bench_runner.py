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
    assert bench_main.main(["--quick", "--only", "core,bench_broken,bench_good"]) == 0
    out = capsys.readouterr().out
    assert "| durable add" in out and "0.005x (1/200)" in out and "| yes" in out
    assert "| export" in out and "3.00x" in out and "| NO" in out
    assert "bench.bench_broken skipped: RuntimeError: no server" in out
    assert "Targets missed: export" in out


def test_the_growth_table_shows_size_and_peak_and_bad_options_are_refused(monkeypatch, capsys):
    from bench import growth

    def first_page(sizes, quick):
        return [
            growth.row("first page", n, 40.0 + n / 1000, 5.0, "the same page again", "ms", "< 100 ms", True, 60.0) for n in sizes
        ]

    monkeypatch.setitem(growth.RUNS, "first-page", first_page)
    monkeypatch.setenv("CITIZEN_BENCH_SIZES", "")  # restored after the test: main sets it
    assert bench_main.main(["--size", "1000", "--size", "10000", "--only", "first-page"]) == 0
    out = capsys.readouterr().out
    assert "| Size " in out and "| Peak MiB |" in out
    assert "| first page | 1,000  | 41.0 ms" in out and "| first page | 10,000 | 50.0 ms" in out
    assert "| 60.0 " in out
    for bad, said in (
        (["--only", "first-paige"], "--only: unknown first-paige"),
        (["--from", "100000=/nowhere/at/all"], "--from 100000=/nowhere/at/all: expected N=DATA"),
    ):
        with pytest.raises(SystemExit) as stopped:
            bench_main.main(bad)
        assert stopped.value.code == 2
        assert said in capsys.readouterr().err
