"""Benchmarks, run on demand: ``python -m bench [--quick]`` prints medians against baselines.

Each figure is measured several times and set beside a baseline measured in the same run on the
same machine, because absolute times on a shared 2-core laptop drift; ratios are what count.
Extra modules ``bench/bench_*.py`` add rows with ``def measurements(quick: bool) -> list[dict]``.
"""
