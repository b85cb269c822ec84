"""CIM-10 coding metrics: how well a system codes a hospital stay as a PMSI coder would.

Each gold and predicted record holds ``labels``: CIM-10 codes, the principal diagnosis (DP)
first. Predicted codes are *ranked*, most likely first, so the first one is the predicted DP.
Codes are normalised before any comparison (``"e11.9"`` and ``"E11 9"`` are ``E119``, the
dotless form of the ATIH list) and a code repeated in one record counts once, at its first rank.

Written here rather than with scikit-learn: its multilabel scorers need a fixed label matrix,
while the code set is open (any of the ~42,000 ATIH codes), and it has no ranked
precision@k/recall@k over sets, nor the document bootstrap of :mod:`curation.metrics.bootstrap`.

Definitions (``G`` the set of gold codes of a document, ``P`` its ranked predicted codes)
--------------------------------------------------------------------------------------------
- **micro**: precision, recall and F1 over (document, code) pairs: ``tp = |G ∩ P|``,
  ``fp = |P - G|``, ``fn = |G - P|`` summed over documents. Zero division follows
  :class:`~curation.metrics.spans.LabelScores`: every ratio is ``None`` when neither side has
  any code, 0.0 when only one side has codes.
- **macro**: mean per-code F1 over the codes present in gold. Codes predicted but absent from
  gold are left out: the code set is open, so averaging over them would let the denominator
  depend on what each system invents and make macro scores of two systems incomparable; their
  false positives still lower micro precision and are listed in ``per_code``.
- **category**: micro precision, recall and F1 on the 3-character categories (``E119`` ->
  ``E11``): a right category with a wrong subcode is a true positive there.
- **dp_accuracy**: share of documents whose first predicted code equals the gold DP;
  **dp_category_accuracy** compares their categories. Documents without any gold code have no
  DP and are left out of both; a document with no prediction counts as wrong.
- **at_k**: ``precision@k = sum(hits_k) / (k * N)`` and ``recall@k = sum(hits_k) / sum(|G|)``,
  where ``hits_k = |top k of P ∩ G|`` and ``N`` is the number of documents with at least one
  gold code (documents without gold code have nothing to rank; their false codes are counted by
  micro precision). As usual the precision divides by ``k`` even when fewer than ``k`` codes are
  predicted, so a system proposing two codes has ``precision@5 <= 0.4``.
- **bootstrap**: percentile intervals of micro F1, category F1, DP accuracy and each recall@k,
  resampling gold documents with replacement (``numpy.random.default_rng(seed)``).

Gold documents without a prediction record predict nothing; predictions for documents absent
from gold are ignored (both are counted under ``documents``).

Examples
--------
>>> from curation.schema import Record
>>> from curation.usecases.icd10_coding import USE_CASE
>>> # "Diabète de type 2 compliqué, HTA" coded E11.8 instead of E11.9, HTA (I10) found.
>>> gold = [Record("d1", "icd10_coding", "gold", labels=["E119", "I10"])]
>>> pred = [Record("d1", "icd10_coding", "llm", labels=["E11.8", "i10", "N185"])]
>>> scores = coding_metrics(gold, pred, USE_CASE, n_resamples=10)
>>> scores["micro"]["f1"], scores["category"]["f1"]
(0.4, 0.8)
>>> scores["dp_accuracy"], scores["dp_category_accuracy"]
(0.0, 1.0)
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from curation.cim10 import normalise
from curation.metrics.alignment import rounded
from curation.metrics.spans import LabelScores
from curation.schema import Record
from curation.usecases.base import UseCase

FloatArray = npt.NDArray[np.float64]

#: Columns of the per-document count matrix; the hits of each k follow ``_HITS``.
_TP, _FP, _FN, _CAT_TP, _CAT_FP, _CAT_FN, _DP, _DP_CAT, _HAS_GOLD, _N_GOLD, _HITS = range(11)

#: The dotless upper-case form of the ATIH list: ``"e11.9"`` -> ``E119``.
normalise_code = normalise


def _codes(labels: Iterable[str]) -> list[str]:
    """Normalised codes in their order, empty ones dropped, repeats kept at their first rank."""
    return list(dict.fromkeys(c for c in map(normalise_code, labels) if c))


def _codes_by_doc(records: Iterable[Record], role: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for number, record in enumerate(records, start=1):
        if record.doc_id in out:
            raise ValueError(
                f"{role} record {number}: doc_id {record.doc_id!r} appears twice; "
                "write one record per document with all its codes"
            )
        out[record.doc_id] = _codes(record.labels)
    return out


def _document_row(gold: list[str], predicted: list[str], ks: Sequence[int]) -> list[int]:
    """Counts of one document, in the column order of ``_TP`` ... ``_HITS``."""
    g, p = set(gold), set(predicted)
    g_cat, p_cat = {c[:3] for c in gold}, {c[:3] for c in predicted}
    dp_ok = bool(gold and predicted and predicted[0] == gold[0])
    dp_cat_ok = bool(gold and predicted and predicted[0][:3] == gold[0][:3])
    row = [len(g & p), len(p - g), len(g - p)]
    row += [len(g_cat & p_cat), len(p_cat - g_cat), len(g_cat - p_cat)]
    row += [int(dp_ok), int(dp_cat_ok), int(bool(gold)), len(g)]
    return row + [len(g.intersection(predicted[:k])) for k in ks]


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, NaN where the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _f1(totals: FloatArray, tp: int) -> FloatArray:
    """F1 from the columns ``tp, tp + 1, tp + 2`` (tp, fp, fn) of the last axis."""
    t, f_p, f_n = totals[..., tp], totals[..., tp + 1], totals[..., tp + 2]
    return _ratio(2 * t, 2 * t + f_p + f_n)


def _statistics(totals: FloatArray, ks: Sequence[int]) -> dict[str, FloatArray]:
    """The bootstrapped statistics from summed counts (last axis: the matrix columns)."""
    stats = {
        "micro_f1": _f1(totals, _TP),
        "category_f1": _f1(totals, _CAT_TP),
        "dp_accuracy": _ratio(totals[..., _DP], totals[..., _HAS_GOLD]),
    }
    for i, k in enumerate(ks):
        stats[f"recall@{k}"] = _ratio(totals[..., _HITS + i], totals[..., _N_GOLD])
    return stats


def _value(value: float | np.floating[Any] | FloatArray) -> float | None:
    """A rounded plain float from a number or 0-d array, ``None`` for NaN."""
    number = float(value)
    return None if math.isnan(number) else rounded(number)


def _resampled_totals(counts: FloatArray, n_resamples: int, seed: int) -> FloatArray:
    """Summed counts of each resample, shape (resamples, columns): weights @ count matrix."""
    n_docs = counts.shape[0]
    if n_docs == 0:
        return np.zeros((n_resamples, counts.shape[1]))
    draws = np.random.default_rng(seed).integers(0, n_docs, size=(n_resamples, n_docs))
    offsets = np.arange(n_resamples)[:, None] * n_docs
    weights = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n_docs)
    return weights.reshape(n_resamples, n_docs).astype(np.float64) @ counts


def _bootstrap(
    counts: FloatArray, ks: Sequence[int], n_resamples: int, seed: int, confidence: float
) -> dict[str, Any]:
    alpha = 1 - confidence
    point = _statistics(counts.sum(axis=0), ks)
    samples = _statistics(_resampled_totals(counts, n_resamples, seed), ks)
    out: dict[str, Any] = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    for name, values in samples.items():
        valid = values[~np.isnan(values)]
        low, high = (
            np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            if valid.size
            else (np.nan, np.nan)
        )
        out[name] = {"value": _value(point[name]), "low": _value(low), "high": _value(high)}
    return out


def _per_code(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, LabelScores]:
    """Scores of every code present in gold or predicted, most frequent in gold first."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        tp.update(set(g) & set(p))
        fp.update(set(p) - set(g))
        fn.update(set(g) - set(p))
    codes = sorted(tp.keys() | fp.keys() | fn.keys(), key=lambda c: (-(tp[c] + fn[c]), c))
    return {c: LabelScores(tp[c], fp[c], fn[c]) for c in codes}


def _micro(totals: FloatArray, tp: int) -> LabelScores:
    return LabelScores(*(int(v) for v in totals[tp : tp + 3]))


def coding_metrics(
    gold: Sequence[Record],
    predicted: Sequence[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
    ks: Sequence[int] = (1, 5, 10),
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Micro, macro and category P/R/F1, DP accuracy, P@k/R@k and bootstrap intervals.

    Parameters
    ----------
    gold
        Gold records, one per document, ``labels`` = CIM-10 codes with the DP first.
    predicted
        Predicted records, ``labels`` ranked (most likely first, the first is the DP).
    use_case
        The use case scored (unused: the code set is open); kept for the shared metric call.
    groups
        ``doc_id -> group`` (e.g. the document type) for a micro score per group; documents
        it does not name fall under ``"unknown"``.
    ks
        Cut-offs of precision@k and recall@k (each at least 1).
    n_resamples, seed, confidence
        Bootstrap settings; the same seed gives the same intervals.

    Returns
    -------
    dict
        JSON-ready metrics (ratios rounded to 4 decimals, ``None`` where undefined): ``micro``,
        ``macro``, ``per_code``, ``category``, ``dp_accuracy``, ``dp_category_accuracy``,
        ``at_k`` (keyed by ``str(k)``), ``bootstrap``, ``documents`` and, with ``groups``,
        ``by_group``.

    Raises
    ------
    ValueError
        A ``doc_id`` appears twice in one input, or a setting is out of range.
    """
    ks = list(dict.fromkeys(ks))
    if any(k < 1 for k in ks):
        raise ValueError(f"every k of ks must be at least 1, got {ks}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    gold_by = _codes_by_doc(gold, "gold")
    pred_by = _codes_by_doc(predicted, "predicted")
    doc_ids = list(gold_by)
    gold_codes = [gold_by[d] for d in doc_ids]
    pred_codes = [pred_by.get(d, []) for d in doc_ids]
    rows = [_document_row(g, p, ks) for g, p in zip(gold_codes, pred_codes, strict=True)]
    counts = np.array(rows, dtype=np.float64).reshape(len(doc_ids), _HITS + len(ks))
    totals = counts.sum(axis=0)

    per_code = _per_code(gold_codes, pred_codes)
    macro = [s.f1 for s in per_code.values() if s.support and s.f1 is not None]
    n_with_gold = totals[_HAS_GOLD]
    scores: dict[str, Any] = {
        "micro": _micro(totals, _TP).to_dict(),
        "macro": {"f1": rounded(float(np.mean(macro))) if macro else None, "codes": len(macro)},
        "per_code": {code: {**s.to_dict(), "support": s.support} for code, s in per_code.items()},
        "category": _micro(totals, _CAT_TP).to_dict(),
        "dp_accuracy": _value(_ratio(totals[_DP], n_with_gold)),
        "dp_category_accuracy": _value(_ratio(totals[_DP_CAT], n_with_gold)),
        "at_k": {
            str(k): {
                "precision": _value(_ratio(totals[_HITS + i], k * n_with_gold)),
                "recall": _value(_ratio(totals[_HITS + i], totals[_N_GOLD])),
            }
            for i, k in enumerate(ks)
        },
        "bootstrap": _bootstrap(counts, ks, n_resamples, seed, confidence),
        "documents": {
            "gold": len(doc_ids),
            "with_gold_codes": int(n_with_gold),
            "missing_doc_ids": sum(d not in pred_by for d in doc_ids),
            "unknown_doc_ids": sum(d not in gold_by for d in pred_by),
        },
    }
    if groups:
        members: defaultdict[str, list[int]] = defaultdict(list)
        for i, doc_id in enumerate(doc_ids):
            members[groups.get(doc_id, "unknown")].append(i)
        scores["by_group"] = {
            group: {**_micro(counts[idx].sum(axis=0), _TP).to_dict(), "documents": len(idx)}
            for group, idx in sorted(members.items())
        }
    return scores


__all__ = ["coding_metrics", "normalise_code"]
