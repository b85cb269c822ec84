"""Checks every benchmark writer runs first (:mod:`curation.release.formats`,
:mod:`curation.release.brat`, :mod:`curation.release.conll`).

Errors name the ``doc_id`` of a bad record, never its text: a record needs its document's
text, a span must lie in it and quote it (``text[start:end]``), a ``doc_id`` comes once, and no
key that looks like a surrogate mapping (naming a mapping, surrogate, replacement or original)
may be released.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from curation.schema import Record, Span

#: Result fields of a record, in column order.
RESULT_FIELDS = ("spans", "labels", "relations", "attributes", "sections", "items")
#: Key fragments that mark a surrogate mapping, which is never released.
SECRET_KEYS = ("mapping", "surrogate", "replacement", "original")
#: Line breaks (those of ``str.splitlines``): a BRAT fragment never holds one.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
Records = Sequence[Record]
Texts = Mapping[str, str]
Extra = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class _Doc:
    """A checked record with its text and its extra fields."""

    record: Record
    text: str
    extra: Mapping[str, Any]


def _documents(records: Records, texts: Texts, extra: Extra | None) -> list[_Doc]:
    """The records, checked, with their text and extra fields."""
    seen: set[str] = set()
    out = []
    reserved = {"doc_id", "use_case", "origin", "text", "provenance", *RESULT_FIELDS}
    for record in records:
        doc_id = record.doc_id
        if doc_id in seen:
            raise ValueError(f"doc_id {doc_id} has two records; give one record per document")
        seen.add(doc_id)
        if doc_id not in texts:
            raise ValueError(f"doc_id {doc_id}: no text for it; pass the text of every record")
        for span in record.spans:
            _check_span(doc_id, span, texts[doc_id])
        _check_released(doc_id, "provenance", record.provenance)
        fields = dict((extra or {}).get(doc_id, {}))
        clash = sorted(reserved & set(fields))
        if clash:
            raise ValueError(f"doc_id {doc_id}: extra fields {clash} would replace record fields")
        _check_released(doc_id, "extra", fields)
        out.append(_Doc(record, texts[doc_id], fields))
    return out


def _check_span(doc_id: str, span: Span, text: str) -> None:
    """A span must be non-empty, inside the text, and quote it."""
    where = f"doc_id {doc_id}: span {span.start}-{span.end} ({span.label})"
    if not 0 <= span.start < span.end <= len(text):
        raise ValueError(f"{where} is empty or outside the text ({len(text)} characters)")
    if text[span.start : span.end] != span.text:
        raise ValueError(f"{where}: its text differs from the document at these offsets")


def _check_released(doc_id: str, where: str, value: Any) -> None:
    """Refuse anything that looks like a surrogate mapping (a secret, never released)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if any(secret in str(key).lower() for secret in SECRET_KEYS):
                raise ValueError(
                    f"doc_id {doc_id}: {where} holds {key!r}, which looks like a surrogate "
                    "mapping; mappings are secret and never released, remove it"
                )
            _check_released(doc_id, f"{where}.{key}", inner)
    elif isinstance(value, list):
        for inner in value:
            _check_released(doc_id, where, inner)


def _require_spans(record: Record, fmt: str) -> None:
    for name in ("labels", "sections", "items"):
        if getattr(record, name):
            raise ValueError(
                f"doc_id {record.doc_id}: {fmt} holds span use cases only, this record has "
                f"{name}; export it as JSONL or Parquet"
            )


def _file_name(doc_id: str) -> str:
    """``doc_id`` as a file name (BRAT) or a one-word header (CoNLL)."""
    if not doc_id or doc_id.startswith(".") or any(c in "/\\" or c.isspace() for c in doc_id):
        raise ValueError(f"doc_id {doc_id!r} cannot be a file name (path sign, space or dot)")
    return doc_id
