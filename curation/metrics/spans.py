"""Span scores: strict and partial precision, recall and F1, per label, micro and macro.

Gold and predictions are :class:`~curation.schema.Record` objects (one per document, the JSONL
format shared by answer keys, predictions and gold), matched by ``doc_id``.

Why the matching is written here rather than taken from a library: seqeval scores BIO tag
sequences over tokens, so it needs one tokenisation shared by gold and system and cannot see
character offsets that cut a token, nor overlapping spans; nervaluate (offset-based partial
matching in the SemEval 2013 style) is not a dependency of the project (and is not installed).
Span matching on character offsets is a few lines; the one-to-one partial matching uses SciPy's
Hungarian algorithm (``linear_sum_assignment``; SciPy comes with scikit-learn).

The PHI leak rate is in :mod:`curation.metrics.leak`, bootstrap intervals of strict F1 in
:mod:`curation.metrics.bootstrap`; documents are paired in :mod:`curation.metrics.alignment`.

Conventions
-----------
- **Strict**: a predicted span is a true positive when a gold span has the same ``start``,
  ``end`` and ``label``. Spans are a multiset: a span predicted twice is matched once, the copy
  is a false positive.
- **Partial**: a predicted span and a gold span of the same label match when they share at
  least one character. Matching is one-to-one: each gold span and each predicted span is used at
  most once, and the matching has the greatest number of pairs, then the greatest total overlap
  (so one predicted span covering two gold spans is one true positive and one false negative).
  Partial true positives are never fewer than strict ones.
- **Zero division**, as seqeval and scikit-learn (``zero_division=0``) do: precision is 0.0
  when nothing was predicted but gold has spans, recall is 0.0 when something was predicted but
  gold has none, and F1 is ``2 tp / (2 tp + fp + fn)`` (0.0 when there is no true positive).
  One exception: a label with no gold span and no predicted span has precision, recall and F1
  ``None`` (``null`` in JSON), never 1.0, and is left out of the macro average.
- **Micro** sums counts over every label scored; **macro F1** averages per-label F1 over the
  labels that occur in gold.
- Labels outside ``labels`` (in predictions or in gold) are scored under their own name, enter
  the micro counts, and are listed in ``unexpected_labels``.
- A gold document without a prediction record predicts nothing; a predicted document that is not
  in gold is ignored and counted in ``unknown_doc_ids``.

Examples
--------
>>> from curation.schema import Record, Span
>>> # "Mme Durand, née le 12/03/1954, hospitalisée au CHU de Lyon."
>>> gold = [Record("d1", "pseudonymisation", "gold", spans=[
...     Span(4, 10, "NOM", "Durand"), Span(19, 29, "DATE_NAISSANCE", "12/03/1954")])]
>>> pred = [Record("d1", "pseudonymisation", "regles", spans=[
...     Span(4, 10, "NOM", "Durand"), Span(19, 25, "DATE", "12/03/")])]
>>> scores = score_spans(gold, pred, ["NOM", "DATE", "DATE_NAISSANCE"])
>>> scores.strict.micro.f1, scores.strict.per_label["DATE"].f1
(0.5, 0.0)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from curation.metrics.alignment import Aligned, Interval, align, label_order, rounded
from curation.schema import Record

#: Matching modes: index of the third axis of :func:`document_counts`.
STRICT, PARTIAL = 0, 1

IntArray = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True, slots=True)
class LabelScores:
    """Counts and ratios of one label, or of all labels together (micro), in one mode."""

    tp: int
    fp: int
    fn: int

    @property
    def support(self) -> int:
        """Number of gold spans."""
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        """Number of predicted spans."""
        return self.tp + self.fp

    @property
    def empty(self) -> bool:
        """No gold span and no predicted span: every ratio is undefined (``None``)."""
        return self.tp + self.fp + self.fn == 0

    @property
    def precision(self) -> float | None:
        if self.empty:
            return None
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float | None:
        if self.empty:
            return None
        return self.tp / self.support if self.support else 0.0

    @property
    def f1(self) -> float | None:
        if self.empty:
            return None
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": rounded(self.precision),
            "recall": rounded(self.recall),
            "f1": rounded(self.f1),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass(frozen=True, slots=True)
class ModeScores:
    """Scores of one matching mode (strict or partial): micro, per label and macro F1."""

    micro: LabelScores
    per_label: Mapping[str, LabelScores]

    @property
    def macro_f1(self) -> float | None:
        """Mean F1 over the labels with at least one gold span; ``None`` when there are none."""
        values = [s.f1 for s in self.per_label.values() if s.support and s.f1 is not None]
        return float(np.mean(values)) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "micro": self.micro.to_dict(),
            "macro_f1": rounded(self.macro_f1),
            "per_label": {label: s.to_dict() for label, s in self.per_label.items()},
        }


@dataclass(frozen=True, slots=True)
class SpanScores:
    """Result of :func:`score_spans`.

    ``missing_doc_ids`` counts gold documents without a prediction record (scored as predicting
    nothing); ``unknown_doc_ids`` counts predicted documents absent from gold (ignored).
    """

    strict: ModeScores
    partial: ModeScores
    labels: tuple[str, ...]
    unexpected_labels: tuple[str, ...]
    n_documents: int
    missing_doc_ids: int
    unknown_doc_ids: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict for a DVC metrics file (ratios rounded to 4 decimals)."""
        return {
            "strict": self.strict.to_dict(),
            "partial": self.partial.to_dict(),
            "documents": {
                "gold": self.n_documents,
                "missing_doc_ids": self.missing_doc_ids,
                "unknown_doc_ids": self.unknown_doc_ids,
            },
            "unexpected_labels": {
                label: {"gold": counts.support, "predicted": counts.predicted}
                for label in self.unexpected_labels
                for counts in (self.strict.per_label[label],)
            },
        }


# --------------------------------------------------------------------------- matching


def match_partial(gold: Sequence[Interval], predicted: Sequence[Interval]) -> list[Interval]:
    """One-to-one pairs ``(gold index, predicted index)`` of overlapping spans.

    The matching has the greatest number of pairs, then the greatest total overlap in
    characters. All spans are assumed to carry the same label.

    Examples
    --------
    >>> # "Dr Jean Martin" : one predicted span over first and last name gives one pair.
    >>> match_partial([(3, 7), (8, 14)], [(3, 14)])
    [(1, 0)]
    """
    if not gold or not predicted:
        return []
    g = np.asarray(gold, dtype=np.int64)
    p = np.asarray(predicted, dtype=np.int64)
    overlap = np.minimum(g[:, 1, None], p[None, :, 1]) - np.maximum(g[:, 0, None], p[None, :, 0])
    linked = overlap > 0
    if not linked.any():
        return []
    if (linked.sum(axis=0) <= 1).all() and (linked.sum(axis=1) <= 1).all():
        rows, cols = np.nonzero(linked)
    else:
        # Any extra pair outweighs all overlap together: most pairs first, then most overlap.
        bonus = int(overlap[linked].sum()) + 1
        weight = np.where(linked, overlap + bonus, 0)
        rows, cols = linear_sum_assignment(weight, maximize=True)
        keep = linked[rows, cols]
        rows, cols = rows[keep], cols[keep]
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]


def document_counts(aligned: Aligned, order: Sequence[str]) -> IntArray:
    """Counts of shape (documents, labels, 2 modes, 3) holding tp, fp and fn."""
    index = {label: i for i, label in enumerate(order)}
    counts = np.zeros((len(aligned.doc_ids), len(order), 2, 3), dtype=np.int64)
    for d, (gold, predicted) in enumerate(zip(aligned.gold, aligned.predicted, strict=True)):
        gold_by: defaultdict[str, list[Interval]] = defaultdict(list)
        pred_by: defaultdict[str, list[Interval]] = defaultdict(list)
        for span in gold:
            gold_by[span.label].append((span.start, span.end))
        for span in predicted:
            pred_by[span.label].append((span.start, span.end))
        for label in gold_by.keys() | pred_by.keys():
            g, p = gold_by[label], pred_by[label]
            strict_tp = sum((Counter(g) & Counter(p)).values())
            partial_tp = len(match_partial(g, p))
            cell = counts[d, index[label]]
            for mode, tp in ((STRICT, strict_tp), (PARTIAL, partial_tp)):
                cell[mode] = (tp, len(p) - tp, len(g) - tp)
    return counts


# --------------------------------------------------------------------------- scores


def score_spans(
    gold: Iterable[Record], predicted: Iterable[Record], labels: Sequence[str]
) -> SpanScores:
    """Strict and partial precision, recall and F1, per label, micro and macro.

    Parameters
    ----------
    gold
        Gold records, one per document (``doc_id`` unique).
    predicted
        Predicted records, one per document; documents may be missing or unknown to gold.
    labels
        Declared label set of the use case, in display order.

    Returns
    -------
    SpanScores
        See the module docstring for the conventions (matching, zero division, ``None``).

    Raises
    ------
    ValueError
        A ``doc_id`` appears twice in one input, or a span has ``start >= end`` or
        ``start < 0``; the message names the record, ``doc_id`` and offsets.
    """
    aligned = align(gold, predicted)
    order, unexpected = label_order(labels, aligned)
    totals = document_counts(aligned, order).sum(axis=0)  # (labels, modes, 3)

    def mode_scores(mode: int) -> ModeScores:
        per_label = {
            label: LabelScores(*(int(v) for v in totals[i, mode])) for i, label in enumerate(order)
        }
        micro = LabelScores(*(int(v) for v in totals[:, mode].sum(axis=0)))
        return ModeScores(micro=micro, per_label=per_label)

    return SpanScores(
        strict=mode_scores(STRICT),
        partial=mode_scores(PARTIAL),
        labels=tuple(dict.fromkeys(labels)),
        unexpected_labels=tuple(unexpected),
        n_documents=len(aligned.doc_ids),
        missing_doc_ids=aligned.missing,
        unknown_doc_ids=aligned.unknown,
    )


__all__ = [
    "LabelScores",
    "ModeScores",
    "SpanScores",
    "match_partial",
    "score_spans",
]
