"""Tokens of the gold documents, their gold labels and hashed features (for :func:`span_noise`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher

from curation.quality.noise.common import OUTSIDE, _text_of
from curation.schema import Record

#: Words (letters, underscores), digit runs, and any other single non-space character.
TOKEN = re.compile(r"\d+|[^\W\d]+|[^\w\s]")
_HASH_FEATURES = 2**20


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
