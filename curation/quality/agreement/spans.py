"""Span agreement: pairwise and pooled span F1 (exact and overlap) with bootstrap intervals.

Definitions (undefined F1, label confusions, pooling) in :mod:`curation.quality.agreement`.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from curation.metrics.alignment import align, rounded
from curation.metrics.spans import PARTIAL, STRICT, document_counts
from curation.quality.agreement.common import (
    Estimate,
    F1Count,
    FloatArray,
    IntArray,
    _bootstrap_dict,
    _check_bootstrap,
    _estimate,
    _weights,
    pair_key,
)
from curation.quality.annotations import Annotated
from curation.schema import Record, Span

_TP, _FP, _FN = 0, 1, 2


# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True, slots=True)
class ModeAgreement:
    """Span F1 of one matching mode (exact or overlap): micro and per label."""

    micro: F1Count
    per_label: Mapping[str, F1Count]

    def to_dict(self, intervals: ModeIntervals | None = None) -> dict[str, Any]:
        def entry(counts: F1Count, interval: Estimate | None) -> dict[str, Any]:
            out = counts.to_dict()
            if interval is not None:
                out |= {"low": rounded(interval.low), "high": rounded(interval.high)}
            return out

        return {
            "micro": entry(self.micro, intervals.micro if intervals else None),
            "per_label": {
                label: entry(counts, intervals.per_label[label] if intervals else None)
                for label, counts in self.per_label.items()
            },
        }


@dataclass(frozen=True, slots=True)
class ModeIntervals:
    """Bootstrap intervals of one mode's pooled F1, micro and per label."""

    micro: Estimate
    per_label: Mapping[str, Estimate]


@dataclass(frozen=True, slots=True)
class PairAgreement:
    """Span agreement of two annotators (``a`` < ``b``) on the documents both annotated.

    ``confusions`` counts spans with the same offsets and different labels, by
    ``(label given by a, label given by b)``.
    """

    a: str
    b: str
    n_documents: int
    exact: ModeAgreement
    overlap: ModeAgreement
    confusions: Mapping[tuple[str, str], int]
    exact_interval: Estimate

    @property
    def label_confusion(self) -> int:
        return sum(self.confusions.values())

    def to_dict(self) -> dict[str, Any]:
        exact = self.exact.to_dict()
        exact["micro"] |= {
            "low": rounded(self.exact_interval.low),
            "high": rounded(self.exact_interval.high),
        }
        return {
            "a": self.a,
            "b": self.b,
            "documents": self.n_documents,
            "exact": exact,
            "overlap": self.overlap.to_dict(),
            "label_confusion": {
                "count": self.label_confusion,
                "pairs": [
                    {"a": label_a, "b": label_b, "count": count}
                    for (label_a, label_b), count in sorted(self.confusions.items())
                ],
            },
        }


@dataclass(frozen=True, slots=True)
class SpanAgreement:
    """Result of :func:`span_agreement`: every pair of annotators, and all pairs pooled."""

    labels: tuple[str, ...]
    annotators: tuple[str, ...]
    n_documents: int
    pairs: tuple[PairAgreement, ...]
    pooled_exact: ModeAgreement
    pooled_overlap: ModeAgreement
    exact_intervals: ModeIntervals
    overlap_intervals: ModeIntervals
    n_resamples: int
    confidence: float
    seed: int

    @property
    def label_confusion(self) -> int:
        return sum(pair.label_confusion for pair in self.pairs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (ratios rounded to 4 decimals, ``None`` when undefined)."""
        return {
            "labels": list(self.labels),
            "annotators": list(self.annotators),
            "documents": self.n_documents,
            "pooled": {
                "exact": self.pooled_exact.to_dict(self.exact_intervals),
                "overlap": self.pooled_overlap.to_dict(self.overlap_intervals),
                "label_confusion": self.label_confusion,
            },
            "pairs": {pair_key(p.a, p.b): p.to_dict() for p in self.pairs},
            "bootstrap": _bootstrap_dict(self.n_resamples, self.confidence, self.seed),
        }


# --------------------------------------------------------------------------- span agreement


def _by_annotator(groups: Mapping[str, Sequence[Annotated]]) -> dict[str, dict[str, Record]]:
    """doc_id -> annotator -> record; raises when one annotator appears twice on a document."""
    out: dict[str, dict[str, Record]] = {}
    for doc_id, group in groups.items():
        records: dict[str, Record] = {}
        for annotation in group:
            if annotation.annotator in records:
                raise ValueError(
                    f"doc_id {doc_id!r}: annotator {annotation.annotator!r} appears twice; "
                    "keep one annotation per annotator (see quality.annotations.overlapped)"
                )
            records[annotation.annotator] = annotation.record
        out[doc_id] = records
    return out


def _confusions(a: Sequence[Span], b: Sequence[Span]) -> Counter[tuple[str, str]]:
    """Spans with the same offsets and different labels, by (label of a, label of b)."""
    left = Counter((s.start, s.end, s.label) for s in a)
    right = Counter((s.start, s.end, s.label) for s in b)
    common = left & right
    labels_a: defaultdict[tuple[int, int], list[str]] = defaultdict(list)
    labels_b: defaultdict[tuple[int, int], list[str]] = defaultdict(list)
    for source, target in ((left - common, labels_a), (right - common, labels_b)):
        for (start, end, label), n in source.items():
            target[start, end].extend([label] * n)
    out: Counter[tuple[str, str]] = Counter()
    for offsets in labels_a.keys() & labels_b.keys():
        pairs = zip(sorted(labels_a[offsets]), sorted(labels_b[offsets]), strict=False)
        out.update(pairs)
    return out


def _mode(totals: IntArray, order: Sequence[str]) -> ModeAgreement:
    """Agreement of one mode from counts of shape (labels, 3) holding tp, fp and fn."""

    def counts(row: IntArray) -> F1Count:
        tp, fp, fn = (int(v) for v in row)
        return F1Count(matches=tp, spans_a=tp + fn, spans_b=tp + fp)

    return ModeAgreement(
        micro=counts(totals.sum(axis=0)),
        per_label={label: counts(totals[i]) for i, label in enumerate(order)},
    )


def _f1(counts: FloatArray) -> FloatArray:
    """F1 from counts whose last axis is (tp, fp, fn); NaN where neither side has a span."""
    tp, fp, fn = counts[..., _TP], counts[..., _FP], counts[..., _FN]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def _mode_intervals(
    counts: IntArray, point: ModeAgreement, order: Sequence[str], weights: FloatArray, level: float
) -> ModeIntervals:
    """Intervals of one mode from per-document counts of shape (documents, labels, 3)."""
    n_docs, n_labels = counts.shape[0], counts.shape[1]
    flat = counts.reshape(n_docs, n_labels * 3).astype(np.float64)
    resampled = (weights @ flat).reshape(len(weights), n_labels, 3)
    per_label = _f1(resampled)
    return ModeIntervals(
        micro=_estimate(point.micro.f1, _f1(resampled.sum(axis=1)), level),
        per_label={
            label: _estimate(point.per_label[label].f1, per_label[:, i], level)
            for i, label in enumerate(order)
        },
    )


def _pair(
    a: str,
    b: str,
    docs: Sequence[str],
    records: Mapping[str, Mapping[str, Record]],
    order: Sequence[str],
    bootstrap: tuple[int, int, float],
) -> tuple[PairAgreement, IntArray]:
    """Agreement of ``a`` and ``b``, and its per-document counts (documents, labels, 2, 3)."""
    n_resamples, seed, confidence = bootstrap
    aligned = align([records[d][a] for d in docs], [records[d][b] for d in docs])
    confusions: Counter[tuple[str, str]] = Counter()
    for spans_a, spans_b in zip(aligned.gold, aligned.predicted, strict=True):
        confusions += _confusions(spans_a, spans_b)
    counts = document_counts(aligned, order)
    totals = counts.sum(axis=0)
    exact = _mode(totals[:, STRICT], order)
    micro = counts[:, :, STRICT].sum(axis=1).astype(np.float64)  # (documents, 3)
    samples = _f1(_weights(len(docs), n_resamples, seed) @ micro)
    interval = _estimate(exact.micro.f1, samples, confidence)
    overlap = _mode(totals[:, PARTIAL], order)
    return PairAgreement(a, b, len(docs), exact, overlap, dict(confusions), interval), counts


def span_agreement(
    groups: Mapping[str, Sequence[Annotated]],
    labels: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> SpanAgreement:
    """Pairwise and pooled span F1 between annotators, exact and overlap, with intervals.

    Parameters
    ----------
    groups
        doc_id -> the annotations of that document, one per distinct annotator (as
        :func:`~curation.quality.annotations.overlapped` returns them).
    labels
        Declared labels of the use case, in display order; other labels found in the
        annotations are scored under their own name, after them, sorted.
    n_resamples, seed, confidence
        Percentile bootstrap over documents (for the pooled F1, micro and per label, and each
        pair's exact micro F1 over that pair's documents).

    Returns
    -------
    SpanAgreement
        See :mod:`curation.quality.agreement` for the definitions and the undefined
        (``None``) cases.

    Raises
    ------
    ValueError
        An annotator appears twice on a document, or a span has bad offsets.
    """
    _check_bootstrap(n_resamples, confidence)
    records = _by_annotator(groups)
    declared = list(dict.fromkeys(labels))
    seen = {s.label for doc in records.values() for r in doc.values() for s in r.spans}
    order = declared + sorted(seen.difference(declared))
    annotators = sorted({name for doc in records.values() for name in doc})
    shared = [d for d, doc in records.items() if len(doc) >= 2]
    index = {d: i for i, d in enumerate(shared)}
    pooled = np.zeros((len(shared), len(order), 2, 3), dtype=np.int64)
    pairs = []
    for a, b in itertools.combinations(annotators, 2):
        docs = [d for d in shared if a in records[d] and b in records[d]]
        if not docs:
            continue
        pair, counts = _pair(a, b, docs, records, order, (n_resamples, seed, confidence))
        pooled[[index[d] for d in docs]] += counts
        pairs.append(pair)
    totals = pooled.sum(axis=0)
    weights = _weights(len(shared), n_resamples, seed)
    modes = {mode: _mode(totals[:, mode], order) for mode in (STRICT, PARTIAL)}
    intervals = {
        mode: _mode_intervals(pooled[:, :, mode], modes[mode], order, weights, confidence)
        for mode in (STRICT, PARTIAL)
    }
    return SpanAgreement(
        labels=tuple(order),
        annotators=tuple(annotators),
        n_documents=len(shared),
        pairs=tuple(pairs),
        pooled_exact=modes[STRICT],
        pooled_overlap=modes[PARTIAL],
        exact_intervals=intervals[STRICT],
        overlap_intervals=intervals[PARTIAL],
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
