"""Semantic versions of a benchmark: what a change requires, and whether a version says it.

A benchmark version is ``MAJOR.MINOR.PATCH``:

- **major** when the test split changes (a document added to, removed from or moved out of
  it) or the label set changes: scores on two majors are not comparable;
- **minor** when train or dev change and the test split does not;
- **patch** when only documentation or metadata change (card, report, baselines).

>>> required_bump({"test_touched": True}, labels_changed=False, data_changed=True)
'major'
>>> check_version("1.2.0", "1.1.3", "minor")
>>> check_version("1.1.4", "1.1.3", "minor")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: version 1.1.4 after 1.1.3 is a patch release, but the changes need a minor bump ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
LEVELS = ("patch", "minor", "major")


def parse(version: str) -> tuple[int, int, int]:
    """``(major, minor, patch)`` of ``X.Y.Z``; a ValueError says the expected shape."""
    found = _SEMVER.match(version)
    if not found:
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH (e.g. 1.0.0)")
    major, minor, patch = (int(g) for g in found.groups())
    return major, minor, patch


def required_bump(changes: Mapping[str, Any], labels_changed: bool, data_changed: bool) -> str:
    """The least bump the changes since the previous version need."""
    if changes.get("test_touched") or labels_changed:
        return "major"
    return "minor" if data_changed else "patch"


def bump_of(version: str, previous: str) -> str | None:
    """Which part ``version`` raises over ``previous`` (``None``: not greater)."""
    new, old = parse(version), parse(previous)
    if new <= old:
        return None
    if new[0] > old[0]:
        return "major"
    return "minor" if new[1] > old[1] else "patch"


def next_version(previous: str, bump: str) -> str:
    major, minor, patch = parse(previous)
    if bump == "major":
        return f"{major + 1}.0.0"
    return f"{major}.{minor + 1}.0" if bump == "minor" else f"{major}.{minor}.{patch + 1}"


def check_version(version: str, previous: str | None, required: str) -> None:
    """Raise ValueError when ``version`` does not follow ``previous`` with ``required``."""
    parse(version)
    if previous is None:
        return
    bump = bump_of(version, previous)
    if bump is None:
        raise ValueError(f"version {version} is not greater than the released {previous}")
    if LEVELS.index(bump) < LEVELS.index(required):
        raise ValueError(
            f"version {version} after {previous} is a {bump} release, but the changes need a "
            f"{required} bump (at least {next_version(previous, required)})"
        )


def changelog_entry(
    version: str, previous: str | None, changes: dict[str, Any], splits: dict[str, int]
) -> str:
    if previous is None:
        sizes = ", ".join(f"{k} {v}" for k, v in splits.items())
        return f"First release ({sizes} documents)."
    lines = [f"Since v{previous}:"]
    for kind in ("added", "removed"):
        for split, ids in changes.get(kind, {}).items():
            lines.append(f"- {len(ids)} documents {kind} ({split})")
    for split, moved in changes.get("moved", {}).items():
        lines.append(f"- {len(moved)} documents moved out of {split}")
    touched = "touched" if changes.get("test_touched") else "untouched"
    lines.append(f"- test split {touched}")
    return "\n".join(lines)
