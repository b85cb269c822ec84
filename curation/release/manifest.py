"""The manifest of a released benchmark: the SHA-256 and size of every data file.

``manifest.json`` lists each file below the release folder's ``data/`` by its path relative
to the release folder. An evaluator (or :func:`verify`) recomputes the hashes to make sure
the files they hold are the released ones, whatever way they were fetched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curation.io import file_sha256


def build(folder: Path, data_dir: str = "data") -> dict[str, Any]:
    """``{"files": {path: {"sha256", "bytes"}}}`` of every file below ``folder/data_dir``."""
    files = sorted(p for p in (folder / data_dir).rglob("*") if p.is_file())
    return {
        "algorithm": "sha256",
        "files": {
            p.relative_to(folder).as_posix(): {"sha256": file_sha256(p), "bytes": p.stat().st_size}
            for p in files
        },
    }


def write(folder: Path, manifest: dict[str, Any]) -> Path:
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def verify(folder: Path, manifest: dict[str, Any] | None = None) -> list[str]:
    """Problems with the files of a release: missing, modified (hash or size), or unlisted.

    An empty list means every file is the released one.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()); (root / "data").mkdir()
    >>> _ = (root / "data" / "test.jsonl").write_text("{}\\n")
    >>> _ = write(root, build(root))
    >>> verify(root)
    []
    >>> _ = (root / "data" / "test.jsonl").write_text("{ }\\n")
    >>> verify(root)
    ['data/test.jsonl: modified (sha256 differs from manifest.json)']
    """
    if manifest is None:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed: dict[str, dict[str, Any]] = manifest.get("files", {})
    problems = []
    for name, entry in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
            problems.append(f"{name}: modified (sha256 differs from manifest.json)")
    data_dirs = {name.split("/", 1)[0] for name in listed} or {"data"}
    for data_dir in sorted(data_dirs):
        for path in sorted((folder / data_dir).rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.is_file() and name not in listed:
                problems.append(f"{name}: not in manifest.json")
    return problems
