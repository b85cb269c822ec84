"""Benchmark releases: splits, export formats and the HTML report of each version."""


class ReleaseRefused(RuntimeError):
    """The release cannot be made (gates failed, wrong version, no gold); the message says why."""
