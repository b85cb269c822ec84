"""Publishing a release: DVC tracking and push, git commit and tag, provenance.

The data folder is tracked by DVC (``dvc add``: ``data.dvc`` in git, files in the cache)
and pushed to the default remote; the tag ``<use_case>@vX.Y.Z`` is what ``dvc artifacts get``
and ``dvc.api`` resolve. Commands run through the ``git`` and ``dvc`` executables, as a
steward would type them, so that hooks and configuration apply.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.io import file_sha256, read_records
from curation.release import ReleaseRefused
from curation.settings import Params
from curation.studio.projects import ProjectStore
from curation.usecases.base import UseCase


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseRefused(f"git {' '.join(args)} failed: {done.stderr.strip()[:300]}")
    return done.stdout.strip()


def dvc(*args: str) -> None:
    done = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseRefused(f"dvc {' '.join(args)} failed: {done.stderr.strip()[:300]}")


def provenance(use_case: UseCase, params: Params, baselines: dict[str, str]) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    projects = ProjectStore(params.push.store).read()
    origins = {}
    for name, path in baselines.items():
        first = next(iter(read_records(path)), None) if Path(path).exists() else None
        origins[f"baseline {name}"] = first.origin if first else None
    return {
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": commit.stdout.strip() or None,
        "use_case_declaration": use_case.version,
        "label_studio_projects": {
            key: pid
            for server in projects.values()
            for key, pid in server.items()
            if key.startswith(f"{use_case.id}@")
        },
        "params_sha256": file_sha256(Path("params.yaml")) if Path("params.yaml").exists() else None,
        **origins,
    }


def digest(built: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(built["files"], sort_keys=True).encode("utf-8")).hexdigest()


def track(folder: Path, push: bool) -> None:
    """``dvc add`` the data folder (and push it to the default remote when asked)."""
    if not Path(".dvc").exists():
        return
    dvc("add", "-q", str(folder / "data"))
    if push and subprocess.run(["dvc", "remote", "default"], capture_output=True).returncode == 0:
        dvc("push", "-q", str(folder / "data.dvc"))


def tag(folder: Path, use_case_id: str, version: str) -> str:
    """Commit the release folder (and ``dvc.lock``) and tag it; an existing tag is kept."""
    name = f"{use_case_id}@v{version}"
    if (
        subprocess.run(
            ["git", "rev-parse", "-q", "--verify", f"refs/tags/{name}"], capture_output=True
        ).returncode
        == 0
    ):
        return name
    git("add", str(folder))
    staged = subprocess.run(["git", "diff", "--cached", "--quiet"]).returncode != 0
    if staged:
        git("commit", "-q", "-m", f"Release {use_case_id} v{version}")
    git("tag", "-a", name, "-m", f"{use_case_id} benchmark v{version}")
    return name
