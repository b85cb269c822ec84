"""A folder of ``.txt`` files, one document per file (``ingest.source.kind: files``).

Hospital file names often hold the patient's name (``DUPONT_Jean_CRH.txt``), so a file's
path never becomes its ``doc_id`` and never goes to a log: the ``doc_id`` is a hash of the
relative path, and the path itself is kept only as the record's location in the quarantine
file (which stays beside the raw data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from curation.settings import SourceSettings
from curation.sources.base import Problem, RawRecord, Reason, SourceError


def file_doc_id(relative_path: str) -> str:
    """Stable ``doc_id`` of a file: ``txt-`` and 16 hex digits of the SHA-1 of its path.

    The path is relative to the source folder and written with ``/``, so the id does not
    depend on where the folder is mounted or on the operating system. SHA-1 is used as a
    fingerprint, not for security.

    Examples
    --------
    >>> file_doc_id("2024/cardiologie/crh_0001.txt")
    'txt-0892397204caf794'
    """
    digest = hashlib.sha1(relative_path.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"txt-{digest[:16]}"


def read_files(settings: SourceSettings) -> Iterator[RawRecord]:
    """Yield one record per file of ``settings.path`` matching ``settings.glob``.

    Files come in the order of their relative POSIX paths (deterministic output), as raw
    bytes: their encoding is detected at ingest. The folder is checked before anything is
    yielded.

    Raises
    ------
    SourceError
        The folder does not exist, is not a folder, or no file matches the glob.
    """
    root = Path(settings.path or "")
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise SourceError(
            f"files source {root} {what}; set ingest.source.path to the folder of .txt files"
        )
    paths = sorted(
        (p.relative_to(root).as_posix(), p) for p in root.glob(settings.glob) if p.is_file()
    )
    if not paths:
        raise SourceError(
            f"no file under {root} matches {settings.glob!r}; check ingest.source.path and "
            "ingest.source.glob"
        )
    return _iter_files(paths)


def _iter_files(paths: list[tuple[str, Path]]) -> Iterator[RawRecord]:
    for index, (relative, path) in enumerate(paths, start=1):
        doc_id = file_doc_id(relative)
        record = RawRecord(location=relative, log_ref=doc_id, fields={"doc_id": doc_id})
        try:
            record.raw = path.read_bytes()
        except OSError as exc:
            record.problem = Problem(
                Reason.UNREADABLE,
                f"file #{index} cannot be read ({exc.strerror or type(exc).__name__}); check "
                "its permissions and copy it again",
            )
        yield record
