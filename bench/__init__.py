"""Benchmarks: ``python -m bench.run`` (``make bench``) prints figures and writes bench/results/."""
