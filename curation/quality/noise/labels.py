"""Document-label noise: gold labels that an out-of-fold TF-IDF classifier contradicts."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from curation.quality.noise.common import NoiseFlag, _by_confidence, _text_of, effective_folds
from curation.schema import Record


def _label_classifier() -> LogisticRegression:
    """Binary logistic regression, weakly regularised and class-balanced: rare labels get
    probabilities far enough from 0 and 1 for the threshold to mean something (tuned on the
    synthetic corpus: plain C=1 flags 4% of clean CIM-10 gold codes as absent, this 0.5%)."""
    return LogisticRegression(solver="liblinear", C=10.0, class_weight="balanced")


def _fit(model: LogisticRegression, x: sparse.csr_matrix, y: np.ndarray) -> LogisticRegression:
    """``model.fit`` without convergence warnings (a close fit is all a flag needs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def _label_candidates(gold: Sequence[Record], labels: Sequence[str]) -> list[str]:
    """The labels to check: ``labels``, or every label seen in gold when it is empty."""
    if labels:
        return list(dict.fromkeys(labels))
    return sorted({label for record in gold for label in record.labels})


def _label_probability(
    x: sparse.csr_matrix, y: np.ndarray, folds: int, seed: int
) -> np.ndarray | None:
    """Out-of-fold probability of one label, or ``None`` when it has too few examples."""
    y = y.astype(np.int64)
    positives = int(y.sum())
    if positives < folds or len(y) - positives < folds:
        return None
    proba = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y):
        model = _fit(_label_classifier(), x[train], y[train])
        proba[test] = model.predict_proba(x[test])[:, 1]
    return proba


def label_noise(
    gold: Sequence[Record],
    texts: Mapping[str, str],
    labels: Sequence[str],
    folds: int = 5,
    threshold: float = 0.9,
    seed: int = 0,
) -> list[NoiseFlag]:
    """Gold document labels that a K-fold text classifier contradicts with confidence.

    Parameters
    ----------
    gold
        Adjudicated gold, one record per document (``labels`` used, e.g. CIM-10 codes).
    texts
        Document text by ``doc_id`` (every gold document must be there).
    labels
        The labels to check. Empty: every label seen in gold (open label sets such as
        CIM-10 codes); gold labels outside a non-empty ``labels`` are ignored.
    folds
        Number of cross-validation folds (stratified per label). Labels with fewer than
        ``folds`` positive (or negative) documents are skipped. Lowered to the number of
        documents when there are fewer (at least 2); one document alone gives no flags.
    threshold
        Probability the model must reach to contradict gold.
    seed
        Seed of the fold split and of the classifier.

    Returns
    -------
    list[NoiseFlag]
        ``label_absent`` and ``label_missing`` flags, most confident first.

    Raises
    ------
    ValueError
        A gold document without text.
    """
    k = effective_folds(len(gold), folds)
    if k == 0:
        return []
    corpus = [_text_of(record.doc_id, texts) for record in gold]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    try:
        x = sparse.csr_matrix(vectorizer.fit_transform(corpus))
    except ValueError:  # no word in any document: nothing to learn from
        return []
    flags: list[NoiseFlag] = []
    for label in _label_candidates(gold, labels):
        y = np.array([label in record.labels for record in gold], dtype=bool)
        proba = _label_probability(x, y, k, seed)
        if proba is not None:
            flags += _label_flags(label, gold, y, proba, threshold)
    return _by_confidence(flags)


def _label_flags(
    label: str, gold: Sequence[Record], y: np.ndarray, proba: np.ndarray, threshold: float
) -> list[NoiseFlag]:
    """Flags of one label: gold but improbable, or probable but not gold."""
    out = []
    for record, present, p in zip(gold, y.tolist(), proba.tolist(), strict=True):
        if present and p <= 1 - threshold:
            flag = NoiseFlag(
                record.doc_id, None, None, label, None, round(1 - p, 4), "label_absent"
            )
        elif not present and p >= threshold:
            flag = NoiseFlag(record.doc_id, None, None, None, label, round(p, 4), "label_missing")
        else:
            continue
        out.append(flag)
    return out
