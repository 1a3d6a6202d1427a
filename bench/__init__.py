"""Benchmarks run by hand (`make bench-read`): dev tools, never deployed."""
