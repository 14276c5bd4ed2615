"""Tests of benchmarks/: each bench still runs."""
