"""The headline scores of any use case's metrics dict, for reports, releases and the terminal.

Each use case's metric returns its own shape: span metrics have ``strict`` and ``partial``
sections with a ``bootstrap`` of each label, document-code metrics (CIM-10) have ``micro``,
``per_code`` and a ``bootstrap`` of the micro F1, document-class metrics (treatment response)
have ``accuracy``, ``macro_f1``, ``kappa``, ``per_label`` and a ``bootstrap`` of each. The
generative use cases have their own (:func:`generation_kind`): clinical summaries a ROUGE-L F1
with ``per_section`` rows, QRM answering a Hamming score with rows per number of answers (or
per question type), QRM drafting an acceptance rate; each puts its main score under ``f1``
here, and :func:`headline` names it. Readers that only need "the main F1 with its interval,
and a row per label" go through these functions instead of testing the shape.

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
>>> mcq = {"hamming_score": 0.75, "emr": 0.5, "by_answers": {"single": {"hamming_score": 1.0,
...        "emr": 1.0, "questions": 2}}, "bootstrap": {"hamming_score": {"low": 0.5, "high": 1.0}}}
>>> headline(mcq), main_scores(mcq)["f1"], main_scores(mcq)["emr"], main_scores(mcq)["low"]
('Hamming score over questions', 0.75, 0.5, 0.5)
>>> label_scores(mcq)["single"]["f1"], macro_f1(mcq)
(1.0, None)
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


def generation_kind(metrics: Mapping[str, Any]) -> str | None:
    """``summary`` (ROUGE-L of sections, :mod:`curation.metrics.generation`), ``answers`` (QRM
    answered, :func:`curation.metrics.mcq.mcq_metrics`), ``drafts`` (QRM drafted,
    :func:`curation.metrics.mcq.generation_metrics`), or ``None`` for other metrics."""
    if "rouge_l" in metrics and "per_section" in metrics:
        return "summary"
    if "hamming_score" in metrics and "emr" in metrics:
        return "answers"
    if "acceptance_rate" in metrics:
        return "drafts"
    return None


_GENERATION_HEADLINES = {
    "summary": "ROUGE-L F1 over sections",
    "answers": "Hamming score over questions",
    "drafts": "acceptance rate of drafts",
}


def _generation_main(kind: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Main scores of generative metrics, the headline score under ``f1``."""
    if kind == "summary":
        interval = _get(metrics, "bootstrap", "rouge_l") or {}
        rouge = metrics.get("rouge_l") or {}
        main = {k: rouge.get(k) for k in ("precision", "recall", "f1")} | {
            "fact_recall": _get(metrics, "facts", "recall"),
            "unsupported_rate": _get(metrics, "facts", "unsupported_rate"),
            "edit_similarity": _get(metrics, "edit_similarity", "similarity"),
        }
    elif kind == "answers":
        interval = _get(metrics, "bootstrap", "hamming_score") or {}
        main = {"f1": metrics.get("hamming_score"), "emr": metrics.get("emr")}
    else:
        interval = _get(metrics, "bootstrap", "acceptance_rate") or {}
        main = {
            "f1": metrics.get("acceptance_rate"),
            "edit_similarity": _get(metrics, "edit_similarity", "overall"),
        }
    return main | {k: interval.get(k) for k in ("low", "high")}


def _generation_rows(kind: str, metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Rows of generative metrics: sections (ROUGE-L as ``f1``), question kinds (Hamming
    score as ``f1``), or the drafted fields (edit similarity)."""
    if kind == "summary":
        rows = metrics.get("per_section") or {}
        return {name: {"f1": row.get("rouge_l"), **row} for name, row in rows.items()}
    if kind == "answers":
        rows = metrics.get("by_type") or metrics.get("by_answers") or {}
        return {name: {"f1": row.get("hamming_score"), **row} for name, row in rows.items()}
    fields = metrics.get("edit_similarity") or {}
    return {name: {"edit_similarity": v} for name, v in fields.items() if name != "overall"}


def headline(metrics: Mapping[str, Any]) -> str:
    """What :func:`main_scores` measures, in words."""
    if kind := generation_kind(metrics):
        return _GENERATION_HEADLINES[kind]
    if is_class_metrics(metrics):
        return "macro F1 over responses"
    return "strict micro F1" if is_span_metrics(metrics) else "micro F1 over codes"


def main_scores(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Micro precision, recall, F1 and counts, with ``low``/``high`` of its interval and the
    partial F1 (spans) when known; for document classes, the macro scores with the interval
    of the macro F1, the accuracy and Cohen's kappa; for generative metrics, the headline
    score of :func:`headline` under ``f1`` with its interval and the scores beside it."""
    if kind := generation_kind(metrics):
        return _generation_main(kind, metrics)
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
    """The macro F1 (over labels, over gold codes, or over responses); for summaries the mean
    ROUGE-L F1 of the sections, ``None`` for the QRM metrics."""
    if kind := generation_kind(metrics):
        values = [row["f1"] for row in _generation_rows(kind, metrics).values()]
        scored = [v for v in values if v is not None] if kind == "summary" else []
        return round(sum(scored) / len(scored), 4) if scored else None
    if is_class_metrics(metrics):
        return metrics.get("macro_f1")
    if is_span_metrics(metrics):
        return _get(metrics, "strict", "macro_f1")
    return _get(metrics, "macro", "f1")


def label_scores(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per label (span label, code or response): precision, recall, F1, counts, interval when
    known; for generative metrics, the rows of :func:`_generation_rows`."""
    if kind := generation_kind(metrics):
        return _generation_rows(kind, metrics)
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
    "generation_kind",
    "headline",
    "is_class_metrics",
    "is_span_metrics",
    "label_scores",
    "macro_f1",
    "main_scores",
    "structure_lines",
]
