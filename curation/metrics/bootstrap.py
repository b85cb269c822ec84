"""Bootstrap intervals of strict span F1, micro and per label, resampling documents.

Written on numpy rather than with ``scipy.stats.bootstrap`` because every resample reuses one
matrix of per-document counts (see :func:`bootstrap_f1`), which is far faster on thousands of
documents than re-scoring each resample.

Examples
--------
>>> from curation.schema import Record, Span
>>> # "Mme Durand, née le 12/03/1954" : the name is found, the birth date is not.
>>> gold = [Record("d1", "pseudonymisation", "gold", spans=[
...     Span(4, 10, "NOM", "Durand"), Span(19, 29, "DATE_NAISSANCE", "12/03/1954")])]
>>> pred = [Record("d1", "pseudonymisation", "regles", spans=[Span(4, 10, "NOM", "Durand")])]
>>> result = bootstrap_f1(gold, pred, ["NOM", "DATE_NAISSANCE"], n_resamples=20)
>>> round(result.micro.f1, 4), result.per_label["NOM"].low
(0.6667, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from curation.metrics.alignment import align, label_order, rounded
from curation.metrics.spans import STRICT, LabelScores, document_counts
from curation.schema import Record

_TP, _FP, _FN = 0, 1, 2


# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True, slots=True)
class F1Interval:
    """Strict F1 on the full set and its bootstrap percentile interval.

    ``n_valid`` counts the resamples where F1 is defined (the label has a gold or a predicted
    span in the resample); ``low`` and ``high`` are ``None`` when none is.
    """

    f1: float | None
    low: float | None
    high: float | None
    n_valid: int

    def to_dict(self) -> dict[str, Any]:
        return {"f1": rounded(self.f1), "low": rounded(self.low), "high": rounded(self.high)}


@dataclass(frozen=True, slots=True)
class BootstrapF1:
    """Result of :func:`bootstrap_f1`: strict F1 intervals, micro and per label."""

    micro: F1Interval
    per_label: Mapping[str, F1Interval]
    n_documents: int
    n_resamples: int
    confidence: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict for a DVC metrics file (ratios rounded to 4 decimals)."""
        return {
            "confidence": self.confidence,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "micro": self.micro.to_dict(),
            "per_label": {label: i.to_dict() for label, i in self.per_label.items()},
        }


# --------------------------------------------------------------------------- bootstrap


def _f1(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """F1 from counts whose last axis is (tp, fp, fn); NaN where nothing is gold or predicted."""
    tp, fp, fn = counts[..., _TP], counts[..., _FP], counts[..., _FN]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def _interval(point: float | None, samples: npt.NDArray[np.float64], alpha: float) -> F1Interval:
    valid = samples[~np.isnan(samples)]
    if valid.size == 0:
        return F1Interval(point, None, None, 0)
    low, high = np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return F1Interval(point, float(low), float(high), int(valid.size))


def bootstrap_f1(
    gold: Iterable[Record],
    predicted: Iterable[Record],
    labels: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapF1:
    """Percentile bootstrap intervals of strict F1, micro and per label, over documents.

    Documents of gold are drawn with replacement (predicted documents absent from gold are
    ignored). Per-document per-label counts are computed once; each resample is then a
    weighted sum of that count matrix, so 1000 resamples of 2000 documents take a fraction
    of a second.

    Parameters
    ----------
    gold, predicted, labels
        As for :func:`score_spans`.
    n_resamples
        Number of bootstrap resamples (at least 1).
    seed
        Seed of ``numpy.random.default_rng``: the same seed gives the same intervals.
    confidence
        Coverage of the interval, strictly between 0 and 1.

    Returns
    -------
    BootstrapF1
        Point estimates equal :func:`score_spans`'s strict F1. Resamples where a label has no
        gold and no predicted span are left out of that label's interval.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    aligned = align(gold, predicted)
    order, _ = label_order(labels, aligned)
    counts = document_counts(aligned, order)[:, :, STRICT, :]  # (documents, labels, 3)
    n_docs, n_labels = counts.shape[0], counts.shape[1]
    alpha = 1 - confidence

    totals = counts.sum(axis=0)
    point_label = [LabelScores(*(int(v) for v in row)).f1 for row in totals]
    point_micro = LabelScores(*(int(v) for v in totals.sum(axis=0))).f1

    if n_docs == 0:
        resampled = np.zeros((n_resamples, n_labels, 3))
    else:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, n_docs, size=(n_resamples, n_docs))
        offsets = np.arange(n_resamples)[:, None] * n_docs
        weights = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n_docs)
        weights = weights.reshape(n_resamples, n_docs).astype(np.float64)
        flat = counts.reshape(n_docs, n_labels * 3).astype(np.float64)
        resampled = (weights @ flat).reshape(n_resamples, n_labels, 3)

    label_f1 = _f1(resampled)  # (resamples, labels)
    micro_f1 = _f1(resampled.sum(axis=1))  # (resamples,)
    return BootstrapF1(
        micro=_interval(point_micro, micro_f1, alpha),
        per_label={
            label: _interval(point_label[i], label_f1[:, i], alpha) for i, label in enumerate(order)
        },
        n_documents=n_docs,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


__all__ = ["BootstrapF1", "F1Interval", "bootstrap_f1"]
