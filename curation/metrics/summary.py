"""The headline scores of any use case's metrics dict, for reports, releases and the terminal.

Each use case's metric returns its own shape: span metrics have ``strict`` and ``partial``
sections with a ``bootstrap`` of each label, document-code metrics (CIM-10) have ``micro``,
``per_code`` and a ``bootstrap`` of the micro F1, document-class metrics (treatment response)
have ``accuracy``, ``macro_f1``, ``kappa``, ``per_label`` and a ``bootstrap`` of each. Readers
that only need "the main F1 with its interval, and a row per label" go through these functions
instead of testing the shape.

Examples
--------
>>> coding = {"micro": {"precision": 0.5, "recall": 1.0, "f1": 0.667, "tp": 1, "fp": 1, "fn": 0},
...           "per_code": {"I10": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "fn": 0}},
...           "bootstrap": {"micro_f1": {"value": 0.667, "low": 0.5, "high": 0.8}}}
>>> main_scores(coding)["f1"], main_scores(coding)["low"], headline(coding)
(0.667, 0.5, 'micro F1 over codes')
>>> label_scores(coding)["I10"]["f1"]
1.0
>>> response = {"accuracy": 0.9, "macro_f1": 0.85, "kappa": 0.8, "macro_precision": 0.88,
...             "macro_recall": 0.84, "per_label": {"progression": {"f1": 0.95, "support": 4}},
...             "bootstrap": {"macro_f1": {"value": 0.85, "low": 0.7, "high": 0.95}}}
>>> headline(response), main_scores(response)["f1"], main_scores(response)["high"]
('macro F1 over responses', 0.85, 0.95)
>>> label_scores(response)["progression"]["f1"], macro_f1(response)
(0.95, 0.85)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _get(data: Mapping[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def is_span_metrics(metrics: Mapping[str, Any]) -> bool:
    """Whether ``metrics`` are span scores (``strict``/``partial`` sections)."""
    return "strict" in metrics


def is_class_metrics(metrics: Mapping[str, Any]) -> bool:
    """Whether ``metrics`` score one class per document (``accuracy``, ``kappa``, ``per_label``:
    the treatment response, :mod:`curation.metrics.response`)."""
    return "accuracy" in metrics and "kappa" in metrics and "per_label" in metrics


def headline(metrics: Mapping[str, Any]) -> str:
    """What :func:`main_scores` measures, in words."""
    if is_class_metrics(metrics):
        return "macro F1 over responses"
    return "strict micro F1" if is_span_metrics(metrics) else "micro F1 over codes"


def main_scores(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Micro precision, recall, F1 and counts, with ``low``/``high`` of its interval and the
    partial F1 (spans) when known; for document classes, the macro scores with the interval
    of the macro F1, the accuracy and Cohen's kappa."""
    if is_class_metrics(metrics):
        interval = _get(metrics, "bootstrap", "macro_f1") or {}
        return {
            "precision": metrics.get("macro_precision"),
            "recall": metrics.get("macro_recall"),
            "f1": metrics.get("macro_f1"),
            "accuracy": metrics.get("accuracy"),
            "kappa": metrics.get("kappa"),
        } | {k: interval.get(k) for k in ("low", "high")}
    if is_span_metrics(metrics):
        interval = _get(metrics, "bootstrap", "micro") or {}
        return (
            dict(_get(metrics, "strict", "micro") or {})
            | {k: interval.get(k) for k in ("low", "high")}
            | {"partial": _get(metrics, "partial", "micro", "f1")}
        )
    interval = _get(metrics, "bootstrap", "micro_f1") or {}
    return dict(metrics.get("micro") or {}) | {k: interval.get(k) for k in ("low", "high")}


def macro_f1(metrics: Mapping[str, Any]) -> Any:
    """The macro F1 (over labels, over gold codes, or over responses)."""
    if is_class_metrics(metrics):
        return metrics.get("macro_f1")
    if is_span_metrics(metrics):
        return _get(metrics, "strict", "macro_f1")
    return _get(metrics, "macro", "f1")


def label_scores(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per label (span label, code or response): precision, recall, F1, counts, interval when
    known."""
    if is_class_metrics(metrics):
        return {label: dict(row) for label, row in (metrics.get("per_label") or {}).items()}
    if is_span_metrics(metrics):
        strict = _get(metrics, "strict", "per_label") or {}
        out = {}
        for label, row in strict.items():
            interval = _get(metrics, "bootstrap", "per_label", label) or {}
            out[label] = (
                dict(row)
                | {k: interval.get(k) for k in ("low", "high")}
                | {"partial": _get(metrics, "partial", "per_label", label, "f1")}
            )
        return out
    return {code: dict(row) for code, row in (metrics.get("per_code") or {}).items()}


def structure_lines(metrics: Mapping[str, Any]) -> list[str]:
    """Relation F1 and attribute accuracies of span metrics that have them, one line each."""
    lines = []
    relations = _get(metrics, "relations", "strict", "micro")
    if relations:
        lines.append(
            f"  relations: P {relations['precision']} R {relations['recall']} F1 {relations['f1']}"
        )
    for name, row in (metrics.get("attributes") or {}).items():
        if isinstance(row, Mapping):
            lines.append(f"  attribute {name}: accuracy {row['accuracy']} ({row['spans']} spans)")
    return lines


__all__ = [
    "headline",
    "is_class_metrics",
    "is_span_metrics",
    "label_scores",
    "macro_f1",
    "main_scores",
    "structure_lines",
]
