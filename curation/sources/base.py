"""What every ingest source yields: raw records, problems found on the way, fatal errors.

A source only *reads*: it turns its rows, lines or files into :class:`RawRecord` objects in a
deterministic order and flags what it can see at its own level (a missing column, a line that
is not JSON). Decoding, normalisation and every other check happen once, in
:mod:`curation.sources.checks`, so that all sources are judged by the same rules.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from curation.schema import DOCUMENT_FIELDS


class Reason(StrEnum):
    """Why a record was quarantined: the code written in ``quarantine.jsonl``."""

    #: a required field (``doc_id``, ``text``) is absent from the record or the header
    MISSING_COLUMN = "missing_column"
    #: the record cannot be read as a record (a JSONL line that is not a JSON object, a CSV
    #: row with the wrong number of fields, a value of the wrong type, a date that is no date)
    INVALID_RECORD = "invalid_record"
    #: one file of a folder source could not be read (permissions, I/O error)
    UNREADABLE = "unreadable"
    #: the ``doc_id`` value is null or blank
    MISSING_DOC_ID = "missing_doc_id"
    #: the bytes decode with none of the candidate encodings
    UNDECODABLE = "undecodable"
    #: NUL bytes, or too many control characters: not text
    BINARY_CONTENT = "binary_content"
    #: the source's own sha256 does not match the text it gave
    HASH_MISMATCH = "hash_mismatch"
    #: empty or whitespace-only text
    EMPTY_TEXT = "empty_text"
    #: longer than ``ingest.max_chars`` after normalisation
    TOO_LARGE = "too_large"
    #: this ``doc_id`` was already accepted with a different text
    DUPLICATE_ID_CONFLICT = "duplicate_id_conflict"
    #: exactly the text of a document already accepted (kept once)
    DUPLICATE_TEXT = "duplicate_text"


@dataclass(frozen=True, slots=True)
class Problem:
    """A reason code and a message saying what is wrong and what to do (never the text)."""

    reason: Reason
    message: str


@dataclass(slots=True)
class RawRecord:
    """One input record, as the source found it.

    Parameters
    ----------
    location
        Where the record sits, for the quarantine file: ``"exports/notes.jsonl:line 12"``,
        ``"note.note_id=5"``, or a file's path relative to the source folder. A relative path
        may hold a patient's name, so ``location`` never goes to a log: use :attr:`log_ref`.
    log_ref
        A reference that is safe to log (line or row number, primary key, ``doc_id``).
    fields
        Document fields mapped from the source (``doc_id``, ``patient_id``, ``created_at``,
        ``sha256``...), with the source's own value types; ``text`` is not among them.
    text
        The text when the source holds it as a string.
    raw
        The text as bytes when its encoding is not known yet (``.txt`` files, CSV cells,
        binary columns); decoded in :mod:`curation.sources.checks`.
    problem
        A problem the source already found; such a record is quarantined as it is.
    """

    location: str
    log_ref: str
    fields: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    raw: bytes | None = None
    problem: Problem | None = None


class SourceError(Exception):
    """The whole source cannot be read (file missing, unreadable, database unreachable).

    The message names the path or table and says what to do; it never holds document text.
    """


#: Document fields a source may supply; ``source`` is set by ingest, ``sha256`` is checked.
READABLE_FIELDS: tuple[str, ...] = tuple(f for f in DOCUMENT_FIELDS if f != "source")
#: Fields without which a record cannot become a Document.
REQUIRED_FIELDS: tuple[str, ...] = ("doc_id", "text")


def resolve_columns(
    columns: Mapping[str, str], defaults: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map every readable Document field to its source column.

    ``columns`` (``ingest.source.columns``) wins, then the kind's ``defaults``, then the column
    with the field's own name.

    Raises
    ------
    SourceError
        A key of ``columns`` is not a readable Document field (a typo would otherwise make
        every record fail for a reason far from its cause).
    """
    unknown = sorted(set(columns) - set(READABLE_FIELDS))
    if unknown:
        raise SourceError(
            f"ingest.source.columns: unknown field(s) {', '.join(unknown)}; the keys are "
            f"Document fields ({', '.join(READABLE_FIELDS)}) and the values are source column "
            "names. Fix the keys in params.yaml."
        )
    defaults = defaults or {}
    return {name: columns.get(name, defaults.get(name, name)) for name in READABLE_FIELDS}


def missing_required(mapping: Mapping[str, str], available: Collection[str]) -> Problem | None:
    """The ``missing_column`` problem when a required field's column is not ``available``."""
    absent = [name for name in REQUIRED_FIELDS if mapping[name] not in available]
    if not absent:
        return None
    what = " and ".join(f"{name} (column {mapping[name]!r})" for name in absent)
    keys = " and ".join(f"ingest.source.columns.{name}" for name in absent)
    return Problem(
        Reason.MISSING_COLUMN,
        f"required field {what} not found; map it to the right source column with {keys} "
        "in params.yaml",
    )


def record_from_row(
    row: Mapping[str, Any],
    mapping: Mapping[str, str],
    *,
    location: str,
    log_ref: str,
    problem: Problem | None = None,
) -> RawRecord:
    """Build a :class:`RawRecord` from a row keyed by source column names.

    A ``str`` text goes to ``text``, ``bytes`` to ``raw`` (decoded later), ``None`` stays
    empty (quarantined as ``empty_text``); any other type is an ``invalid_record``.
    """
    fields = {
        name: row[column]
        for name, column in mapping.items()
        if name != "text" and column in row and row[column] is not None
    }
    record = RawRecord(location=location, log_ref=log_ref, fields=fields, problem=problem)
    value = row.get(mapping["text"])
    if isinstance(value, str):
        record.text = value
    elif isinstance(value, bytes | bytearray | memoryview):
        record.raw = bytes(value)
    elif value is not None and record.problem is None:
        record.problem = Problem(
            Reason.INVALID_RECORD,
            f"field text (column {mapping['text']!r}) holds a {type(value).__name__}, not "
            "text; map text to the column that holds the document",
        )
    return record
