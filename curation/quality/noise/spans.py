"""Span noise: gold spans (and gaps) that an out-of-fold token classifier contradicts."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from curation.quality.noise.common import OUTSIDE, NoiseFlag, _by_confidence, effective_folds
from curation.quality.noise.tokens import _Tokens, _tokens
from curation.schema import Record

_MAX_ITER = 5


def _token_classifier(seed: int) -> LogisticRegression:
    """Multinomial logistic regression; SAGA, stopped after a few epochs (on one-hot
    features it is then as accurate as lbfgs run to convergence, and 20 times faster)."""
    return LogisticRegression(solver="saga", max_iter=_MAX_ITER, tol=1e-3, random_state=seed)


@dataclass(slots=True)
class _OutOfFold:
    """Out-of-fold probabilities (tokens x classes, class 0 is ``O``) and, per token, the
    classes its model was trained on."""

    names: list[str]
    proba: np.ndarray
    seen: np.ndarray

    @property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}


def _fold_proba(
    x: sparse.csr_matrix, y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Classes seen in ``train`` and probabilities of the ``test`` tokens over them."""
    classes = np.unique(y[train])
    if len(classes) == 1:
        return classes, np.ones((len(test), 1))
    model = _token_classifier(seed).fit(x[train], y[train])
    return model.classes_, model.predict_proba(x[test])


def _out_of_fold(tokens: _Tokens, names: list[str], folds: int, seed: int) -> _OutOfFold:
    """Probabilities of each token from a model trained on the other folds' documents.

    Folds run in threads (the SAGA solver releases the GIL), one per CPU core.
    """
    x, y = tokens.x, tokens.gold
    proba = np.zeros((len(y), len(names)))
    seen = np.zeros((len(y), len(names)), dtype=bool)
    splits = list(GroupKFold(n_splits=folds).split(x, y, tokens.group))
    jobs = (delayed(_fold_proba)(x, y, train, test, seed) for train, test in splits)
    with warnings.catch_warnings():  # process-wide, so it covers the threads
        warnings.simplefilter("ignore", ConvergenceWarning)  # short runs on purpose
        results = Parallel(n_jobs=-1, backend="threading")(jobs)
    for (_, test), (classes, fold_proba) in zip(splits, results, strict=True):
        seen[np.ix_(test, classes)] = True
        proba[np.ix_(test, classes)] = fold_proba
    return _OutOfFold(names, proba, seen)


def _record_ranges(record: np.ndarray) -> Iterator[tuple[int, slice]]:
    """(gold record index, slice of its tokens) of each record with tokens."""
    bounds = np.flatnonzero(np.diff(record)) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), len(record)]
    for first, end in zip(starts, ends, strict=True):
        if end > first:
            yield int(record[first]), slice(first, end)


def _span_flags(
    record: Record, tokens: _Tokens, tokens_of: slice, oof: _OutOfFold, threshold: float
) -> list[NoiseFlag]:
    """``relabel`` and ``spurious`` flags of one document's gold spans.

    A span is judged on the mean probability of its tokens; spans whose label the model was
    not trained on (absent from the other folds) are not judged.
    """
    out = []
    starts, ends = tokens.start[tokens_of], tokens.end[tokens_of]
    index = oof.index
    for span in record.spans:
        inside = tokens_of.start + np.flatnonzero((starts < span.end) & (ends > span.start))
        gold = index[span.label]
        if len(inside) == 0 or not oof.seen[inside, gold].all():
            continue
        mean = oof.proba[inside].mean(axis=0)
        top = int(mean.argmax())
        if top == gold or mean[top] < threshold:
            continue
        suggested = None if top == 0 else oof.names[top]
        kind = "spurious" if top == 0 else "relabel"
        confidence = round(float(mean[top]), 4)
        out.append(
            NoiseFlag(record.doc_id, span.start, span.end, span.label, suggested, confidence, kind)
        )
    return out


def _missed_flags(
    doc_id: str, tokens: _Tokens, tokens_of: slice, oof: _OutOfFold, threshold: float
) -> list[NoiseFlag]:
    """``missed`` flags: runs of consecutive tokens outside every gold span that the model
    gives one entity label with confidence (a gold span breaks a run)."""
    top = oof.proba[tokens_of].argmax(axis=1)
    best = oof.proba[tokens_of].max(axis=1)
    hit = (tokens.gold[tokens_of] == 0) & (top != 0) & (best >= threshold)
    first = tokens_of.start
    out = []
    i = 0
    while i < len(hit):
        if not hit[i]:
            i += 1
            continue
        j = i + 1
        while j < len(hit) and hit[j] and top[j] == top[i]:
            j += 1
        confidence = round(float(best[i:j].mean()), 4)
        start, stop = int(tokens.start[first + i]), int(tokens.end[first + j - 1])
        label = oof.names[top[i]]
        out.append(NoiseFlag(doc_id, start, stop, None, label, confidence, "missed"))
        i = j
    return out


def span_noise(
    gold: Sequence[Record],
    texts: Mapping[str, str],
    labels: Sequence[str],
    folds: int = 5,
    threshold: float = 0.9,
    seed: int = 0,
) -> list[NoiseFlag]:
    """Gold spans (and gaps) that a K-fold token classifier contradicts with confidence.

    Parameters
    ----------
    gold
        Adjudicated gold, one record per document (``spans`` used).
    texts
        Document text by ``doc_id`` (every gold document must be there).
    labels
        The use case's span labels; a gold span with another label is an error.
    folds
        Number of cross-validation folds, by document; lowered to the number of documents
        when there are fewer (at least 2). One document alone gives no flags.
    threshold
        Probability the model must reach to contradict gold.
    seed
        Seed of the classifier.

    Returns
    -------
    list[NoiseFlag]
        ``relabel``, ``spurious`` and ``missed`` flags, most confident first.

    Raises
    ------
    ValueError
        A gold document without text, a span label outside ``labels``, or a span outside
        its text.
    """
    names = [OUTSIDE, *dict.fromkeys(labels)]
    tokens = _tokens(gold, texts, {name: i for i, name in enumerate(names)})
    k = effective_folds(len(np.unique(tokens.group)), folds)
    if k == 0:
        return []
    oof = _out_of_fold(tokens, names, k, seed)
    flags: list[NoiseFlag] = []
    for row, tokens_of in _record_ranges(tokens.record):
        record = gold[row]
        flags += _span_flags(record, tokens, tokens_of, oof, threshold)
        flags += _missed_flags(record.doc_id, tokens, tokens_of, oof, threshold)
    return _by_confidence(flags)
