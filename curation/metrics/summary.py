"""The headline scores of any use case's metrics dict, for reports, releases and the terminal.

Each use case's metric returns its own shape: span metrics have ``strict`` and ``partial``
sections with a ``bootstrap`` of each label, document-code metrics (CIM-10) have ``micro``,
``per_code`` and a ``bootstrap`` of the micro F1. Readers that only need "the main F1 with its
interval, and a row per label" go through these functions instead of testing the shape.

Examples
--------
>>> coding = {"micro": {"precision": 0.5, "recall": 1.0, "f1": 0.667, "tp": 1, "fp": 1, "fn": 0},
...           "per_code": {"I10": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "fn": 0}},
...           "bootstrap": {"micro_f1": {"value": 0.667, "low": 0.5, "high": 0.8}}}
>>> main_scores(coding)["f1"], main_scores(coding)["low"], headline(coding)
(0.667, 0.5, 'micro F1 over codes')
>>> label_scores(coding)["I10"]["f1"]
1.0
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


def headline(metrics: Mapping[str, Any]) -> str:
    """What :func:`main_scores` measures, in words."""
    return "strict micro F1" if is_span_metrics(metrics) else "micro F1 over codes"


def main_scores(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Micro precision, recall, F1 and counts, with ``low``/``high`` of its interval and the
    partial F1 (spans) when known."""
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
    """The macro F1 (over labels, or over gold codes)."""
    if is_span_metrics(metrics):
        return _get(metrics, "strict", "macro_f1")
    return _get(metrics, "macro", "f1")


def label_scores(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per label (span label or code): precision, recall, F1, counts, interval when known."""
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


__all__ = ["headline", "is_span_metrics", "label_scores", "macro_f1", "main_scores"]
