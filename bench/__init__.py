"""Benchmarks: `make bench` (or `python -m bench [generate|search]`). Each prints its figures
and a ratio against a baseline measured in the same run. Not part of the test suite."""
