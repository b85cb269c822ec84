"""Label noise in adjudicated gold: what a cross-validated model contradicts with confidence.

After adjudication, gold can still hold slips: a name tagged ``VILLE``, a date nobody tagged,
a common word tagged ``NOM``, a CIM-10 code the letter never supports. This module flags the
places where a model that never saw the document disagrees with its gold *with high
confidence*, so that a reviewer takes a second look (confident learning, simplified).

Method
------
Documents are split into K folds (grouped by document). A fast linear model is trained on
K-1 folds and predicts the held-out fold, so every document gets out-of-fold probabilities.

* Spans (:func:`span_noise`): a regex tokenizer keeps character offsets; each token gets the
  label of the gold span covering it, or ``O`` (no BIO prefix). Tokens are featurised (word,
  shape, affixes, case, line start, the two tokens on each side) with a ``FeatureHasher``,
  and a multinomial ``LogisticRegression`` (SAGA, a few epochs) is trained per fold. A gold
  span whose mean token probability puts another label at or above ``threshold`` is flagged
  ``relabel``, or ``spurious`` when that label is ``O``; a run of consecutive tokens outside
  every gold span that the model gives one entity label at or above ``threshold`` is flagged
  ``missed``.
* Document labels (:func:`label_noise`): TF-IDF (words, 1-2 grams found in at least two
  documents, sublinear tf) and one binary, class-balanced ``LogisticRegression`` per label,
  folds stratified on the label; a gold label whose out-of-fold probability is at most
  ``1 - threshold`` is flagged ``label_absent``, a label outside gold with probability at
  least ``threshold`` is flagged ``label_missing``.

On two CPU cores, :func:`span_noise` takes about 4 s on 400 synthetic documents (7,600 gold
spans) and 25 s on 3,000; :func:`label_noise` about 4 s on 900 letters.

Limits
------
A flag is a prompt to look again, not a verdict: a model trained on the same gold learns its
systematic errors and cannot flag them (only slips against the majority are found), and it is
weak on labels with few examples. The threshold is one fixed probability for every label
(confident learning proper uses a per-class threshold from the model's self-confidence; the
``cleanlab`` package implements it, but it is not a project dependency and the fixed rule is a
few lines). Gold spans of a label the training folds never saw are not flagged (the model has
no opinion), nor are document labels with fewer positives (or negatives) than folds. A
gold span too short shows as a ``missed`` run beside it; one too long is seldom flagged (the
mean over its tokens still favours its label). The token model sees a two-token window, so
long-range cues are lost; bags of n-grams do not read negation, so a code whose words also
appear negated elsewhere ("Pas de SAOS") is rarely found ``label_missing``. TF-IDF is
fitted on every document (it reads no label, so nothing leaks from the held-out fold's gold).
With fewer documents than folds, folds drop to the number of documents; one document alone
(or none) gives no flags.

Flags carry ``doc_id``, offsets, labels and a probability, never document text.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold

from curation.schema import Record

#: Kinds of span flags and of document-label flags.
SPAN_KINDS = ("relabel", "spurious", "missed")
LABEL_KINDS = ("label_absent", "label_missing")
#: The token label outside every gold span.
OUTSIDE = "O"
#: Words (letters, underscores), digit runs, and any other single non-space character.
TOKEN = re.compile(r"\d+|[^\W\d]+|[^\w\s]")
_HASH_FEATURES = 2**20
_MAX_ITER = 5


@dataclass(frozen=True, slots=True)
class NoiseFlag:
    """A gold span or document label that the out-of-fold model contradicts with confidence.

    Parameters
    ----------
    doc_id
        The document.
    start, end
        Character offsets of the flagged region (span flags); ``None`` for document labels.
    gold
        The gold label there; ``None`` when the model sees an entity that gold lacks.
    suggested
        The model's label instead; ``None`` when the model says no entity / label absent.
    confidence
        Model probability of ``suggested`` (or of absence), rounded to 4 decimals.
    kind
        ``relabel``, ``spurious`` or ``missed`` for spans; ``label_absent`` or
        ``label_missing`` for document labels.

    Examples
    --------
    >>> NoiseFlag("doc-1", 12, 18, "VILLE", "NOM", 0.97, "relabel").to_dict()["suggested"]
    'NOM'
    """

    doc_id: str
    start: int | None
    end: int | None
    gold: str | None
    suggested: str | None
    confidence: float
    kind: str

    def to_dict(self) -> dict[str, Any]:
        """The flag as a JSON-ready dict (offsets and labels only, no document text)."""
        return asdict(self)


# --- tokens and features -------------------------------------------------------------------


@dataclass(slots=True)
class _Tokens:
    """Every token of the corpus, flat: gold record, document group, offsets, gold label
    index, features.

    ``group`` numbers documents by ``doc_id`` (a document given twice is one group, so that
    it never sits on both sides of a fold).
    """

    record: np.ndarray
    group: np.ndarray
    start: np.ndarray
    end: np.ndarray
    gold: np.ndarray
    x: sparse.csr_matrix


def tokenize(text: str) -> list[tuple[int, int]]:
    """Character offsets of the tokens of ``text`` (words, numbers, single punctuation).

    Examples
    --------
    >>> text = "Vu le 03/02/2024 par Dr Dupont."
    >>> [text[s:e] for s, e in tokenize(text)]
    ['Vu', 'le', '03', '/', '02', '/', '2024', 'par', 'Dr', 'Dupont', '.']
    """
    return [m.span() for m in TOKEN.finditer(text)]


def word_shape(word: str) -> str:
    """Shape of a token, runs longer than four cut (``Dupont`` -> ``Xxxxx``).

    Examples
    --------
    >>> [word_shape(w) for w in ("Dupont", "DUPONT", "2024", "J18.9")]
    ['Xxxxx', 'XXXX', 'dddd', 'Xdd.d']
    """
    out: list[str] = []
    run = 0
    for char in word:
        kind = "X" if char.isupper() else "x" if char.isalpha() else "d" if char.isdigit() else char
        run = run + 1 if out and out[-1] == kind else 1
        if run <= 4:
            out.append(kind)
    return "".join(out)


def _word_features(word: str) -> tuple[str, str, list[str]]:
    """Lowercase form, shape and the token's own features."""
    lower = word.lower()
    shape = word_shape(word)
    own = [f"w={lower}", f"s={shape}", f"p3={lower[:3]}", f"x3={lower[-3:]}"]
    if word.istitle():
        own.append("title")
    if word.isupper():
        own.append("upper")
    if word.isdigit():
        own.append(f"digit{min(len(word), 5)}")
    return lower, shape, own


def _document_features(text: str, offsets: Sequence[tuple[int, int]]) -> list[list[str]]:
    """Features of each token of one document, with a two-token window on each side."""
    cache: dict[str, tuple[str, str, list[str]]] = {}
    words = []
    for start, end in offsets:
        word = text[start:end]
        if word not in cache:
            cache[word] = _word_features(word)
        words.append(cache[word])
    pad = [("<s>", "<s>")] * 2
    window = pad + [(lower, shape) for lower, shape, _ in words] + pad
    out = []
    for i, (_, _, own) in enumerate(words):
        feats = [*own, "bias"]
        if i == 0 or "\n" in text[offsets[i - 1][1] : offsets[i][0]]:
            feats.append("line_start")
        for k in (-2, -1, 1, 2):
            lower, shape = window[i + 2 + k]
            feats.append(f"w{k}={lower}")
            feats.append(f"s{k}={shape}")
        out.append(feats)
    return out


def _token_labels(
    record: Record, offsets: Sequence[tuple[int, int]], index: Mapping[str, int], size: int
) -> list[int]:
    """Gold label index of each token: the first gold span overlapping it, else ``O`` (0)."""
    out = [0] * len(offsets)
    starts = np.array([s for s, _ in offsets], dtype=np.int64)
    ends = np.array([e for _, e in offsets], dtype=np.int64)
    for span in sorted(record.spans, key=lambda s: (s.start, s.end), reverse=True):
        if span.label not in index:
            raise ValueError(
                f"gold {record.doc_id}: span label {span.label!r} at {span.start}-{span.end} "
                f"is not one of the labels {[n for n in index if n != OUTSIDE]}; "
                "validate gold against the use case first"
            )
        if not 0 <= span.start <= span.end <= size:
            raise ValueError(
                f"gold {record.doc_id}: span {span.start}-{span.end} lies outside the text "
                f"({size} characters); the gold and the documents do not match"
            )
        for i in np.flatnonzero((starts < span.end) & (ends > span.start)):
            out[i] = index[span.label]
    return out


def _text_of(doc_id: str, texts: Mapping[str, str]) -> str:
    try:
        return texts[doc_id]
    except KeyError:
        raise ValueError(
            f"gold {doc_id}: no document text for it; pass the texts of every gold document"
        ) from None


def _tokens(gold: Sequence[Record], texts: Mapping[str, str], index: Mapping[str, int]) -> _Tokens:
    """Tokens, gold labels and hashed features of every gold document, one document at a time
    (feature strings are hashed per document, never held for the whole corpus)."""
    hasher = FeatureHasher(n_features=_HASH_FEATURES, input_type="string", alternate_sign=False)
    groups: dict[str, int] = {}
    rows: list[int] = []
    docs: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    labels: list[int] = []
    blocks: list[sparse.csr_matrix] = []
    for row, record in enumerate(gold):
        text = _text_of(record.doc_id, texts)
        offsets = tokenize(text)
        if not offsets:
            continue
        rows.extend([row] * len(offsets))
        docs.extend([groups.setdefault(record.doc_id, len(groups))] * len(offsets))
        starts.extend(s for s, _ in offsets)
        ends.extend(e for _, e in offsets)
        labels.extend(_token_labels(record, offsets, index, len(text)))
        blocks.append(sparse.csr_matrix(hasher.transform(_document_features(text, offsets))))
    x = sparse.csr_matrix(sparse.vstack(blocks)) if blocks else sparse.csr_matrix((0, 1))
    return _Tokens(
        record=np.asarray(rows, dtype=np.int64),
        group=np.asarray(docs, dtype=np.int64),
        start=np.asarray(starts, dtype=np.int64),
        end=np.asarray(ends, dtype=np.int64),
        gold=np.asarray(labels, dtype=np.int64),
        x=x[:, np.unique(x.indices)],  # only the features seen: a small coefficient matrix
    )


# --- out-of-fold probabilities -------------------------------------------------------------


def effective_folds(n_documents: int, folds: int) -> int:
    """Folds actually used: ``folds`` capped by the number of documents, at least 2.

    Returns 0 when there are fewer than two documents (nothing to cross-validate).

    Examples
    --------
    >>> effective_folds(300, 5), effective_folds(3, 5), effective_folds(1, 5)
    (5, 3, 0)
    """
    if n_documents < 2:
        return 0
    return max(2, min(folds, n_documents))


def _token_classifier(seed: int) -> LogisticRegression:
    """Multinomial logistic regression; SAGA, stopped after a few epochs (on one-hot
    features it is then as accurate as lbfgs run to convergence, and 20 times faster)."""
    return LogisticRegression(solver="saga", max_iter=_MAX_ITER, tol=1e-3, random_state=seed)


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


# --- spans ---------------------------------------------------------------------------------


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


def _by_confidence(flags: list[NoiseFlag]) -> list[NoiseFlag]:
    return sorted(flags, key=lambda f: (-f.confidence, f.doc_id, f.start or 0, f.kind))


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


# --- document labels -----------------------------------------------------------------------


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


# --- report --------------------------------------------------------------------------------


def _concerned(flag: NoiseFlag) -> str:
    """The label a flag is about: the gold one, else the suggested one."""
    return flag.gold or flag.suggested or OUTSIDE


def noise_report(
    flags: Sequence[NoiseFlag], n_documents: int, folds: int, threshold: float
) -> dict[str, Any]:
    """A JSON-ready summary of flags: counts per kind and per label, rates, the flags.

    Labels are counted under the gold label, or the suggested one for ``missed`` and
    ``label_missing``. The report holds offsets and labels, never document text.

    Examples
    --------
    >>> flags = [NoiseFlag("doc-1", 0, 6, "NOM", "VILLE", 0.95, "relabel")]
    >>> report = noise_report(flags, n_documents=4, folds=5, threshold=0.9)
    >>> report["by_kind"], report["flagged_document_rate"]
    ({'relabel': 1}, 0.25)
    """
    by_label: dict[str, Counter[str]] = defaultdict(Counter)
    for flag in flags:
        by_label[_concerned(flag)][flag.kind] += 1
    documents = len({flag.doc_id for flag in flags})
    return {
        "settings": {"folds": folds, "threshold": threshold},
        "n_documents": n_documents,
        "n_flags": len(flags),
        "flagged_documents": documents,
        "flagged_document_rate": round(documents / n_documents, 4) if n_documents else 0.0,
        "flags_per_document": round(len(flags) / n_documents, 4) if n_documents else 0.0,
        "by_kind": dict(Counter(flag.kind for flag in flags)),
        "by_label": {label: dict(counts) for label, counts in sorted(by_label.items())},
        "flags": [flag.to_dict() for flag in flags],
    }
