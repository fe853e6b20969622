"""Rung's benchmarks: not tests. Each prints a table, writes bench/results/<name>.json and
compares against a baseline measured in the same run. Run from the repo root:

    python -m bench.startup [--quick]
    python -m bench.loop_overhead [--quick]
"""
