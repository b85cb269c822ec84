"""Document-level categories: Cohen's and Fleiss' kappas, Krippendorff's alpha, multi-label.

Definitions (observed agreement, unanimous, intervals) in :mod:`curation.quality.agreement`.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score

from curation.metrics.alignment import rounded
from curation.quality.agreement.common import (
    Estimate,
    FloatArray,
    IntArray,
    _bootstrap_dict,
    _check_bootstrap,
    _defined,
    _estimate,
    _weights,
    pair_key,
)
from curation.quality.annotations import Annotated

#: Rating tables: unit id (document) -> annotator -> category (``None``: not rated).
Ratings = Mapping[str, Mapping[str, str | None]]

#: Categories of the binary ratings built by :func:`multilabel_agreement`.
PRESENT, ABSENT = "present", "absent"

#: Key of the pooled entry of :func:`multilabel_agreement`.
ALL_LABELS = "__all__"


# --------------------------------------------------------------------------- result objects


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
    >>> from curation.schema import Record
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
