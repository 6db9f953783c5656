"""Benchmark harness: `make bench`."""
