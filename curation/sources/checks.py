"""The ingest rules: a raw record becomes a :class:`~curation.schema.Document` or a rejection.

Every source is judged here by the same rules, in a fixed order: the source's own problem,
``doc_id``, decoding, normalisation, the source's hash, empty, binary, too large, metadata,
and last the duplicates (the only rules that depend on what came before, so that a rejected
record never shadows a later good one).

A ``sha256`` that the source supplies is checked against the text *as the source gave it*
(its bytes, or its text before our normalisation), which is what an exporter hashes, and
also against the normalised text, which is what this platform's own tables carry (the
synthetic corpus, a re-ingest of ``documents.parquet``). Either match passes; the stored
``sha256`` is always that of the stored, normalised text.

Memory grows with the number of accepted documents only by an id and a 32-byte digest each,
never by their text.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from curation.schema import DOC_TYPES, Document
from curation.settings import IngestSettings
from curation.sources.base import Problem, RawRecord, Reason
from curation.sources.text import binary_problem, decode, normalise

#: Metadata fields that are copied, as strings, into the Document.
_METADATA = ("patient_id", "stay_id", "site", "specialty", "doc_type", "created_at")
#: Day-first dates as French exports write them, read when a value is not ISO-8601.
_FRENCH_DATES = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")
#: ``doc_type`` also accepts the label of a type (``"Compte rendu opératoire"``).
_DOC_TYPE_LABELS = {label.casefold(): code for code, label in DOC_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that goes to quarantine: its ``doc_id`` when known, and the problem."""

    doc_id: str | None
    problem: Problem


class RecordChecker:
    """Apply the ingest rules to records, one by one, in source order.

    Parameters
    ----------
    settings
        The ``ingest`` section: candidate encodings, size and binary limits, default site,
        and the source name written to ``Document.source``.
    """

    def __init__(self, settings: IngestSettings) -> None:
        self.source_name = settings.source.name or settings.source.kind
        self.encodings = list(settings.encodings)
        self.max_chars = settings.max_chars
        self.binary_ratio = settings.binary_ratio
        self.default_site = settings.default_site
        #: how many byte inputs each encoding decoded (reported in the summary)
        self.encodings_used: Counter[str] = Counter()
        self._digest_by_id: dict[str, bytes] = {}
        self._id_by_digest: dict[bytes, str] = {}

    def check(self, record: RawRecord) -> Document | Rejection:
        """The document to store, or why ``record`` is quarantined."""
        doc_id = self._string(record.fields.get("doc_id"), "doc_id")
        if record.problem is not None:
            return Rejection(doc_id if isinstance(doc_id, str) else None, record.problem)
        if isinstance(doc_id, Problem):
            return Rejection(None, doc_id)
        if doc_id is None:
            message = "doc_id is empty; every record needs an identifier: fix the export"
            return Rejection(None, Problem(Reason.MISSING_DOC_ID, message))
        text = self._text(record)
        if isinstance(text, Problem):
            return Rejection(doc_id, text)
        document = self._document(doc_id, record, text)
        if isinstance(document, Problem):
            return Rejection(doc_id, document)
        duplicate = self._duplicate(document)
        if duplicate is not None:
            return Rejection(doc_id, duplicate)
        digest = bytes.fromhex(document.sha256)
        self._digest_by_id[doc_id] = digest
        self._id_by_digest[digest] = doc_id
        return document

    def _text(self, record: RawRecord) -> str | Problem:
        """Decoded, checked and normalised text."""
        received = record.text or ""
        if record.raw is not None:
            decoded = decode(record.raw, self.encodings)
            if isinstance(decoded, Problem):
                return decoded
            received, encoding = decoded
            self.encodings_used[encoding] += 1
        try:
            received.encode("utf-8")
        except UnicodeEncodeError as exc:
            return Problem(
                Reason.UNDECODABLE,
                f"unpaired surrogate at offset {exc.start} (a broken \\u escape in the "
                "export); export the text again",
            )
        text = normalise(received)
        supplied = self._string(record.fields.get("sha256"), "sha256")
        if isinstance(supplied, str) and supplied.lower() not in _accepted_hashes(
            record.raw, received, text
        ):
            return Problem(
                Reason.HASH_MISMATCH,
                "the sha256 given by the source matches neither the text as received nor "
                "its normalised form: the text was altered or truncated; export it again",
            )
        if not text.strip():
            return Problem(
                Reason.EMPTY_TEXT,
                "the text is empty or blank; check the export (the file, or the text column)",
            )
        binary = binary_problem(text, self.binary_ratio)
        if binary is not None:
            return binary
        if len(text) > self.max_chars:
            return Problem(
                Reason.TOO_LARGE,
                f"{len(text)} characters, above ingest.max_chars = {self.max_chars}; check "
                "that it is one document (not several concatenated) or raise the limit",
            )
        return text

    def _document(self, doc_id: str, record: RawRecord, text: str) -> Document | Problem:
        values: dict[str, str | None] = {}
        for name in _METADATA:
            raw = record.fields.get(name)
            value = _iso_date(raw) if name == "created_at" else self._string(raw, name)
            if isinstance(value, Problem):
                return value
            values[name] = value
        doc_type = (values.pop("doc_type") or "").strip()
        key = doc_type.casefold()
        return Document(
            doc_id=doc_id,
            text=text,
            patient_id=values["patient_id"],
            stay_id=values["stay_id"],
            site=values["site"] or self.default_site,
            doc_type=key if key in DOC_TYPES else _DOC_TYPE_LABELS.get(key, "autre"),
            specialty=values["specialty"],
            created_at=values["created_at"],
            source=self.source_name,
        )

    def _duplicate(self, document: Document) -> Problem | None:
        digest = bytes.fromhex(document.sha256)
        known = self._digest_by_id.get(document.doc_id)
        if known is not None and known != digest:
            return Problem(
                Reason.DUPLICATE_ID_CONFLICT,
                f"doc_id {document.doc_id} was already accepted with a different text; the "
                "first one is kept: give each document its own id, or remove the stale copy",
            )
        kept = self._id_by_digest.get(digest)
        if kept is not None:
            return Problem(
                Reason.DUPLICATE_TEXT,
                f"same text as the accepted document {kept}, which is kept; nothing to do "
                "unless the two should differ",
            )
        return None

    def _string(self, value: Any, name: str) -> str | Problem | None:
        """A field as a stripped string (``None`` when absent or blank)."""
        if value is None or (isinstance(value, float) and value != value):  # None or NaN
            return None
        if isinstance(value, bytes):
            decoded = decode(value, self.encodings)
            if isinstance(decoded, Problem):
                return Problem(decoded.reason, f"field {name}: {decoded.message}")
            value = decoded[0]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            return Problem(
                Reason.INVALID_RECORD,
                f"field {name} holds a {type(value).__name__}, not a string or a number; "
                f"map {name} to another column (ingest.source.columns)",
            )
        text = str(value).strip()
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return Problem(
                Reason.UNDECODABLE, f"field {name} holds an unpaired surrogate; export it again"
            )
        return text or None


def _accepted_hashes(raw: bytes | None, received: str, text: str) -> set[str]:
    """Hashes that vouch for the text: of the source's bytes, its text, or the stored text.

    An exporter hashes what it holds (the bytes, or the UTF-8 of its text before our
    normalisation); a table this platform wrote holds the hash of the normalised text.
    """
    candidates = [received.encode("utf-8"), text.encode("utf-8")]
    if raw is not None:
        candidates.append(raw)
    return {hashlib.sha256(data).hexdigest() for data in candidates}


def _iso_date(value: Any) -> str | Problem | None:
    """``created_at`` as ISO-8601: a date stays a date, a date-time keeps its time zone.

    Examples
    --------
    >>> _iso_date("12/03/2024 14:30")
    '2024-03-12T14:30:00'
    """
    if value is None:
        return None
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return (date if len(text) == 10 else datetime).fromisoformat(text).isoformat()
        except ValueError:
            pass
        for pattern in _FRENCH_DATES:
            try:
                parsed = datetime.strptime(text, pattern)
            except ValueError:
                continue
            return parsed.date().isoformat() if "%H" not in pattern else parsed.isoformat()
    return Problem(
        Reason.INVALID_RECORD,
        "field created_at is not a date; write it as ISO-8601 (2024-03-12 or "
        "2024-03-12T14:30:00) or dd/mm/yyyy [HH:MM[:SS]], or map created_at to another column",
    )
