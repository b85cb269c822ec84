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
>>> from curation.quality.annotations import Annotated
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

from curation.quality.agreement.categorical import (
    ALL_LABELS,
    CategoricalAgreement,
    PairKappa,
    Ratings,
    categorical_agreement,
    choice_ratings,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    multilabel_agreement,
)
from curation.quality.agreement.common import Estimate, F1Count
from curation.quality.agreement.consensus import FLAG_MARGIN, annotator_agreement
from curation.quality.agreement.spans import (
    ModeAgreement,
    ModeIntervals,
    PairAgreement,
    SpanAgreement,
    span_agreement,
)

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
