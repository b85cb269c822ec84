"""Treatment response metrics: one RECIST response per report, with its evidence sentence.

Each gold and predicted record holds ``labels = [response]`` (one of
:data:`~curation.usecases.oncology_response.RESPONSES`; the first span's label when
``labels`` is empty) and ``spans``: the evidence. A gold document without prediction, or
whose prediction holds no response or an unknown one, is predicted :data:`NONE` and counts
as wrong; predictions for documents absent from gold are ignored (both are counted under
``documents``). Gold records without a response are left out of the scores.

Definitions
-----------
- **accuracy**: share of documents whose predicted response is the gold one.
- **macro_f1** (and ``macro_precision``, ``macro_recall``): mean over the five responses of
  scikit-learn's per-response scores, with ``zero_division=nan``: a response that neither
  gold nor the predictions hold is undefined and left out of the mean (a test split without
  any non-evaluable report does not score 0 on it); a response predicted but never gold has
  F1 0.
- **kappa**: Cohen's kappa between gold and predicted responses (missing predictions as
  :data:`NONE`), ``None`` when chance agreement is total (one response everywhere).
- **per_label**: precision, recall, F1, ``tp``/``fp``/``fn`` and gold ``support`` of each
  response (``None`` where undefined).
- **confusion**: gold in rows, predicted in columns, over the responses then :data:`NONE`.
- **evidence**: among correctly labelled documents whose gold has evidence, the share whose
  predicted evidence overlaps a gold evidence span (``overlap_rate``) and equals one
  (``exact_rate``).
- **bootstrap**: percentile intervals of accuracy, macro F1 and kappa, resampling gold
  documents with replacement (``numpy.random.default_rng(seed)``).

Point estimates come from scikit-learn. The resamples are scored on numpy from each
document's (gold, predicted) cell of the confusion matrix, the same formulas as
scikit-learn's: rescoring 1,000 resamples with scikit-learn takes seconds, this a few
milliseconds.

Examples
--------
>>> from curation.schema import Record
>>> from curation.usecases.oncology_response import USE_CASE
>>> # "Conclusion : maladie stable" read as stable, "réponse partielle" read as stable too.
>>> gold = [Record("d1", "oncology_response", "gold", labels=["stable_disease"]),
...         Record("d2", "oncology_response", "gold", labels=["partial_response"])]
>>> pred = [Record("d1", "oncology_response", "rules", labels=["stable_disease"]),
...         Record("d2", "oncology_response", "rules", labels=["stable_disease"])]
>>> scores = response_metrics(gold, pred, USE_CASE, n_resamples=10)
>>> scores["accuracy"], scores["macro_f1"], scores["kappa"]
(0.5, 0.3333, 0.0)
>>> scores["per_label"]["stable_disease"]["precision"], scores["confusion"]["matrix"][2]
(0.5, [0, 0, 1, 0, 0, 0])
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from curation.metrics.alignment import rounded
from curation.schema import Record, Span
from curation.usecases.base import UseCase
from curation.usecases.oncology_response import RESPONSES

FloatArray = npt.NDArray[np.float64]

#: The predicted "response" of a document without a valid prediction.
NONE = "O"
#: Rows and columns of the confusion matrix.
CLASSES = (*RESPONSES, NONE)


def _value(value: float | np.floating[Any]) -> float | None:
    """A rounded plain float, ``None`` for NaN."""
    number = float(value)
    return None if math.isnan(number) else rounded(number)


def response_of(record: Record) -> str | None:
    """The response of a record: its first label, else its first span's label."""
    labels = [x for x in record.labels if x.strip()]
    if labels:
        return labels[0]
    return record.spans[0].label if record.spans else None


def _by_doc(records: Iterable[Record], role: str) -> dict[str, Record]:
    out: dict[str, Record] = {}
    for number, record in enumerate(records, start=1):
        if record.doc_id in out:
            raise ValueError(
                f"{role} record {number}: doc_id {record.doc_id!r} appears twice; "
                "write one record per document"
            )
        out[record.doc_id] = record
    return out


def _overlaps(predicted: Sequence[Span], gold: Sequence[Span]) -> tuple[bool, bool]:
    """Whether a predicted span overlaps a gold span, and whether one equals a gold span."""
    overlap = any(p.start < g.end and g.start < p.end for p in predicted for g in gold)
    exact = any((p.start, p.end) == (g.start, g.end) for p in predicted for g in gold)
    return overlap, exact


def _macro_f1(matrix: FloatArray) -> FloatArray:
    """Macro F1 over the responses of confusion matrices (..., classes, classes), NaN-skipping."""
    k = len(RESPONSES)
    diagonal = np.diagonal(matrix, axis1=-2, axis2=-1)[..., :k]
    gold, predicted = matrix.sum(axis=-1)[..., :k], matrix.sum(axis=-2)[..., :k]
    denominator = gold + predicted  # 2 tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * diagonal / denominator, np.nan)
        defined = (~np.isnan(f1)).sum(axis=-1)
        total = np.nansum(f1, axis=-1)
        return np.where(defined > 0, total / np.maximum(defined, 1), np.nan)


def _accuracy_kappa(matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Accuracy and Cohen's kappa of confusion matrices (..., classes, classes)."""
    n = matrix.sum(axis=(-2, -1))
    trace = np.trace(matrix, axis1=-2, axis2=-1)
    chance = (matrix.sum(axis=-1) * matrix.sum(axis=-2)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(n > 0, trace / n, np.nan)
        expected = np.where(n > 0, chance / n**2, np.nan)
        kappa = np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)
    return observed, kappa


def _bootstrap(
    cells: npt.NDArray[np.int64], n_resamples: int, seed: int, confidence: float
) -> dict[str, Any]:
    """Intervals of accuracy, macro F1 and kappa; ``cells`` = gold * classes + predicted."""
    size = len(CLASSES) ** 2
    n_docs = len(cells)
    if n_docs:
        draws = np.random.default_rng(seed).integers(0, n_docs, size=(n_resamples, n_docs))
        flat = cells[draws] + np.arange(n_resamples)[:, None] * size
        counts = np.bincount(flat.ravel(), minlength=n_resamples * size).astype(np.float64)
    else:
        counts = np.zeros(n_resamples * size)
    matrices = counts.reshape(n_resamples, len(CLASSES), len(CLASSES))
    accuracy, kappa = _accuracy_kappa(matrices)
    samples = {"accuracy": accuracy, "macro_f1": _macro_f1(matrices), "kappa": kappa}
    alpha = 1 - confidence
    out: dict[str, Any] = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    for name, values in samples.items():
        valid = values[~np.isnan(values)]
        low, high = (
            np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            if valid.size
            else (np.nan, np.nan)
        )
        out[name] = {"low": _value(low), "high": _value(high)}
    return out


def _scores(truth: list[str], guess: list[str]) -> dict[str, Any]:
    """Accuracy, macro scores and kappa by scikit-learn (``None`` without documents)."""
    if not truth:
        return {k: None for k in ("accuracy", "macro_precision", "macro_recall", "macro_f1")} | {
            "kappa": None
        }
    responses = list(RESPONSES)
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, guess, labels=responses, average="macro", zero_division=np.nan
    )
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # one response everywhere: chance agreement is total, kappa 0 / 0 (NaN, then None)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        kappa = cohen_kappa_score(truth, guess, labels=list(CLASSES))
    return {
        "accuracy": _value(accuracy_score(truth, guess)),
        "macro_precision": _value(precision),
        "macro_recall": _value(recall),
        "macro_f1": _value(f1),
        "kappa": _value(kappa),
    }


def _per_label(truth: list[str], guess: list[str]) -> dict[str, dict[str, Any]]:
    responses = list(RESPONSES)
    if truth:
        precision, recall, f1, support = precision_recall_fscore_support(
            truth, guess, labels=responses, zero_division=np.nan
        )
    else:
        precision = recall = f1 = np.full(len(responses), np.nan)
        support = np.zeros(len(responses), dtype=np.int64)
    out = {}
    for i, label in enumerate(responses):
        tp = sum(t == g == label for t, g in zip(truth, guess, strict=True))
        fp = sum(g == label != t for t, g in zip(truth, guess, strict=True))
        out[label] = {
            "precision": _value(precision[i]),
            "recall": _value(recall[i]),
            "f1": _value(f1[i]),
            "tp": tp,
            "fp": fp,
            "fn": int(support[i]) - tp,
            "support": int(support[i]),
        }
    return out


def response_metrics(
    gold_records: Sequence[Record],
    predicted_records: Sequence[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Accuracy, macro P/R/F1, kappa, per response scores, confusion, evidence overlap and
    bootstrap intervals.

    Parameters
    ----------
    gold_records
        Gold records, one per document, ``labels = [response]`` and evidence ``spans``.
    predicted_records
        Predicted records, same shape.
    use_case
        The use case scored (its labels are the five responses); kept for the shared call.
    groups
        ``doc_id -> group`` (e.g. the document type) for accuracy and macro F1 per group;
        documents it does not name fall under ``"unknown"``.
    n_resamples, seed, confidence
        Bootstrap settings; the same seed gives the same intervals.

    Returns
    -------
    dict
        JSON-ready metrics (ratios rounded to 4 decimals, ``None`` where undefined):
        ``accuracy``, ``macro_precision``, ``macro_recall``, ``macro_f1``, ``kappa``,
        ``per_label``, ``confusion``, ``evidence``, ``bootstrap``, ``documents`` and, with
        ``groups``, ``by_group``.

    Raises
    ------
    ValueError
        A ``doc_id`` appears twice in one input, a gold response is not one of the use
        case's, or a setting is out of range.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    gold_by = _by_doc(gold_records, "gold")
    pred_by = _by_doc(predicted_records, "predicted")
    known = set(use_case.labels) & set(RESPONSES)
    doc_ids, truth, guess = [], [], []
    for doc_id, record in gold_by.items():
        response = response_of(record)
        if response is None:
            continue
        if response not in known:
            raise ValueError(
                f"gold doc_id {doc_id!r}: response {response!r} is not one of {list(RESPONSES)}"
            )
        predicted = pred_by.get(doc_id)
        answer = response_of(predicted) if predicted is not None else None
        doc_ids.append(doc_id)
        truth.append(response)
        guess.append(answer if answer in known else NONE)

    matrix = (
        confusion_matrix(truth, guess, labels=list(CLASSES))
        if truth
        else np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    )
    judged = overlapping = exact = 0
    for doc_id, t, g in zip(doc_ids, truth, guess, strict=True):
        gold_spans = gold_by[doc_id].spans
        if t != g or not gold_spans:
            continue
        judged += 1
        found, same = _overlaps(pred_by[doc_id].spans, gold_spans)
        overlapping += found
        exact += same
    cells = np.array(
        [
            CLASSES.index(t) * len(CLASSES) + CLASSES.index(g)
            for t, g in zip(truth, guess, strict=True)
        ],
        dtype=np.int64,
    )
    scores: dict[str, Any] = _scores(truth, guess) | {
        "per_label": _per_label(truth, guess),
        "confusion": {"labels": list(CLASSES), "matrix": matrix.tolist()},
        "evidence": {
            "overlap_rate": rounded(overlapping / judged) if judged else None,
            "exact_rate": rounded(exact / judged) if judged else None,
            "documents": judged,
        },
        "bootstrap": _bootstrap(cells, n_resamples, seed, confidence),
        "documents": {
            "gold": len(gold_by),
            "scored": len(doc_ids),
            "without_gold_response": len(gold_by) - len(doc_ids),
            "missing_doc_ids": sum(d not in pred_by for d in doc_ids),
            "unknown_doc_ids": sum(d not in gold_by for d in pred_by),
        },
    }
    for name in ("accuracy", "macro_f1", "kappa"):
        scores["bootstrap"][name] = {"value": scores[name], **scores["bootstrap"][name]}
    if groups:
        members: defaultdict[str, list[int]] = defaultdict(list)
        for i, doc_id in enumerate(doc_ids):
            members[groups.get(doc_id, "unknown")].append(i)
        scores["by_group"] = {
            group: {
                "accuracy": _value(
                    accuracy_score([truth[i] for i in idx], [guess[i] for i in idx])
                ),
                "macro_f1": _value(
                    f1_score(
                        [truth[i] for i in idx],
                        [guess[i] for i in idx],
                        labels=list(RESPONSES),
                        average="macro",
                        zero_division=np.nan,
                    )
                ),
                "documents": len(idx),
            }
            for group, idx in sorted(members.items())
        }
    return scores


__all__ = ["CLASSES", "NONE", "response_metrics", "response_of"]
