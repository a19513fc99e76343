"""Benchmarks: run each as `python -m bench.NAME`; results go to bench/results/."""
