"""Benchmark releases: splits, export formats and the HTML report of each version."""
