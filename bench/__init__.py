"""Benchmarks at national scale (`make bench`); not part of the test run."""
