"""Progress bars on a terminal, silence in CI and in pipes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress_bar(
    items: Iterable[T], *, total: int | None = None, desc: str = "", enabled: bool = True
) -> Iterator[T]:
    """Iterate ``items`` with a bar on stderr when ``enabled``, stderr is a TTY and not in CI."""
    shown = enabled and sys.stderr.isatty() and not os.environ.get("CI")
    yield from tqdm(items, total=total, desc=desc, unit=" doc", disable=not shown, file=sys.stderr)
