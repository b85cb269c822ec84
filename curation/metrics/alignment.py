"""Shared ground of the span metrics: gold and predicted records paired by ``doc_id``.

Every span metric (:mod:`~curation.metrics.spans`, :mod:`~curation.metrics.leak`,
:mod:`~curation.metrics.bootstrap`) reads the same inputs, one record per document, and checks
them the same way before scoring.

Examples
--------
>>> from curation.schema import Record, Span
>>> # "Mme Durand hospitalisée au CHU de Lyon." : the second document has no prediction.
>>> gold = [Record("d1", "pseudonymisation", "gold", spans=[Span(4, 10, "NOM", "Durand")]),
...         Record("d2", "pseudonymisation", "gold")]
>>> pred = [Record("d1", "pseudonymisation", "regles", spans=[
...     Span(27, 38, "VILLE", "CHU de Lyon")])]
>>> aligned = align(gold, pred)
>>> aligned.doc_ids, aligned.missing, aligned.unknown
(['d1', 'd2'], 1, 0)
>>> label_order(["NOM"], aligned)
(['NOM', 'VILLE'], ['VILLE'])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from curation.schema import Record, Span

#: Decimals kept by the ``to_dict`` methods (metrics JSON for DVC).
DIGITS = 4

Interval = tuple[int, int]


def rounded(value: float | None) -> float | None:
    """``value`` rounded to :data:`DIGITS` decimals; ``None`` stays ``None``."""
    return None if value is None else round(value, DIGITS)


@dataclass(frozen=True, slots=True)
class Aligned:
    """Gold documents in gold order, each with its gold and predicted spans."""

    doc_ids: list[str]
    gold: list[list[Span]]
    predicted: list[list[Span]]
    missing: int
    unknown: int


def _spans_by_doc(records: Iterable[Record], role: str) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for number, record in enumerate(records, start=1):
        if record.doc_id in out:
            raise ValueError(
                f"{role} record {number}: doc_id {record.doc_id!r} appears twice; "
                "write one record per document with all its spans"
            )
        for span in record.spans:
            if span.start < 0 or span.end <= span.start:
                raise ValueError(
                    f"{role} record {number}, doc_id {record.doc_id!r}: span "
                    f"[{span.start}, {span.end}) labelled {span.label!r} is empty or negative; "
                    "offsets must satisfy 0 <= start < end"
                )
        out[record.doc_id] = record.spans
    return out


def align(gold: Iterable[Record], predicted: Iterable[Record]) -> Aligned:
    """Gold documents with their predicted spans; raises ``ValueError`` on a bad record."""
    gold_by = _spans_by_doc(gold, "gold")
    pred_by = _spans_by_doc(predicted, "predicted")
    doc_ids = list(gold_by)
    return Aligned(
        doc_ids=doc_ids,
        gold=[gold_by[d] for d in doc_ids],
        predicted=[pred_by.get(d, []) for d in doc_ids],
        missing=sum(d not in pred_by for d in doc_ids),
        unknown=sum(d not in gold_by for d in pred_by),
    )


def label_order(labels: Sequence[str], aligned: Aligned) -> tuple[list[str], list[str]]:
    """Declared labels in their order (duplicates dropped), then unexpected ones, sorted."""
    declared = list(dict.fromkeys(labels))
    seen = {s.label for spans in (*aligned.gold, *aligned.predicted) for s in spans}
    unexpected = sorted(seen.difference(declared))
    return declared + unexpected, unexpected
