"""Tables the expectation suites validate, built from the files stages exchange.

One builder per suite of :mod:`curation.quality.suites`: each returns a pandas DataFrame with
the columns the suite names. Document text is carried only where an expectation reads it
(``doc_text`` beside each span points to the same Python string as the document, so a million
spans do not copy texts). ``record`` is the line number of the record in its file, so that a
failure names ``file:line``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from curation.io import InputError, iter_json_objects, record_from_dict
from curation.quality.annotations import annotated_from_dict
from curation.schema import DOCUMENT_FIELDS, Record

#: Columns of the documents table kept for validation.
DOCUMENT_COLUMNS: tuple[str, ...] = DOCUMENT_FIELDS


def read_documents(path: str | Path) -> pd.DataFrame:
    """The document table (Parquet) as a DataFrame, every column as Python strings."""
    table = pq.read_table(path, columns=list(DOCUMENT_COLUMNS))
    return table.to_pandas(types_mapper=None).astype(object)


def load_documents(table: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """A document table and its texts by ``doc_id``; a missing table says what to run."""
    if not table.exists():
        raise InputError(f"{table}: no such file; run `dvc repro` up to the stage writing it")
    documents = read_documents(table)
    return documents, dict(zip(documents["doc_id"], documents["text"], strict=True))


def replaced_spans(path: str | Path | None) -> dict[str, list[list[int]]]:
    """``doc_id`` -> ``[start, end]`` of each surrogate, from the pseudonymiser's spans file."""
    if path is None or not Path(path).exists():
        return {}
    out: dict[str, list[list[int]]] = {}
    for number, data in iter_json_objects(path):
        record = record_from_dict(data, f"{path}:{number}")
        out[record.doc_id] = [[s.start, s.end] for s in record.spans]
    return out


def documents_frame(
    documents: pd.DataFrame, replaced: Mapping[str, list[list[int]]] | None = None
) -> pd.DataFrame:
    """Documents with a ``replaced`` column: the surrogate spans of each (empty if none)."""
    frame = documents.copy()
    known = replaced or {}
    frame["replaced"] = pd.Series(
        [known.get(doc_id, []) for doc_id in frame["doc_id"]], index=frame.index, dtype=object
    )
    return frame


class LoadedRecords:
    """Records of one file with their line numbers and, for annotations, their keys."""

    def __init__(self) -> None:
        self.lines: list[int] = []
        self.records: list[Record] = []
        self.keys: list[str] = []

    def add(self, line: int, record: Record, key: str) -> None:
        self.lines.append(line)
        self.records.append(record)
        self.keys.append(key)

    def __iter__(self) -> Iterator[tuple[int, Record, str]]:
        return iter(zip(self.lines, self.records, self.keys, strict=True))

    def __len__(self) -> int:
        return len(self.records)


def load_records(path: str | Path, annotations: bool = False) -> LoadedRecords:
    """Records of a JSONL file; ``annotations`` keys them by annotation (else by doc_id).

    Cancelled annotations (skipped tasks) are left out: they hold no result to validate.
    """
    loaded = LoadedRecords()
    for number, data in iter_json_objects(path):
        where = f"{path}:{number}"
        if annotations:
            annotated = annotated_from_dict(data, where)
            if not annotated.cancelled:
                loaded.add(number, annotated.record, annotated.key)
        else:
            record = record_from_dict(data, where)
            loaded.add(number, record, record.doc_id)
    return loaded


def records_frame(loaded: LoadedRecords, texts: Mapping[str, str]) -> pd.DataFrame:
    """One row per record: line, key, doc_id, use case, origin, length of its document."""
    rows = [
        (line, key, r.doc_id, r.use_case, r.origin, _length(texts.get(r.doc_id)))
        for line, r, key in loaded
    ]
    columns = ["record", "key", "doc_id", "use_case", "origin", "doc_length"]
    return pd.DataFrame(rows, columns=columns)


def spans_frame(
    loaded: Iterable[tuple[int, Record, str]], texts: Mapping[str, str]
) -> pd.DataFrame:
    """One row per span, with its document's text and length (``None`` if it is missing)."""
    columns: dict[str, list[Any]] = {
        name: []
        for name in ("record", "doc_id", "start", "end", "label", "text", "score", "doc_text")
    }
    for line, record, _ in loaded:
        doc = texts.get(record.doc_id)
        for span in record.spans:
            columns["record"].append(line)
            columns["doc_id"].append(record.doc_id)
            columns["start"].append(span.start)
            columns["end"].append(span.end)
            columns["label"].append(span.label)
            columns["text"].append(span.text)
            columns["score"].append(span.score)
            columns["doc_text"].append(doc)
    doc_texts = columns.pop("doc_text")
    frame = pd.DataFrame(columns)
    # object dtype: each row points to its document's str; pandas 3 would infer its Arrow
    # string dtype and copy the document's text once per span
    frame["doc_text"] = pd.Series(doc_texts, index=frame.index, dtype=object)
    frame["doc_length"] = (
        pd.array([_length(t) for t in doc_texts], dtype="Int64")
        if len(frame)
        else pd.array([], dtype="Int64")
    )
    return frame


def labels_frame(loaded: Iterable[tuple[int, Record, str]]) -> pd.DataFrame:
    """One row per document label of each record, with its rank (0: principal)."""
    rows = [
        (line, record.doc_id, label, rank)
        for line, record, _ in loaded
        for rank, label in enumerate(record.labels)
    ]
    return pd.DataFrame(rows, columns=["record", "doc_id", "label", "rank"])


def principal_frame(
    loaded: Iterable[tuple[int, Record, str]], roles: Sequence[str]
) -> pd.DataFrame:
    """One row per record with labels: how many labels its evidence marks ``roles[0]``.

    An expert marks the role of each code on its evidence span (``attributes``:
    ``{"span": i, "role": "DP"}``), or names a principal that has no evidence in a
    document-level attribute named after the role (``{"dp": "J189"}``, the Label Studio
    field of that name). Columns: ``marked`` (distinct labels designated principal),
    ``marked_first`` (the marked label is ``labels[0]``; empty unless exactly one is marked) and
    ``unlisted_evidence`` (evidence spans whose label is not among the record's labels).
    """
    rows = []
    for line, record, _ in loaded:
        if not record.labels:
            continue
        marked = {
            record.spans[int(entry["span"])].label
            for entry in record.attributes
            if entry.get("role") == roles[0] and 0 <= int(entry.get("span", -1)) < len(record.spans)
        }
        marked |= {
            str(value)
            for entry in record.attributes
            if "span" not in entry
            for key, value in entry.items()
            if key.lower() == roles[0].lower()
        }
        first = None if len(marked) != 1 else marked == {record.labels[0]}
        unlisted = sum(span.label not in record.labels for span in record.spans)
        rows.append((line, record.doc_id, len(marked), first, unlisted))
    columns = ["record", "doc_id", "marked", "marked_first", "unlisted_evidence"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["marked_first"] = frame["marked_first"].astype(object)
    return frame


def _span_index(record: Record, value: Any) -> int | None:
    """``value`` if it is the index of a span of ``record``, else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(record.spans):
        return value
    return None


def relations_frame(loaded: Iterable[tuple[int, Record, str]]) -> pd.DataFrame:
    """One row per relation: its type, span indexes and their labels (no span text).

    ``from``/``to`` are the span indexes (``None`` when the value is not a span index of the
    record, and then ``from_label``/``to_label`` are ``None`` too); ``relation`` is its
    position in the record; ``ends`` is ``"FROM_LABEL -> TO_LABEL"`` (``None`` unless both
    ends are spans).
    """
    rows = []
    for line, record, _ in loaded:
        for number, relation in enumerate(record.relations):
            head = _span_index(record, relation.get("from"))
            tail = _span_index(record, relation.get("to"))
            first = None if head is None else record.spans[head].label
            second = None if tail is None else record.spans[tail].label
            ends = None if first is None or second is None else f"{first} -> {second}"
            kind = relation.get("type")
            rows.append(
                (
                    line,
                    record.doc_id,
                    number,
                    None if kind is None else str(kind),
                    head,
                    tail,
                    first,
                    second,
                    ends,
                )
            )
    columns = [
        "record",
        "doc_id",
        "relation",
        "type",
        "from",
        "to",
        "from_label",
        "to_label",
        "ends",
    ]
    return pd.DataFrame(rows, columns=columns).astype(object)


def attributes_frame(loaded: Iterable[tuple[int, Record, str]]) -> pd.DataFrame:
    """One row per span attribute value: ``{"span": i, "negated": false}`` is one row.

    Columns: ``record``, ``doc_id``, ``span``, the span's ``start``, ``end`` and ``label``
    (``None`` when ``span`` is not a span index of the record; ``span`` itself is kept if it is
    an integer), ``key`` and ``value``. An entry holding only
    ``span`` gives one row without key. Document-level entries (no ``span``) are left out.
    ``value`` may hold anything an annotator typed: suites flag the expectations reading it
    ``redact_values``.
    """
    rows = []
    for line, record, _ in loaded:
        for entry in record.attributes:
            if "span" not in entry:
                continue
            raw = entry["span"]
            index = _span_index(record, raw)
            where: tuple[Any, ...]
            if index is None:  # an integer still names the entry in reports
                kept = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
                where = (line, record.doc_id, kept, None, None, None)
            else:
                span = record.spans[index]
                where = (line, record.doc_id, index, span.start, span.end, span.label)
            values: list[tuple[str | None, Any]] = [
                (k, v) for k, v in entry.items() if k != "span"
            ] or [(None, None)]
            rows += [(*where, key, value) for key, value in values]
    columns = ["record", "doc_id", "span", "start", "end", "label", "key", "value"]
    return pd.DataFrame(rows, columns=columns).astype(object)


def gold_frame(loaded: LoadedRecords, annotation_keys: set[str]) -> pd.DataFrame:
    """One row per gold record with its provenance: rule, sources cited and found, agreement.

    Gold records carry ``provenance`` (see :mod:`curation.quality.adjudication`):
    ``{"rule": ..., "annotations": [keys], "agreement": float | null, ...}``.
    """
    rows = []
    for line, record, _ in loaded:
        provenance = record.provenance or {}
        cited = [str(k) for k in provenance.get("annotations", [])]
        rows.append(
            (
                line,
                record.doc_id,
                provenance.get("rule"),
                len(cited),
                sum(k in annotation_keys for k in cited),
                provenance.get("agreement"),
            )
        )
    columns = ["record", "doc_id", "rule", "sources", "sources_found", "agreement"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["agreement"] = pd.to_numeric(frame["agreement"], errors="coerce").astype("float64")
    return frame


def gold_labels_frame(loaded: Iterable[tuple[int, Record, str]]) -> pd.DataFrame:
    """One row per gold span label and document label (for the label distribution)."""
    rows = [
        (line, record.doc_id, label)
        for line, record, _ in loaded
        for label in [s.label for s in record.spans] + list(record.labels)
    ]
    return pd.DataFrame(rows, columns=["record", "doc_id", "label"])


def benchmark_frame(
    splits: Mapping[str, Sequence[str]],
    documents: pd.DataFrame,
    replaced: Mapping[str, list[list[int]]] | None = None,
) -> pd.DataFrame:
    """One row per document of a benchmark: doc_id, patient, split, text, surrogate spans.

    ``splits`` maps a split name to its ``doc_id`` list. A ``doc_id`` absent from the
    document table gets no text and no patient.
    """
    by_id = documents.set_index("doc_id")
    known = replaced or {}
    rows = []
    for split, doc_ids in splits.items():
        for doc_id in doc_ids:
            found = doc_id in by_id.index
            rows.append(
                (
                    doc_id,
                    by_id.at[doc_id, "patient_id"] if found else None,
                    split,
                    by_id.at[doc_id, "text"] if found else None,
                    known.get(doc_id, []),
                )
            )
    return pd.DataFrame(rows, columns=["doc_id", "patient_id", "split", "text", "replaced"])


def _length(text: str | None) -> int | None:
    return None if text is None else len(text)
