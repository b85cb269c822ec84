"""Reading and writing the files stages exchange: document tables and record JSONL files.

Errors name the file and the line and say what to do; they never quote document text.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq

from curation.schema import Record


class InputError(ValueError):
    """An input file is missing or malformed (the message names the file and the line)."""


def iter_texts(
    path: str | Path, batch_size: int = 1000, doc_types: Collection[str] = ()
) -> Iterator[tuple[str, str]]:
    """``(doc_id, text)`` of a document table (Parquet) or of a JSONL file, streamed.

    JSONL lines need at least ``doc_id`` and ``text`` (other keys are ignored). ``doc_types``
    keeps only the table's documents of those types (a use case's ``doc_types``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; run the stage that writes it, or fix the path")
    if path.suffix == ".parquet":
        parquet = pq.ParquetFile(path)
        typed = bool(doc_types) and "doc_type" in parquet.schema_arrow.names
        columns = ["doc_id", "text", "doc_type"] if typed else ["doc_id", "text"]
        for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
            ids, texts = batch.column(0).to_pylist(), batch.column(1).to_pylist()
            kinds = batch.column(2).to_pylist() if typed else [None] * len(ids)
            for doc_id, text, kind in zip(ids, texts, kinds, strict=True):
                if not typed or kind in doc_types:
                    yield doc_id, text
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                doc_id, text = data["doc_id"], data["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(
                    f"{path}:{number}: each line must be a JSON object with `doc_id` and `text`"
                ) from None
            if not isinstance(text, str):
                raise InputError(f"{path}:{number}: `text` of doc_id {doc_id} is not a string")
            yield str(doc_id), text


def iter_json_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line of a JSONL file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; run the stage that writes it, or fix the path")
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise InputError(f"{path}:{number}: a line must be a JSON object")
            yield number, data


def record_from_dict(data: dict[str, Any], where: str) -> Record:
    """A :class:`Record` from a parsed line; a bad shape names ``where`` (file:line)."""
    try:
        return Record.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: not a record ({type(exc).__name__}: {exc}); each line needs doc_id, "
            "use_case and the result fields of DESIGN.md"
        ) from None


def read_records(path: str | Path) -> Iterator[Record]:
    """Records (answer keys, predictions, annotations, gold) of a JSONL file."""
    for number, data in iter_json_objects(path):
        yield record_from_dict(data, f"{path}:{number}")


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[IO[str]]:
    """Write a text file beside ``path`` and move it in place only when writing succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            yield handle
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON (a report, DVC metrics), atomically."""
    with atomic_writer(path) as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_records(path: str | Path, records: Iterable[Record]) -> int:
    """Write ``records`` as JSONL (atomically); returns how many."""
    count = 0
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(record.to_json() + "\n")
            count += 1
    return count


def records_with_texts(records: str | Path, documents: str | Path) -> Iterator[tuple[Record, str]]:
    """Each record of a JSONL file with its document's text (a trainer's expert gold).

    Raises ``InputError`` naming the file and ``doc_id`` of a record whose document is not in
    ``documents`` (a Parquet table or JSONL file with ``doc_id`` and ``text``).
    """
    texts = dict(iter_texts(documents))
    for record in read_records(records):
        text = texts.get(record.doc_id)
        if text is None:
            raise InputError(f"{records}: doc_id {record.doc_id} is not in {documents}")
        yield record, text
