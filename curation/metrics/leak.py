"""PHI leak rate: the share of gold PHI characters that no predicted span masks.

A pseudonymisation system is judged first on what it lets through: a name predicted with the
wrong label is still masked, so the leak rate ignores labels, unlike the span scores of
:mod:`curation.metrics.spans`. Characters are counted over the union of gold spans.

Examples
--------
>>> from curation.schema import Record, Span
>>> # "Mme Durand, née le 12/03/1954, hospitalisée au CHU de Lyon."
>>> gold = [Record("d1", "pseudonymisation", "gold", spans=[
...     Span(4, 10, "NOM", "Durand"), Span(19, 29, "DATE_NAISSANCE", "12/03/1954")])]
>>> pred = [Record("d1", "pseudonymisation", "regles", spans=[
...     Span(4, 10, "NOM", "Durand"), Span(19, 25, "DATE", "12/03/")])]
>>> leak_rate(gold, pred).leak_rate  # the last 4 characters of the birth date are visible
0.25
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from curation.metrics.alignment import Interval, align, rounded
from curation.schema import Record

# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True, slots=True)
class LeakCount:
    """Gold PHI characters and how many of them no predicted span covers."""

    phi_chars: int
    leaked_chars: int

    @property
    def rate(self) -> float | None:
        """Share of gold PHI characters left visible; ``None`` when gold has none."""
        return self.leaked_chars / self.phi_chars if self.phi_chars else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "leak_rate": rounded(self.rate),
            "phi_chars": self.phi_chars,
            "leaked_chars": self.leaked_chars,
        }


@dataclass(frozen=True, slots=True)
class LeakReport:
    """Result of :func:`leak_rate`.

    ``overall`` counts characters over the union of all gold spans of a document; ``per_label``
    over the union of that label's gold spans, so where gold spans of two labels overlap, the
    per-label counts add up to more than ``overall``.
    """

    overall: LeakCount
    per_label: Mapping[str, LeakCount]
    n_documents: int
    documents_with_leak: int
    n_gold_spans: int
    spans_leaked_entirely: int
    spans_leaked_partially: int
    missing_doc_ids: int
    unknown_doc_ids: int

    @property
    def leak_rate(self) -> float | None:
        """Share of gold PHI characters covered by no predicted span, any label."""
        return self.overall.rate

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict for a DVC metrics file (ratios rounded to 4 decimals)."""
        return {
            **self.overall.to_dict(),
            "documents": {
                "gold": self.n_documents,
                "with_leak": self.documents_with_leak,
                "missing_doc_ids": self.missing_doc_ids,
                "unknown_doc_ids": self.unknown_doc_ids,
            },
            "spans": {
                "gold": self.n_gold_spans,
                "leaked_entirely": self.spans_leaked_entirely,
                "leaked_partially": self.spans_leaked_partially,
            },
            "per_label": {label: c.to_dict() for label, c in self.per_label.items()},
        }


# --------------------------------------------------------------------------- leak rate


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of half-open intervals as sorted, disjoint intervals."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _covered(start: int, end: int, merged: Sequence[Interval], ends: Sequence[int]) -> int:
    """Characters of ``[start, end)`` inside the disjoint sorted intervals ``merged``."""
    total = 0
    i = bisect.bisect_right(ends, start)
    while i < len(merged) and merged[i][0] < end:
        total += min(end, merged[i][1]) - max(start, merged[i][0])
        i += 1
    return total


def _leak(gold: Iterable[Interval], masked: Sequence[Interval], ends: Sequence[int]) -> LeakCount:
    union = _merge(gold)
    phi = sum(e - s for s, e in union)
    return LeakCount(phi, phi - sum(_covered(s, e, masked, ends) for s, e in union))


def leak_rate(gold: Iterable[Record], predicted: Iterable[Record]) -> LeakReport:
    """Share of gold PHI characters that no predicted span covers, whatever its label.

    A name predicted with the wrong label is still masked, so it does not leak. Characters are
    counted over the union of gold spans (overlapping gold spans are not counted twice).

    Parameters
    ----------
    gold
        Gold records, one per document.
    predicted
        Predicted records; a gold document without one leaks all its PHI, a predicted
        document absent from gold is ignored and counted.

    Returns
    -------
    LeakReport
        Overall and per-label character counts and rates (``None`` without gold PHI), documents
        with at least one leaked character, gold spans leaked entirely or partially.
    """
    aligned = align(gold, predicted)
    overall = LeakCount(0, 0)
    per_label: dict[str, LeakCount] = {}
    with_leak = n_spans = entirely = partially = 0
    for gold_spans, pred_spans in zip(aligned.gold, aligned.predicted, strict=True):
        masked = _merge((s.start, s.end) for s in pred_spans)
        ends = [e for _, e in masked]
        doc = _leak(((s.start, s.end) for s in gold_spans), masked, ends)
        overall = LeakCount(
            overall.phi_chars + doc.phi_chars, overall.leaked_chars + doc.leaked_chars
        )
        with_leak += doc.leaked_chars > 0
        by_label: defaultdict[str, list[Interval]] = defaultdict(list)
        for span in gold_spans:
            by_label[span.label].append((span.start, span.end))
            covered = _covered(span.start, span.end, masked, ends)
            n_spans += 1
            entirely += covered == 0
            partially += 0 < covered < span.end - span.start
        for label, intervals in by_label.items():
            count = _leak(intervals, masked, ends)
            before = per_label.get(label, LeakCount(0, 0))
            per_label[label] = LeakCount(
                before.phi_chars + count.phi_chars, before.leaked_chars + count.leaked_chars
            )
    return LeakReport(
        overall=overall,
        per_label=dict(sorted(per_label.items())),
        n_documents=len(aligned.doc_ids),
        documents_with_leak=with_leak,
        n_gold_spans=n_spans,
        spans_leaked_entirely=entirely,
        spans_leaked_partially=partially,
        missing_doc_ids=aligned.missing,
        unknown_doc_ids=aligned.unknown,
    )


__all__ = ["LeakCount", "LeakReport", "leak_rate"]
