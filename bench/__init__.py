"""Benchmarks: each prints ratios against its budget and a baseline measured in the same run."""
