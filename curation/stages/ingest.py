"""``ingest``: read the configured source into ``documents.parquet``; quarantine the rest.

Every record read ends either accepted (one row of the Document table) or quarantined (one
line of ``quarantine.jsonl`` with a reason code and what to do): ``accepted + quarantined ==
read``, always. The text is normalised here, once (BOM, line endings, NFC), and is immutable
afterwards, because every offset of the platform refers to it.

Both outputs are written to a temporary file beside the target, streaming, and are
deterministic: when the new content is byte for byte the old one, the old file is left
untouched and the summary says ``unchanged``, so re-ingesting the same source is a no-op.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.progress import progress_bar
from curation.schema import DOCUMENT_SCHEMA, Document
from curation.settings import IngestSettings, ParamsError
from curation.sources import read_source
from curation.sources.base import RawRecord
from curation.sources.checks import RecordChecker, Rejection

logger = logging.getLogger(__name__)

#: A row group is written every this many documents...
ROW_GROUP_ROWS = 1000
#: ...or this many characters of text, whichever comes first (bounded memory).
ROW_GROUP_CHARS = 32_000_000


@dataclass(slots=True)
class IngestSummary:
    """What one ingest did: counts, quarantine reasons and where the outputs are."""

    source: str
    output: Path
    quarantine: Path
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    #: quarantined records per reason code
    reasons: dict[str, int] = field(default_factory=dict)
    #: byte inputs (files, CSV cells, binary columns) decoded per encoding
    encodings: dict[str, int] = field(default_factory=dict)
    output_unchanged: bool = False
    quarantine_unchanged: bool = False

    @property
    def unchanged(self) -> bool:
        """Both outputs already held exactly this content and were not rewritten."""
        return self.output_unchanged and self.quarantine_unchanged

    def render(self) -> str:
        """A few readable lines for the terminal (counts and paths, never text)."""
        lines = [
            f"ingest ({self.source}): {self.read} read, {self.accepted} accepted, "
            f"{self.quarantined} quarantined"
        ]
        if self.reasons:
            reasons = ", ".join(f"{code} {n}" for code, n in sorted(self.reasons.items()))
            lines.append(f"  quarantine reasons: {reasons}")
        if self.encodings:
            used = ", ".join(f"{name} {n}" for name, n in sorted(self.encodings.items()))
            lines.append(f"  encodings detected: {used}")
        for label, path, same in (
            ("documents ", self.output, self.output_unchanged),
            ("quarantine", self.quarantine, self.quarantine_unchanged),
        ):
            lines.append(f"  {label} {path} ({'unchanged' if same else 'written'})")
        if self.unchanged:
            lines.append("  unchanged: same content as the existing outputs, nothing rewritten")
        return "\n".join(lines)


def run(settings: IngestSettings, *, progress: bool = True) -> IngestSummary:
    """Ingest ``settings.source`` into ``settings.output`` and ``settings.quarantine``.

    Parameters
    ----------
    settings
        The ``ingest`` section of ``params.yaml``.
    progress
        Show a progress bar; it appears only on a terminal, never in CI or a pipe.

    Raises
    ------
    ParamsError
        ``ingest.encodings`` is empty or names an unknown encoding.
    SourceError
        The source cannot be read at all; the outputs are then left as they were.
    """
    _check_encodings(settings.encodings)
    records = read_source(settings.source)  # opens the source: fails before any output
    checker = RecordChecker(settings)
    summary = IngestSummary(
        source=checker.source_name,
        output=Path(settings.output),
        quarantine=Path(settings.quarantine),
    )
    reasons: Counter[str] = Counter()
    output_tmp = _temporary(summary.output)
    quarantine_tmp = _temporary(summary.quarantine)
    try:
        documents = _DocumentWriter(output_tmp)
        with (
            quarantine_tmp.open("w", encoding="utf-8", newline="\n") as quarantine,
        ):
            for record in progress_bar(records, desc=f"ingest {summary.source}", enabled=progress):
                summary.read += 1
                outcome = checker.check(record)
                if isinstance(outcome, Document):
                    documents.add(outcome)
                    summary.accepted += 1
                else:
                    quarantine.write(_quarantine_line(record, outcome))
                    reasons[outcome.problem.reason] += 1
                    summary.quarantined += 1
                    ref = outcome.doc_id or record.log_ref
                    logger.debug("quarantined %s: %s", ref, outcome.problem.reason)
        documents.close()
        summary.output_unchanged = _publish(output_tmp, summary.output)
        summary.quarantine_unchanged = _publish(quarantine_tmp, summary.quarantine)
    finally:
        getattr(records, "close", lambda: None)()
        output_tmp.unlink(missing_ok=True)
        quarantine_tmp.unlink(missing_ok=True)
    if summary.accepted + summary.quarantined != summary.read:  # pragma: no cover
        raise RuntimeError("ingest lost records: accepted + quarantined != read")
    summary.reasons = {str(code): n for code, n in sorted(reasons.items())}
    summary.encodings = dict(sorted(checker.encodings_used.items()))
    logger.info(
        "ingest %s: %d read, %d accepted, %d quarantined %s",
        summary.source,
        summary.read,
        summary.accepted,
        summary.quarantined,
        summary.reasons,
    )
    return summary


class _DocumentWriter:
    """Stream Documents into Parquet, one row group per bounded batch."""

    def __init__(self, path: Path) -> None:
        self._writer = pq.ParquetWriter(path, DOCUMENT_SCHEMA, compression="zstd")
        self._rows: list[dict[str, str | None]] = []
        self._chars = 0

    def add(self, document: Document) -> None:
        self._rows.append(document.to_row())
        self._chars += len(document.text)
        if len(self._rows) >= ROW_GROUP_ROWS or self._chars >= ROW_GROUP_CHARS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = pa.Table.from_pylist(self._rows, schema=DOCUMENT_SCHEMA)
            self._writer.write_table(table, row_group_size=len(self._rows))
        self._rows, self._chars = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def _quarantine_line(record: RawRecord, rejection: Rejection) -> str:
    """One JSON line: where, which doc_id, why and what to do; never the text."""
    entry = {
        "location": record.location,
        "doc_id": rejection.doc_id,
        "reason": str(rejection.problem.reason),
        "message": rejection.problem.message,
    }
    return json.dumps(entry, ensure_ascii=False) + "\n"


def _check_encodings(encodings: list[str]) -> None:
    if not encodings:
        raise ParamsError("ingest.encodings is empty; list at least utf-8 in params.yaml")
    for name in encodings:
        try:
            codecs.lookup(name)
        except LookupError:
            raise ParamsError(
                f"ingest.encodings: unknown encoding {name!r}; use Python codec names such "
                "as utf-8, cp1252, latin-1"
            ) from None


def _temporary(target: Path) -> Path:
    """A temporary path beside ``target`` (same file system, so the replace is atomic).

    Named by process id rather than made by :func:`tempfile.mkstemp`, whose files are
    private (mode 600): the published output keeps the usual permissions.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def _publish(temporary: Path, target: Path) -> bool:
    """Move ``temporary`` onto ``target`` unless it has the same bytes; True if unchanged."""
    if target.is_file() and _same_bytes(temporary, target):
        return True
    os.replace(temporary, target)
    return False


def _same_bytes(left: Path, right: Path, chunk: int = 1 << 20) -> bool:
    if left.stat().st_size != right.stat().st_size:
        return False
    with left.open("rb") as a, right.open("rb") as b:
        while True:
            block = a.read(chunk)
            if block != b.read(chunk):
                return False
            if not block:
                return True
