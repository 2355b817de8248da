"""Benchmarks: each `bench_*.py` module measures one goal as a ratio against a baseline in the same run."""
