"""Oncology extraction scores: spans, relations between spans, and span attributes.

The metric of ``oncology_extraction`` (``UseCase.metric``), called like every use case's metric
as ``extraction_metrics(gold, predicted, use_case, groups)``. Nothing in it names the use case:
relation types come from ``UseCase.relations`` and attributes from ``UseCase.span_attributes``.

Sections of the result
----------------------
Spans (``strict``, ``partial``, ``documents``, ``unexpected_labels``, ``bootstrap``,
``by_group``)
    Exactly the shape of :func:`curation.metrics.scoring.span_metrics` (conventions in
    :mod:`curation.metrics.spans`), so :mod:`curation.metrics.summary`, the ``score`` stage and
    the release baselines read it unchanged.
``relations``
    A relation is ``(type, from span, to span)``, each span compared by ``(start, end, label)``.
    **Strict**: a predicted relation is a true positive when a gold relation has the same type
    and both endpoints equal; relations are a multiset, as spans are. **Partial**: same type,
    and each endpoint overlaps (at least one character) the gold endpoint of the same label;
    matching is one-to-one with the most pairs, then the most overlap. The direction counts: a
    relation from the result to the biomarker matches nothing. ``micro`` and ``per_type`` hold
    precision, recall, F1 and counts with the zero-division conventions of spans (``None``
    when a type has no gold and no predicted relation); types outside ``UseCase.relations``
    are scored under their own name and listed in ``unexpected_types``. ``bootstrap`` holds
    percentile intervals of strict F1 (micro and per type) over documents drawn with
    replacement; ``by_group`` the strict micro scores per group of documents.
``attributes``
    Scored on the gold spans matched strictly by a predicted span (``matched_spans`` of
    ``gold_spans``), so that an attribute error is not counted twice with a missed span. For
    every declared attribute: ``spans`` scored, ``correct`` and ``accuracy`` (``None`` with no
    span). A **flag** (``negated``...) absent or not ``true`` is false; ``true_class`` holds
    precision, recall and F1 of ``true``, the rare class that accuracy hides. A **value**
    (``status``) is scored only on spans of its labels (``BIOMARKER_RESULT``); a missing
    value is :data:`MISSING`; ``confusion`` counts gold (rows) against predicted (columns)
    values and ``per_value`` holds precision, recall and F1 of each value.

Predicted documents absent from gold are ignored (counted in ``documents.unknown_doc_ids``);
a gold document without a prediction predicts nothing. A relation whose endpoint is not a span
index of its record raises ``ValueError`` naming the record.

Why written here: no installed library scores relations between character-offset spans or
attributes of matched spans; the one-to-one partial matching uses SciPy's Hungarian algorithm.

Examples
--------
>>> from curation.schema import Record, Span
>>> from curation.usecases import get
>>> # "Mutation EGFR : présence." : the biomarker and its result, one relation.
>>> spans = [Span(9, 13, "BIOMARKER", "EGFR"), Span(16, 24, "BIOMARKER_RESULT", "présence")]
>>> attributes = [{"span": 0, "negated": False}, {"span": 1, "status": "positive"}]
>>> gold = [Record("d1", "oncology_extraction", "gold", spans=spans, attributes=attributes,
...                relations=[{"from": 0, "to": 1, "type": "has_result"}])]
>>> pred = [Record("d1", "oncology_extraction", "modele", spans=spans,
...                attributes=[{"span": 1, "status": "negative"}])]
>>> scores = extraction_metrics(gold, pred, get("oncology_extraction"), n_resamples=10)
>>> scores["strict"]["micro"]["f1"], scores["relations"]["strict"]["micro"]["recall"]
(1.0, 0.0)
>>> scores["attributes"]["status"]["accuracy"], scores["attributes"]["negated"]["accuracy"]
(0.0, 1.0)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from curation.metrics.alignment import rounded
from curation.metrics.bootstrap import F1Interval, bootstrap_f1
from curation.metrics.spans import PARTIAL, STRICT, LabelScores, ModeScores, score_spans
from curation.schema import Record, Span
from curation.usecases.base import SpanAttribute, UseCase

#: A span as relations and attributes compare it.
SpanKey = tuple[int, int, str]
#: A relation: type, from span, to span.
RelationKey = tuple[str, SpanKey, SpanKey]
#: How a missing attribute value is named in confusion tables.
MISSING = "(missing)"

FloatArray = npt.NDArray[np.float64]


def extraction_metrics(
    gold_records: Iterable[Record],
    predicted_records: Iterable[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Span, relation and attribute scores of predictions against gold (see module docstring).

    Parameters
    ----------
    gold_records, predicted_records
        One record per document (``doc_id`` unique in each).
    use_case
        The declaration: span labels, relation types, span attributes.
    groups
        ``doc_id`` -> group (e.g. the document type): adds ``by_group`` breakdowns.
    n_resamples, seed
        Bootstrap resamples of documents and the seed of their draw (same seed, same intervals).
    """
    gold, predicted = list(gold_records), list(predicted_records)
    # the span sections of scoring.span_metrics, with the bootstrap's resamples and seed
    scores = score_spans(gold, predicted, use_case.labels).to_dict()
    scores["bootstrap"] = bootstrap_f1(
        gold, predicted, use_case.labels, n_resamples=n_resamples, seed=seed
    ).to_dict()
    if groups:
        by_group: dict[str, list[Record]] = defaultdict(list)
        for record in gold:
            by_group[groups.get(record.doc_id, "unknown")].append(record)
        scores["by_group"] = {
            group: score_spans(records, predicted, use_case.labels).to_dict()["strict"]["micro"]
            for group, records in sorted(by_group.items())
        }
    by_id = {r.doc_id: r for r in predicted}
    pairs = [(record, by_id.get(record.doc_id)) for record in gold]
    scores["relations"] = relation_scores(
        pairs, use_case.relations, groups, n_resamples=n_resamples, seed=seed
    )
    scores["attributes"] = attribute_scores(pairs, use_case.span_attributes)
    return scores


# --------------------------------------------------------------------------- relations


def relation_keys(record: Record, role: str) -> list[RelationKey]:
    """The relations of ``record`` with their endpoints as span keys.

    Raises
    ------
    ValueError
        An endpoint is not a span index of the record (names the record and the relation).
    """
    keys = []
    for number, relation in enumerate(record.relations):
        ends = []
        for end in ("from", "to"):
            index = relation.get(end)
            if not isinstance(index, int) or isinstance(index, bool):
                index = -1
            if not 0 <= index < len(record.spans):
                raise ValueError(
                    f"{role} record doc_id {record.doc_id!r}: relation {number} has "
                    f"{end}={relation.get(end)!r}, not a span index (0 to "
                    f"{len(record.spans) - 1}); relations link spans by their position"
                )
            ends.append(_key(record.spans[index]))
        keys.append((str(relation.get("type")), ends[0], ends[1]))
    return keys


def _key(span: Span) -> SpanKey:
    return (span.start, span.end, span.label)


def _overlap(a: SpanKey, b: SpanKey) -> int:
    """Characters shared by two spans of the same label (0 for different labels)."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0])) if a[2] == b[2] else 0


def match_relations(
    gold: Sequence[RelationKey], predicted: Sequence[RelationKey]
) -> list[tuple[int, int]]:
    """One-to-one pairs ``(gold index, predicted index)`` of partially matching relations.

    Two relations match when they have the same type and each endpoint overlaps the other's
    endpoint of the same label; the matching has the most pairs, then the most overlap.

    Examples
    --------
    >>> # "EGFR muté" : the result span drawn one character short still matches.
    >>> match_relations([("has_result", (0, 4, "BIOMARKER"), (5, 9, "BIOMARKER_RESULT"))],
    ...                 [("has_result", (0, 4, "BIOMARKER"), (5, 8, "BIOMARKER_RESULT"))])
    [(0, 0)]
    """
    if not gold or not predicted:
        return []
    overlap = np.zeros((len(gold), len(predicted)), dtype=np.int64)
    for i, g in enumerate(gold):
        for j, p in enumerate(predicted):
            first, second = _overlap(g[1], p[1]), _overlap(g[2], p[2])
            if g[0] == p[0] and first and second:
                overlap[i, j] = first + second
    linked = overlap > 0
    if not linked.any():
        return []
    bonus = int(overlap.sum()) + 1  # any extra pair outweighs all overlap together
    rows, cols = linear_sum_assignment(np.where(linked, overlap + bonus, 0), maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if linked[r, c]]


def relation_counts(
    pairs: Sequence[tuple[Record, Record | None]], order: Sequence[str]
) -> npt.NDArray[np.int64]:
    """Counts of shape (documents, types, 2 modes, 3) holding tp, fp and fn."""
    index = {kind: i for i, kind in enumerate(order)}
    counts = np.zeros((len(pairs), len(order), 2, 3), dtype=np.int64)
    for d, (gold, predicted) in enumerate(pairs):
        gold_by: defaultdict[str, list[RelationKey]] = defaultdict(list)
        pred_by: defaultdict[str, list[RelationKey]] = defaultdict(list)
        for key in relation_keys(gold, "gold"):
            gold_by[key[0]].append(key)
        for key in relation_keys(predicted, "predicted") if predicted else []:
            pred_by[key[0]].append(key)
        for kind in gold_by.keys() | pred_by.keys():
            g, p = gold_by[kind], pred_by[kind]
            strict = sum((Counter(g) & Counter(p)).values())
            partial = len(match_relations(g, p))
            for mode, tp in enumerate((strict, partial)):
                counts[d, index[kind], mode] = (tp, len(p) - tp, len(g) - tp)
    return counts


def relation_scores(
    pairs: Sequence[tuple[Record, Record | None]],
    types: Sequence[str],
    groups: Mapping[str, str] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Strict and partial relation scores, bootstrap intervals and groups (module docstring)."""
    seen = {
        str(r.get("type"))
        for gold, predicted in pairs
        for record in (gold, predicted)
        if record is not None
        for r in record.relations
    }
    declared = list(dict.fromkeys(types))
    unexpected = sorted(seen.difference(declared))
    order = declared + unexpected
    counts = relation_counts(pairs, order)
    totals = counts.sum(axis=0)  # (types, modes, 3)

    def mode(m: int) -> dict[str, Any]:
        per_type = {kind: LabelScores(*map(int, totals[i, m])) for i, kind in enumerate(order)}
        micro = LabelScores(*map(int, totals[:, m].sum(axis=0)))
        out = ModeScores(micro=micro, per_label=per_type).to_dict()
        out["per_type"] = out.pop("per_label")
        return out

    scores: dict[str, Any] = {
        "strict": mode(STRICT),
        "partial": mode(PARTIAL),
        "unexpected_types": unexpected,
        "bootstrap": _bootstrap(counts[:, :, STRICT], order, n_resamples, seed, confidence),
    }
    if groups:
        by_group: defaultdict[str, list[int]] = defaultdict(list)
        for d, (gold, _) in enumerate(pairs):
            by_group[groups.get(gold.doc_id, "unknown")].append(d)
        scores["by_group"] = {
            group: LabelScores(*map(int, counts[rows, :, STRICT].sum(axis=(0, 1)))).to_dict()
            for group, rows in sorted(by_group.items())
        }
    return scores


def _f1(counts: FloatArray) -> FloatArray:
    """F1 over the last axis (tp, fp, fn); NaN where nothing is gold or predicted."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def _interval(counts: FloatArray, samples: FloatArray, alpha: float) -> dict[str, Any]:
    point = LabelScores(*(int(v) for v in counts)).f1
    valid = samples[~np.isnan(samples)]
    if valid.size == 0:
        return F1Interval(point, None, None, 0).to_dict()
    low, high = np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return F1Interval(point, float(low), float(high), int(valid.size)).to_dict()


def _bootstrap(
    counts: npt.NDArray[np.int64],
    order: Sequence[str],
    n_resamples: int,
    seed: int,
    confidence: float,
) -> dict[str, Any]:
    """Percentile intervals of strict F1 from per-document counts (documents, types, 3).

    The resampling of :func:`curation.metrics.bootstrap.bootstrap_f1`, on relation counts:
    each resample is a weighted sum of the count matrix.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    n_docs, n_types = counts.shape[0], counts.shape[1]
    if n_docs == 0:
        resampled = np.zeros((n_resamples, n_types, 3))
    else:
        draws = np.random.default_rng(seed).integers(0, n_docs, size=(n_resamples, n_docs))
        weights = np.zeros((n_resamples, n_docs))
        np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1.0)
        flat = counts.reshape(n_docs, n_types * 3).astype(np.float64)
        resampled = (weights @ flat).reshape(n_resamples, n_types, 3)
    totals = counts.sum(axis=0).astype(np.float64)
    alpha = 1 - confidence
    per_type = _f1(resampled)
    return {
        "confidence": confidence,
        "n_resamples": n_resamples,
        "seed": seed,
        "micro": _interval(totals.sum(axis=0), _f1(resampled.sum(axis=1)), alpha),
        "per_type": {
            kind: _interval(totals[i], per_type[:, i], alpha) for i, kind in enumerate(order)
        },
    }


# --------------------------------------------------------------------------- attributes


def matched_spans(gold: Sequence[Span], predicted: Sequence[Span]) -> list[tuple[int, int]]:
    """``(gold index, predicted index)`` of spans equal in start, end and label, one-to-one.

    >>> a, b = Span(0, 4, "BIOMARKER", "EGFR"), Span(5, 9, "BIOMARKER_RESULT", "muté")
    >>> matched_spans([a, b], [b, a, a])
    [(0, 1), (1, 0)]
    """
    free: defaultdict[SpanKey, list[int]] = defaultdict(list)
    for j, span in enumerate(predicted):
        free[_key(span)].append(j)
    out = []
    for i, span in enumerate(gold):
        waiting = free.get(_key(span))
        if waiting:
            out.append((i, waiting.pop(0)))
    return out


def span_entries(record: Record) -> dict[int, dict[str, Any]]:
    """Span index -> its attributes (entries of one span merged; document entries left out)."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for entry in record.attributes:
        index = entry.get("span")
        if isinstance(index, int) and not isinstance(index, bool):
            out[index].update(entry)
    return out


def attribute_scores(
    pairs: Sequence[tuple[Record, Record | None]], attributes: Sequence[SpanAttribute]
) -> dict[str, Any]:
    """Accuracy of each declared attribute on the strictly matched gold spans."""
    flags: dict[str, Counter[tuple[bool, bool]]] = {a.name: Counter() for a in attributes}
    values: dict[str, Counter[tuple[str, str]]] = {a.name: Counter() for a in attributes}
    gold_spans = matched = 0
    for gold, predicted in pairs:
        gold_spans += len(gold.spans)
        if predicted is None:
            continue
        gold_of, pred_of = span_entries(gold), span_entries(predicted)
        for i, j in matched_spans(gold.spans, predicted.spans):
            matched += 1
            mine, theirs = gold_of.get(i, {}), pred_of.get(j, {})
            for attribute in attributes:
                name = attribute.name
                if attribute.is_flag:
                    flags[name][(mine.get(name) is True, theirs.get(name) is True)] += 1
                elif not attribute.labels or gold.spans[i].label in attribute.labels:
                    values[name][(_value(mine.get(name)), _value(theirs.get(name)))] += 1
    out: dict[str, Any] = {"gold_spans": gold_spans, "matched_spans": matched}
    for attribute in attributes:
        if attribute.is_flag:
            out[attribute.name] = _flag_scores(flags[attribute.name])
        else:
            out[attribute.name] = _value_scores(values[attribute.name], attribute.values)
    return out


def _value(value: Any) -> str:
    return MISSING if value is None else str(value)


def _accuracy(pairs: Counter[Any]) -> dict[str, Any]:
    total = sum(pairs.values())
    correct = sum(n for (g, p), n in pairs.items() if g == p)
    return {
        "spans": total,
        "correct": correct,
        "accuracy": rounded(correct / total if total else None),
    }


def _flag_scores(pairs: Counter[tuple[bool, bool]]) -> dict[str, Any]:
    true = LabelScores(pairs[(True, True)], pairs[(False, True)], pairs[(True, False)])
    return _accuracy(pairs) | {"true_class": true.to_dict()}


def _value_scores(pairs: Counter[tuple[str, str]], declared: Sequence[str]) -> dict[str, Any]:
    seen = {v for pair in pairs for v in pair}
    order = list(declared) + sorted(seen.difference(declared, [MISSING]))
    if MISSING in seen:
        order.append(MISSING)
    per_value = {
        value: LabelScores(
            pairs[(value, value)],
            sum(n for (g, p), n in pairs.items() if p == value != g),
            sum(n for (g, p), n in pairs.items() if g == value != p),
        ).to_dict()
        for value in order
        if value != MISSING
    }
    matrix = [[pairs[(g, p)] for p in order] for g in order]
    return _accuracy(pairs) | {
        "confusion": {"labels": order, "matrix": matrix},
        "per_value": per_value,
    }


__all__ = [
    "MISSING",
    "attribute_scores",
    "extraction_metrics",
    "match_relations",
    "matched_spans",
    "relation_keys",
    "relation_scores",
    "span_entries",
]
