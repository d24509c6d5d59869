"""Benchmarks: ``coach bench`` (landmarker and pipeline speed, memory)."""
