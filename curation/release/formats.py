"""Write a benchmark split in the formats evaluators use: JSONL, Parquet, BRAT and CoNLL.

Every writer checks its input first (:mod:`curation.release.checks`) and names the ``doc_id``
of a bad record, never its text: a record needs its document's text, a span must lie in it
and quote it (``text[start:end]``), a ``doc_id`` comes once, and no key that looks like a
surrogate mapping (naming a mapping, surrogate, replacement or original) may be released.

* JSONL: the record shape of DESIGN.md plus ``text`` and the extra fields (provenance kept).
* Parquet: one row per document, typed columns that pandas and Hugging Face ``datasets``
  load as they are: ``spans`` a list of structs, ``labels`` a list of strings;
  ``relations``, ``attributes``, ``sections`` and ``items`` JSON strings, because their
  keys vary by use case and ``datasets`` has no map type. Provenance stays in the JSONL.
* BRAT (:mod:`curation.release.brat`) and CoNLL (:mod:`curation.release.conll`), span use
  cases only, re-exported here. A BRAT annotation's text cannot hold a line break,
  so a span across lines is written as fragments (``start end;start2 end2``) that
  :func:`read_brat` joins back. CoNLL uses the tokens of :func:`curation.quality.noise.tokenize`
  (the platform's token model) and BIO tags; a token partly inside a span gets its tag.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.io import atomic_writer
from curation.release.brat import BRAT_FRAGMENT, read_brat, write_brat
from curation.release.checks import (
    LINE_BREAKS,
    RESULT_FIELDS,
    SECRET_KEYS,
    Extra,
    Records,
    Texts,
    _Doc,
    _documents,
)
from curation.release.conll import (
    ABBREVIATIONS,
    SENTENCE_END,
    Sentence,
    conll_sentences,
    split_at_spans,
    write_conll,
)

__all__ = [
    "ABBREVIATIONS",
    "BRAT_FRAGMENT",
    "LINE_BREAKS",
    "RESULT_FIELDS",
    "SECRET_KEYS",
    "SENTENCE_END",
    "SPAN_TYPE",
    "Extra",
    "Records",
    "Sentence",
    "Texts",
    "conll_sentences",
    "read_brat",
    "split_at_spans",
    "write_brat",
    "write_conll",
    "write_jsonl",
    "write_parquet",
]

SPAN_TYPE = pa.struct(
    [("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("text", pa.string())]
)


def write_jsonl(records: Records, texts: Texts, path: Path, extra: Extra | None = None) -> None:
    """One JSON object per document: the record, its ``text``, then its extra fields.

    Parameters
    ----------
    records
        One gold record per document of the split.
    texts
        Document text by ``doc_id`` (the exact text the offsets refer to).
    path
        The file, written atomically; it reads back with :func:`curation.io.read_records`.
    extra
        Fields per ``doc_id`` such as ``patient_id`` or ``doc_type``; may cover more
        documents than ``records`` (the others are ignored).

    Raises
    ------
    ValueError
        A duplicate ``doc_id``, a record without text, a span that does not quote its text,
        an extra field named like a record field, or a surrogate mapping (names the doc_id).
    """
    docs = _documents(records, texts, extra)
    with atomic_writer(path) as handle:
        for doc in docs:
            data = doc.record.to_dict()
            head = {key: data.pop(key) for key in ("doc_id", "use_case", "origin")}
            line = {**head, "text": doc.text, **data, **doc.extra}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def write_parquet(
    records: Records,
    texts: Texts,
    path: Path,
    extra: Extra | None = None,
    *,
    fields: Sequence[str] | None = None,
) -> None:
    """One row per document: ``doc_id``, ``text``, the result columns, the extra columns.

    Parameters
    ----------
    records, texts, path, extra
        As for :func:`write_jsonl`; extra columns are typed by pyarrow from their values
        (null where a document has none).
    fields
        The result columns, from :data:`RESULT_FIELDS`; by default, those any record uses.
        Give the same to every split of a benchmark, so that all share one schema.
    """
    docs = _documents(records, texts, extra)
    chosen = list(fields) if fields is not None else _used_fields(docs)
    unknown = sorted(set(chosen) - set(RESULT_FIELDS))
    if unknown:
        raise ValueError(f"unknown result fields {unknown}; choose among {list(RESULT_FIELDS)}")
    columns: dict[str, pa.Array] = {
        "doc_id": pa.array([d.record.doc_id for d in docs], pa.string()),
        "text": pa.array([d.text for d in docs], pa.string()),
    }
    for name in chosen:
        columns[name] = _result_column(name, [d.record for d in docs])
    for name in dict.fromkeys(key for d in docs for key in d.extra):
        try:
            columns[name] = pa.array([d.extra.get(name) for d in docs])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise ValueError(f"extra column {name!r} mixes value types; give one type") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        pq.write_table(pa.table(columns), partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _used_fields(docs: Sequence[_Doc]) -> list[str]:
    return [name for name in RESULT_FIELDS if any(getattr(d.record, name) for d in docs)]


def _result_column(name: str, records: Records) -> pa.Array:
    if name == "spans":
        keys = ("start", "end", "label", "text")
        rows = [[{k: getattr(s, k) for k in keys} for s in r.spans] for r in records]
        return pa.array(rows, pa.list_(SPAN_TYPE))
    if name == "labels":
        return pa.array([list(r.labels) for r in records], pa.list_(pa.string()))
    return pa.array([json.dumps(getattr(r, name), ensure_ascii=False) for r in records])
