"""Tabular exports: Parquet, JSON Lines and CSV (``ingest.source.kind``).

``ingest.source.columns`` maps Document fields to the export's column names; a field left
out reads the column of the same name. Every reader streams (Parquet in record batches,
JSONL line by line, CSV row by row), so memory does not grow with the export.

A required column (``doc_id``, ``text``) missing from the header does not stop the run:
every record is quarantined as ``missing_column``, so the counts still add up and the
summary says what to fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from curation.settings import SourceSettings
from curation.sources.base import (
    Problem,
    RawRecord,
    Reason,
    SourceError,
    missing_required,
    record_from_row,
    resolve_columns,
)

#: Rows per Parquet record batch: a few hundred clinical notes at most in memory at once.
PARQUET_BATCH_ROWS = 256
#: Candidate CSV delimiters; French exports often use ``;`` because ``,`` is the decimal mark.
CSV_DELIMITERS = ",;\t|"

# A CSV field may hold a whole hospital report: lift the csv module's 128 KiB limit.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _existing_file(settings: SourceSettings) -> Path:
    path = Path(settings.path or "")
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise SourceError(
            f"{settings.kind} source {path} {what}; set ingest.source.path to the export file"
        )
    return path


def read_parquet(settings: SourceSettings) -> Iterator[RawRecord]:
    """Yield the rows of a Parquet file, reading only the mapped columns, batch by batch.

    A ``binary`` text column is decoded at ingest like a ``.txt`` file.

    Raises
    ------
    SourceError
        The file is missing or is not a Parquet file.
    """
    path = _existing_file(settings)
    mapping = resolve_columns(settings.columns)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(
            f"{path} is not a readable Parquet file ({type(exc).__name__}); check "
            "ingest.source.kind and the export"
        ) from None
    names = parquet.schema_arrow.names
    return _iter_parquet(path, parquet, mapping, missing_required(mapping, names))


def _iter_parquet(
    path: Path, parquet: pq.ParquetFile, mapping: dict[str, str], problem: Problem | None
) -> Iterator[RawRecord]:
    names = set(parquet.schema_arrow.names)
    columns = sorted({column for column in mapping.values() if column in names})
    rows: Iterator[dict[str, Any]]
    if columns:
        batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns)
        rows = (row for batch in batches for row in batch.to_pylist())
    else:
        rows = ({} for _ in range(parquet.metadata.num_rows))
    number = 0
    try:
        for number, row in enumerate(rows, start=1):
            yield record_from_row(
                row,
                mapping,
                location=f"{path}:row {number}",
                log_ref=f"row {number}",
                problem=problem,
            )
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(
            f"{path}: reading failed after row {number} ({type(exc).__name__}); the file may "
            "be truncated: export it again"
        ) from None
    finally:
        parquet.close()


def read_jsonl(settings: SourceSettings) -> Iterator[RawRecord]:
    """Yield one record per non-blank line of a UTF-8 JSON Lines file.

    A line that is not a JSON object is an ``invalid_record``; a line that is not UTF-8
    (which JSON Lines requires) is ``undecodable``. Blank lines are not records.

    Raises
    ------
    SourceError
        The file is missing.
    """
    path = _existing_file(settings)
    return _iter_jsonl(path, resolve_columns(settings.columns))


def _iter_jsonl(path: Path, mapping: dict[str, str]) -> Iterator[RawRecord]:
    with path.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            if not line.strip():
                continue
            location, log_ref = f"{path}:line {number}", f"line {number}"
            try:
                value = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield _bad_line(
                    location, log_ref, Reason.UNDECODABLE, f"not UTF-8 (byte {exc.start})"
                )
                continue
            except json.JSONDecodeError as exc:
                yield _bad_line(
                    location,
                    log_ref,
                    Reason.INVALID_RECORD,
                    f"not JSON ({exc.msg}, column {exc.colno})",
                )
                continue
            if not isinstance(value, dict):
                what = f"a JSON {type(value).__name__}, not an object"
                yield _bad_line(location, log_ref, Reason.INVALID_RECORD, what)
                continue
            problem = missing_required(mapping, value.keys())
            yield record_from_row(
                value, mapping, location=location, log_ref=log_ref, problem=problem
            )


def _bad_line(location: str, log_ref: str, reason: Reason, what: str) -> RawRecord:
    message = f"{log_ref} is {what}; each line must be one JSON object: fix or remove the line"
    return RawRecord(location=location, log_ref=log_ref, problem=Problem(reason, message))


def read_csv(settings: SourceSettings) -> Iterator[RawRecord]:
    """Yield one record per row of a CSV file with a header line.

    The delimiter is the one of ``, ; tab |`` most frequent in the header line. Unless the
    file starts with a UTF-16 byte order mark, it is parsed as latin-1, which maps every byte
    to one character and back: delimiters and quotes are ASCII in UTF-8 and cp1252 alike, so
    the parse is exact, and each cell goes on as its original bytes, decoded at ingest with
    ``ingest.encodings`` like a ``.txt`` file (one export may mix encodings).

    Raises
    ------
    SourceError
        The file is missing, or the csv module cannot parse it.
    """
    path = _existing_file(settings)
    return _iter_csv(path, resolve_columns(settings.columns))


def _open_csv(path: Path) -> tuple[IO[str], bool]:
    """Open ``path`` as text; the flag says that cells must go back to bytes (latin-1)."""
    binary = path.open("rb")
    head = binary.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        binary.seek(0)
        return io.TextIOWrapper(binary, encoding="utf-16", newline=""), False
    binary.seek(len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
    return io.TextIOWrapper(binary, encoding="latin-1", newline=""), True


def _header_name(cell: str, as_bytes: bool) -> str:
    if not as_bytes:
        return cell.strip()
    raw = cell.encode("latin-1")
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding).strip()
        except UnicodeDecodeError:
            continue
    return cell.strip()


def _iter_csv(path: Path, mapping: dict[str, str]) -> Iterator[RawRecord]:
    stream, as_bytes = _open_csv(path)
    with stream:
        first = stream.readline()
        delimiter = max(CSV_DELIMITERS, key=first.count) if first else ","
        reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter)
        try:
            header = [_header_name(cell, as_bytes) for cell in next(reader, [])]
            problem = missing_required(mapping, header)
            row_number, end_line = 0, reader.line_num
            for cells in reader:
                start_line, end_line = end_line + 1, reader.line_num
                if not cells:
                    continue
                row_number += 1
                location = f"{path}:row {row_number} (line {start_line})"
                log_ref = f"row {row_number} (line {start_line})"
                if len(cells) != len(header):
                    what = f"has {len(cells)} fields where the header has {len(header)}"
                    message = f"{log_ref} {what}; check quoting and the delimiter {delimiter!r}"
                    yield RawRecord(
                        location, log_ref, problem=Problem(Reason.INVALID_RECORD, message)
                    )
                    continue
                row: dict[str, Any] = {
                    name: (cell.encode("latin-1") if as_bytes else cell) if cell != "" else None
                    for name, cell in zip(header, cells, strict=True)
                }
                yield record_from_row(
                    row, mapping, location=location, log_ref=log_ref, problem=problem
                )
        except csv.Error as exc:
            raise SourceError(
                f"{path}: CSV parse error at line {reader.line_num} ({exc}); fix the quoting "
                "of that line or export the table again"
            ) from None
