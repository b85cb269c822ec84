"""Inter-annotator agreement: pairwise span F1, kappas and alpha, agreement with a consensus.

Pure statistics on :class:`~curation.quality.annotations.Annotated` objects and rating tables;
no I/O and no Label Studio. The ``agree`` quality gate calls these functions and writes their
``to_dict()`` output (ratios rounded to 4 decimals, ``None`` where a value is undefined, never
NaN).

Definitions
-----------
- **Pairwise span F1** between annotators A and B on the documents both annotated:
  ``2 m / (|A| + |B|)``, where ``m`` is the number of matched spans. It is symmetric and equals
  the F1 of B scored against A as gold, with the scorer's conventions
  (:mod:`curation.metrics.spans`): **exact** = same ``start``, ``end`` and ``label``;
  **overlap** = same label and at least one shared character, one-to-one matching. A label
  must match in both modes: the same offsets under two labels is a disagreement, counted
  apart as a *label confusion* so that it stays visible.
- **Undefined is not perfect**: when neither side has a span (of one label, or at all), F1 is
  ``None``, with the counts ``0/0`` beside it; some tools report 1.0 there, which hides that
  nothing was compared. One side empty and the other not, or disjoint spans, give 0.0.
- **Pooled** F1 sums the counts of every pair of annotators on its shared documents.
- **Cohen's kappa** (two raters), **Fleiss' kappa** (any number of raters per unit) and
  **Krippendorff's alpha** (nominal, missing values allowed) for document-level categories:
  ``(observed - expected) / (1 - expected)`` agreement, chance-corrected. A unit (document)
  needs two ratings to enter Fleiss' kappa and alpha.
- **Observed agreement** is the mean over units of the share of agreeing pairs of ratings
  (Fleiss' ``P̄``); **unanimous** is the share of units whose ratings all agree.
- **Intervals** are percentile bootstrap intervals resampling documents (units) with
  replacement, drawn from ``numpy.random.default_rng(seed)``; each interval draws from a fresh
  generator, so it depends only on its own data and the seed. Resamples where the statistic is
  undefined are left out (``n_valid`` counts the others).

Examples
--------
>>> from curation.schema import Record, Span
>>> def annotated(who, spans):
...     record = Record("d1", "pseudonymisation", f"annotator:{who}", spans=spans)
...     return Annotated(record, f"annotator:{who}")
>>> # "Mme Durand, née le 12/03/1954" : both mark the name, only one marks the whole date.
>>> groups = {"d1": [
...     annotated("a", [Span(4, 10, "NOM", "Durand"), Span(19, 29, "DATE", "12/03/1954")]),
...     annotated("b", [Span(4, 10, "NOM", "Durand"), Span(19, 24, "DATE", "12/03")])]}
>>> result = span_agreement(groups, ["NOM", "DATE"], n_resamples=50)
>>> result.pooled_exact.micro.f1, result.pooled_overlap.micro.f1
(0.5, 1.0)
>>> cohen_kappa(["oui", "oui", "non", "non"], ["oui", "non", "non", "non"])
0.5
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import cohen_kappa_score

from curation.metrics.alignment import align, rounded
from curation.metrics.spans import PARTIAL, STRICT, document_counts, score_spans
from curation.quality.annotations import Annotated
from curation.schema import Record, Span

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Rating tables: unit id (document) -> annotator -> category (``None``: not rated).
Ratings = Mapping[str, Mapping[str, str | None]]

#: An annotator is flagged when their F1 with the consensus is below the median minus this.
FLAG_MARGIN = 0.1

#: Categories of the binary ratings built by :func:`multilabel_agreement`.
PRESENT, ABSENT = "present", "absent"

#: Key of the pooled entry of :func:`multilabel_agreement`.
ALL_LABELS = "__all__"

_TP, _FP, _FN = 0, 1, 2


def pair_key(a: str, b: str) -> str:
    """Key of a pair of annotators in the ``to_dict`` outputs (JSON keys are strings)."""
    return f"{a} vs {b}"


# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True, slots=True)
class Estimate:
    """A statistic on the full data and its bootstrap percentile interval (``None``: undefined)."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n_valid: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"value": rounded(self.value), "low": rounded(self.low), "high": rounded(self.high)}


@dataclass(frozen=True, slots=True)
class F1Count:
    """Matched spans and span counts of side A and side B (summed over pairs when pooled)."""

    matches: int
    spans_a: int
    spans_b: int

    @property
    def f1(self) -> float | None:
        """``2 matches / (spans_a + spans_b)``; ``None`` when neither side has a span."""
        total = self.spans_a + self.spans_b
        return 2 * self.matches / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "f1": rounded(self.f1),
            "matches": self.matches,
            "spans_a": self.spans_a,
            "spans_b": self.spans_b,
        }


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


@dataclass(frozen=True, slots=True)
class PairKappa:
    """Cohen's kappa and raw agreement of two annotators on the units both rated."""

    a: str
    b: str
    n_units: int
    kappa: float | None
    agreement: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "units": self.n_units,
            "cohen_kappa": rounded(self.kappa),
            "agreement": rounded(self.agreement),
        }


@dataclass(frozen=True, slots=True)
class CategoricalAgreement:
    """Result of :func:`categorical_agreement` (units rated by at least two annotators)."""

    annotators: tuple[str, ...]
    categories: tuple[str, ...]
    n_units: int
    n_ratings: int
    observed_agreement: float | None
    unanimous: float | None
    fleiss_kappa: Estimate
    krippendorff_alpha: Estimate
    pairs: tuple[PairKappa, ...]
    n_resamples: int
    confidence: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (ratios rounded to 4 decimals, ``None`` when undefined)."""
        return {
            "annotators": list(self.annotators),
            "categories": list(self.categories),
            "units": self.n_units,
            "ratings": self.n_ratings,
            "observed_agreement": rounded(self.observed_agreement),
            "unanimous": rounded(self.unanimous),
            "fleiss_kappa": self.fleiss_kappa.to_dict(),
            "krippendorff_alpha": self.krippendorff_alpha.to_dict(),
            "pairs": {pair_key(p.a, p.b): p.to_dict() for p in self.pairs},
            "bootstrap": _bootstrap_dict(self.n_resamples, self.confidence, self.seed),
        }


def _bootstrap_dict(n_resamples: int, confidence: float, seed: int) -> dict[str, Any]:
    return {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}


# --------------------------------------------------------------------------- bootstrap


def _check_bootstrap(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def _weights(n_units: int, n_resamples: int, seed: int) -> FloatArray:
    """How many times each unit is drawn in each resample: shape (resamples, units)."""
    if n_units == 0:
        return np.zeros((n_resamples, 0))
    draws = np.random.default_rng(seed).integers(0, n_units, size=(n_resamples, n_units))
    offsets = np.arange(n_resamples)[:, None] * n_units
    counts = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n_units)
    return counts.reshape(n_resamples, n_units).astype(np.float64)


def _estimate(point: float | None, samples: FloatArray, confidence: float) -> Estimate:
    """Percentile interval of the defined (non-NaN) samples around ``point``."""
    valid = samples[~np.isnan(samples)]
    if point is None or valid.size == 0:
        return Estimate(point, None, None, int(valid.size))
    alpha = 1 - confidence
    low, high = np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return Estimate(point, float(low), float(high), int(valid.size))


def _defined(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


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
        See the module docstring for the definitions and the undefined (``None``) cases.

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


# --------------------------------------------------------------------------- categorical


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters on the same units (scikit-learn's ``cohen_kappa_score``).

    Returns ``None`` when kappa is undefined (0/0): no unit, or both raters used one and the
    same category everywhere (expected agreement is 1). Perfect agreement with expected
    agreement below 1 gives 1.0.

    Examples
    --------
    >>> # Réponse au traitement selon deux oncologues, sur trois comptes rendus.
    >>> cohen_kappa(["complete", "partielle", "stable"], ["complete", "partielle", "stable"])
    1.0
    >>> cohen_kappa(["stable", "stable"], ["stable", "stable"]) is None
    True
    """
    if len(a) != len(b):
        raise ValueError(f"the two raters must rate the same units, got {len(a)} and {len(b)}")
    if len(set(a) | set(b)) < 2:
        return None
    return _defined(float(cohen_kappa_score(list(a), list(b))))


def _table(ratings: Ratings) -> tuple[list[str], IntArray]:
    """Categories and counts (units, categories) of the units with at least two ratings."""
    rows = [
        Counter(value for value in by_rater.values() if value is not None)
        for by_rater in ratings.values()
    ]
    rows = [row for row in rows if row.total() >= 2]
    categories = sorted({category for row in rows for category in row})
    table = np.array([[row[c] for c in categories] for row in rows], dtype=np.int64)
    return categories, table.reshape(len(rows), len(categories))


def _fleiss(table: IntArray, weights: FloatArray) -> FloatArray:
    """Fleiss' kappa for each row of ``weights`` (resamples, units); NaN when undefined."""
    n_i = table.sum(axis=1).astype(np.float64)
    p_i = (table * (table - 1)).sum(axis=1) / (n_i * (n_i - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        p_bar = weights @ p_i / weights.sum(axis=1)
        p_j = weights @ table / (weights @ n_i)[:, None]
        p_e = (p_j**2).sum(axis=1)
        return np.where(p_e < 1 - 1e-12, (p_bar - p_e) / (1 - p_e), np.nan)


def _alpha(table: IntArray, weights: FloatArray) -> FloatArray:
    """Nominal Krippendorff's alpha for each row of ``weights``; NaN when undefined.

    ``1 - (n - 1) sum_u d_u / (n^2 - sum_c n_c^2)``, where ``d_u = (m_u^2 - sum_c n_uc^2) /
    (m_u - 1)`` is the off-diagonal mass that unit ``u`` puts in the coincidence matrix.
    """
    m_u = table.sum(axis=1).astype(np.float64)
    d_u = (m_u**2 - (table**2).sum(axis=1)) / (m_u - 1)
    n_c = weights @ table
    n = n_c.sum(axis=1)
    expected = n**2 - (n_c**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1 - (n - 1) * (weights @ d_u) / expected, np.nan)


def _point(statistic: FloatArray) -> float | None:
    return _defined(float(statistic[0])) if statistic.size else None


def fleiss_kappa(ratings: Ratings) -> float | None:
    """Fleiss' kappa with any number of raters per unit (units rated fewer than twice ignored).

    ``P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1))``, ``P̄`` the mean of ``P_i``, ``p_j`` the
    share of all ratings in category ``j``, ``P_e = sum_j p_j^2``, kappa ``(P̄ - P_e) / (1 -
    P_e)``. Written here because statsmodels (which has it) is not a dependency and the
    formula is a few lines of numpy; ``None`` when undefined (no unit, or ``P_e == 1``).

    Examples
    --------
    >>> # Trois comptes rendus, trois annotateurs : "iii" = progression, "ii" = stable.
    >>> kappa = fleiss_kappa({"d1": {"a": "iii", "b": "iii", "c": "iii"},
    ...                       "d2": {"a": "ii", "b": "ii", "c": "ii"},
    ...                       "d3": {"a": "iii", "b": "iii", "c": "ii"}})
    >>> round(kappa, 4)
    0.55
    """
    _, table = _table(ratings)
    if not len(table):
        return None
    return _point(_fleiss(table, np.ones((1, len(table)))))


def krippendorff_alpha(ratings: Ratings, level: str = "nominal") -> float | None:
    """Krippendorff's alpha for nominal data, with missing values, via the coincidence matrix.

    Written here, nominal only, because the ``krippendorff`` package is not a dependency and
    nominal alpha is a dozen lines; ``None`` when undefined (no unit rated twice, or a single
    category overall, ``D_e == 0``).

    Raises
    ------
    ValueError
        ``level`` is not ``"nominal"``.
    """
    if level != "nominal":
        raise ValueError(f"only nominal Krippendorff's alpha is implemented, got level {level!r}")
    _, table = _table(ratings)
    if not len(table):
        return None
    return _point(_alpha(table, np.ones((1, len(table)))))


def _pair_kappas(ratings: Ratings, annotators: Sequence[str]) -> list[PairKappa]:
    out = []
    for a, b in itertools.combinations(annotators, 2):
        both = [
            (by_rater[a], by_rater[b])
            for by_rater in ratings.values()
            if by_rater.get(a) is not None and by_rater.get(b) is not None
        ]
        if not both:
            continue
        left = [str(x) for x, _ in both]
        right = [str(y) for _, y in both]
        agreement = sum(x == y for x, y in both) / len(both)
        out.append(PairKappa(a, b, len(both), cohen_kappa(left, right), agreement))
    return out


def categorical_agreement(
    ratings: Ratings, n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> CategoricalAgreement:
    """Cohen's kappa per pair, Fleiss' kappa and Krippendorff's alpha, with unit bootstrap.

    Parameters
    ----------
    ratings
        unit id (document) -> annotator -> category; a missing annotator or ``None`` is a
        missing value.
    n_resamples, seed, confidence
        Percentile bootstrap over the units rated at least twice (for Fleiss and alpha).
    """
    _check_bootstrap(n_resamples, confidence)
    categories, table = _table(ratings)
    annotators = sorted(
        {name for by_rater in ratings.values() for name, v in by_rater.items() if v is not None}
    )
    n_units = len(table)
    ones = np.ones((1, n_units))
    weights = _weights(n_units, n_resamples, seed)
    fleiss = _estimate(_point(_fleiss(table, ones)), _fleiss(table, weights), confidence)
    alpha = _estimate(_point(_alpha(table, ones)), _alpha(table, weights), confidence)
    n_i = table.sum(axis=1)
    observed = (table * (table - 1)).sum(axis=1) / (n_i * (n_i - 1)) if n_units else None
    return CategoricalAgreement(
        annotators=tuple(annotators),
        categories=tuple(categories),
        n_units=n_units,
        n_ratings=int(n_i.sum()),
        observed_agreement=float(np.mean(observed)) if observed is not None else None,
        unanimous=float(np.mean(table.max(axis=1) == n_i)) if n_units else None,
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        pairs=tuple(_pair_kappas(ratings, annotators)),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


def choice_ratings(groups: Mapping[str, Sequence[Annotated]]) -> dict[str, dict[str, str | None]]:
    """Ratings of a single-choice use case: the first label of each record (``None`` if none).

    Examples
    --------
    >>> record = Record("d1", "oncology_response", "annotator:a", labels=["reponse_partielle"])
    >>> choice_ratings({"d1": [Annotated(record, "annotator:a")]})
    {'d1': {'annotator:a': 'reponse_partielle'}}
    """
    return {
        doc_id: {a.annotator: a.record.labels[0] if a.record.labels else None for a in group}
        for doc_id, group in groups.items()
    }


def multilabel_agreement(
    groups: Mapping[str, Sequence[Annotated]],
    labels: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, CategoricalAgreement]:
    """Binary (present/absent) agreement per label of a document-level multi-label use case.

    Only labels that at least one annotator used are scored (declared ones in their order,
    then the others, sorted): a label nobody used would show perfect raw agreement and an
    undefined kappa. The :data:`ALL_LABELS` entry pools every (document, label) pair of those
    labels as one unit (its bootstrap resamples these pairs).
    """
    used = {label for anns in groups.values() for a in anns for label in a.record.labels}
    declared = [label for label in dict.fromkeys(labels) if label in used]
    order = declared + sorted(used.difference(declared))
    per_label: dict[str, dict[str, dict[str, str | None]]] = {label: {} for label in order}
    for doc_id, group in groups.items():
        for label in order:
            per_label[label][doc_id] = {
                a.annotator: PRESENT if label in a.record.labels else ABSENT for a in group
            }
    out = {
        label: categorical_agreement(ratings, n_resamples, seed, confidence)
        for label, ratings in per_label.items()
    }
    pooled = {
        f"{doc_id}\x1f{label}": by_rater
        for label, ratings in per_label.items()
        for doc_id, by_rater in ratings.items()
    }
    out[ALL_LABELS] = categorical_agreement(pooled, n_resamples, seed, confidence)
    return out


# --------------------------------------------------------------------------- consensus


def _latest_by_annotator(
    annotations: Sequence[Annotated], consensus: Mapping[str, Record]
) -> dict[str, dict[str, Record]]:
    """annotator -> doc_id -> record (last annotation kept; cancelled, review, no consensus out)."""
    out: dict[str, dict[str, Record]] = defaultdict(dict)
    for annotation in annotations:
        if annotation.cancelled or annotation.review or annotation.doc_id not in consensus:
            continue
        out[annotation.annotator][annotation.doc_id] = annotation.record
    return dict(sorted(out.items()))


def _span_entry(
    records: Mapping[str, Record], consensus: Mapping[str, Record], labels: Sequence[str]
) -> tuple[dict[str, Any], float | None]:
    """One annotator's span agreement with the consensus, and the F1 their flag reads."""
    scores = score_spans([consensus[d] for d in records], records.values(), labels)
    entry = {
        "documents": len(records),
        "exact_f1": rounded(scores.strict.micro.f1),
        "overlap_f1": rounded(scores.partial.micro.f1),
        "exact_precision": rounded(scores.strict.micro.precision),
        "exact_recall": rounded(scores.strict.micro.recall),
    }
    return entry, scores.strict.micro.f1


def _label_entry(
    records: Mapping[str, Record], consensus: Mapping[str, Record]
) -> tuple[dict[str, Any], float | None]:
    """One annotator's label-set agreement with the consensus, and the F1 their flag reads."""
    tp = fp = fn = exact = 0
    for doc_id, record in records.items():
        given, expected = set(record.labels), set(consensus[doc_id].labels)
        tp += len(given & expected)
        fp += len(given - expected)
        fn += len(expected - given)
        exact += given == expected
    total = 2 * tp + fp + fn
    f1 = 2 * tp / total if total else None
    entry = {
        "documents": len(records),
        "f1": rounded(f1),
        "exact_set_accuracy": rounded(exact / len(records)),
    }
    return entry, f1


def annotator_agreement(
    annotations: Sequence[Annotated],
    consensus: Mapping[str, Record],
    kind: str,
    labels: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Each annotator's agreement with the consensus, and a flag for who needs feedback.

    Each annotator is scored on the documents they annotated that have a consensus record
    (their last annotation of a document; cancelled and review annotations left out), the
    consensus serving as gold. ``kind == "spans"``: exact and overlap micro F1 (with exact
    precision and recall: below-median recall means missed spans); ``kind == "labels"``:
    micro F1 over label sets and the share of documents whose label set equals the
    consensus.

    Flag rule: with ``f`` the exact F1 (spans) or label F1 (labels), an annotator is flagged
    when ``f < median(f over annotators) - FLAG_MARGIN`` (0.1). Annotators whose F1 is
    undefined are neither flagged nor counted in the median; ``flag_threshold`` is the
    median minus the margin.

    Raises
    ------
    ValueError
        ``kind`` is neither ``"spans"`` nor ``"labels"``.
    """
    if kind not in ("spans", "labels"):
        raise ValueError(f"kind must be 'spans' or 'labels', got {kind!r}")
    by_annotator = _latest_by_annotator(annotations, consensus)
    scored = {
        name: _span_entry(records, consensus, labels)
        if kind == "spans"
        else _label_entry(records, consensus)
        for name, records in by_annotator.items()
    }
    values = [f1 for _, f1 in scored.values() if f1 is not None]
    threshold = statistics.median(values) - FLAG_MARGIN if values else None
    out = {}
    for name, (entry, f1) in scored.items():
        flag = threshold is not None and f1 is not None and f1 < threshold
        out[name] = entry | {"flag_threshold": rounded(threshold), "flag": flag}
    return out


__all__ = [
    "ALL_LABELS",
    "FLAG_MARGIN",
    "CategoricalAgreement",
    "Estimate",
    "F1Count",
    "ModeAgreement",
    "ModeIntervals",
    "PairAgreement",
    "PairKappa",
    "Ratings",
    "SpanAgreement",
    "annotator_agreement",
    "categorical_agreement",
    "choice_ratings",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "multilabel_agreement",
    "span_agreement",
]
