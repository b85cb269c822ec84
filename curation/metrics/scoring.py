"""A use case's metric: gold and predicted records in, a JSON-ready metrics dict out.

Each use case declares one of these functions (``UseCase.metric``); the ``score`` stage and
the evaluators call it the same way. ``groups`` (doc_id -> group, e.g. the document type)
adds a per-group breakdown, which shows whether a model generalises beyond the templates it
was trained on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from curation.metrics.bootstrap import bootstrap_f1
from curation.metrics.leak import leak_rate
from curation.metrics.spans import score_spans
from curation.schema import Record
from curation.usecases.base import UseCase


def span_metrics(
    gold: Sequence[Record],
    predicted: Sequence[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Strict/partial P/R/F1 per label and micro, with bootstrap intervals on strict F1."""
    scores = score_spans(gold, predicted, use_case.labels).to_dict()
    scores["bootstrap"] = bootstrap_f1(gold, predicted, use_case.labels).to_dict()
    if groups:
        by_group: dict[str, list[Record]] = defaultdict(list)
        for record in gold:
            by_group[groups.get(record.doc_id, "unknown")].append(record)
        scores["by_group"] = {
            group: score_spans(records, predicted, use_case.labels).to_dict()["strict"]["micro"]
            for group, records in sorted(by_group.items())
        }
    return scores


def phi_metrics(
    gold: Sequence[Record],
    predicted: Sequence[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """:func:`span_metrics` plus the leak rate: the share of PHI characters left visible."""
    scores = span_metrics(gold, predicted, use_case, groups)
    scores["leak"] = leak_rate(gold, predicted).to_dict()
    return scores
