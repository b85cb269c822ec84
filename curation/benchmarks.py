"""Load a released benchmark at a fixed version, from this repository or any other, via DVC.

For evaluators who never run the pipeline::

    from curation import benchmarks
    bench = benchmarks.load("pseudonymisation", rev="pseudonymisation@v1.0.0",
                            repo="https://git.example.org/curation.git")
    bench.records, bench.texts      # the test split: gold records and their texts

``rev`` is any git revision (a release tag ``<use_case>@vX.Y.Z``, a commit, a branch);
``repo`` a git URL or local path (``None``: the repository this runs in; with ``rev=None``,
its working tree). Files go through :func:`dvc.api.open`, so data comes from the DVC remote
recorded at that revision. Every file read is checked against the release's
``manifest.json``: a modified or truncated file is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import dvc.api

from curation import paths
from curation.io import record_from_dict
from curation.schema import Record


class BenchmarkError(ValueError):
    """A benchmark cannot be loaded as released (missing, or not matching its manifest)."""


@dataclass(slots=True)
class Benchmark:
    """One split of a released benchmark."""

    use_case: str
    version: str
    split: str
    records: list[Record]
    texts: dict[str, str]
    rev: str | None = None
    repo: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _read(path: str, repo: str | None, rev: str | None, mode: str = "r") -> Any:
    try:
        return dvc.api.read(path, repo=repo, rev=rev, mode=mode)
    except Exception as exc:  # dvc raises many types (missing rev, file, remote)
        where = f"{repo or '.'}@{rev or 'workspace'}"
        raise BenchmarkError(f"{path} at {where}: {type(exc).__name__}: {exc}") from None


def load(
    use_case: str, rev: str | None = None, repo: str | None = None, split: str = "test"
) -> Benchmark:
    """The ``split`` of ``use_case``'s benchmark at ``rev`` of ``repo``, checked against its
    manifest."""
    folder = paths.benchmark_dir(use_case).as_posix()
    info = json.loads(_read(f"{folder}/release.json", repo, rev))
    listed = json.loads(_read(f"{folder}/manifest.json", repo, rev))["files"]
    name = f"data/{split}.jsonl"
    if name not in listed:
        raise BenchmarkError(f"{folder}: no split {split!r} in release v{info.get('version')}")
    raw: bytes = _read(f"{folder}/{name}", repo, rev, mode="rb")
    if hashlib.sha256(raw).hexdigest() != listed[name]["sha256"]:
        raise BenchmarkError(f"{folder}/{name}: sha256 differs from manifest.json; refetch it")
    records, texts = [], {}
    # "\n" only: str.splitlines would also cut at U+2028 and others, legal inside JSON strings
    for number, line in enumerate(raw.decode("utf-8").split("\n"), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        texts[str(data["doc_id"])] = str(data.pop("text"))
        records.append(record_from_dict(data, f"{folder}/{name}:{number}"))
    return Benchmark(use_case, str(info["version"]), split, records, texts, rev, repo, info)


def baseline(bench: Benchmark, name: str) -> list[Record]:
    """The predictions of a registered baseline released with the benchmark."""
    folder = paths.benchmark_dir(bench.use_case).as_posix()
    name_in_manifest = f"data/baselines/{name}.jsonl"
    listed = json.loads(_read(f"{folder}/manifest.json", bench.repo, bench.rev))["files"]
    if name_in_manifest not in listed:
        raise BenchmarkError(f"{folder}: no baseline {name!r} in release v{bench.version}")
    raw: bytes = _read(f"{folder}/{name_in_manifest}", bench.repo, bench.rev, mode="rb")
    if hashlib.sha256(raw).hexdigest() != listed[name_in_manifest]["sha256"]:
        raise BenchmarkError(f"{folder}/{name_in_manifest}: sha256 differs from manifest.json")
    return [
        record_from_dict(json.loads(line), f"baseline {name}:{n}")
        for n, line in enumerate(raw.decode("utf-8").split("\n"), 1)
        if line.strip()
    ]
