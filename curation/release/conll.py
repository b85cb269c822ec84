"""CoNLL files of a span use case: ``token<TAB>tag`` lines, BIO tags, one blank line a sentence.

Tokens are those of :func:`curation.quality.noise.tokenize` (the platform's token model), cut
at span boundaries; a token partly inside a span gets its tag.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from pathlib import Path

from curation.io import atomic_writer
from curation.quality.noise import tokenize
from curation.release.checks import (
    LINE_BREAKS,
    Records,
    Texts,
    _documents,
    _file_name,
    _require_spans,
)
from curation.schema import Span

#: Tokens that end a sentence when a space follows, and abbreviations whose dot does not.
SENTENCE_END = frozenset(".!?…")
ABBREVIATIONS = frozenset({"Dr", "Pr", "M", "Mme", "Mlle", "Mr", "Me", "cf", "St", "Ste"})
Sentence = list[tuple[str, str]]


def write_conll(records: Records, texts: Texts, path: Path) -> None:
    """``token<TAB>tag`` lines of a span use case (see :func:`conll_sentences`).

    Each document starts with ``-DOCSTART- <doc_id>`` and a blank line; a blank line ends
    each sentence. Tokens are cut at span boundaries (``75013Paris`` with two spans gives
    two tokens). Checks as for :func:`write_jsonl`, and overlapping spans are errors naming
    the doc_id (BIO tags cannot hold them).
    """
    docs = _documents(records, texts, None)
    with atomic_writer(path) as handle:
        for doc in docs:
            _require_spans(doc.record, "CoNLL")
            handle.write(f"-DOCSTART- {_file_name(doc.record.doc_id)}\n\n")
            for sentence in conll_sentences(doc.text, doc.record.spans, doc.record.doc_id):
                handle.writelines(f"{token}\t{tag}\n" for token, tag in sentence)
                handle.write("\n")


def conll_sentences(text: str, spans: Sequence[Span], doc_id: str) -> list[Sentence]:
    """``(token, BIO tag)`` sentences: a sentence ends at a line break, or after ``.``,
    ``!``, ``?`` or ``…`` and a space (not after ``Dr.``, ``Mme.``...), never inside a span.

    Examples
    --------
    >>> text = "Vu par Dr. Jean Dupont.\\nSortie le 12/03."
    >>> spans = [Span(11, 22, "NOM", "Jean Dupont"), Span(34, 39, "DATE", "12/03")]
    >>> first, second = conll_sentences(text, spans, "crh-1")
    >>> first[3:]
    [('.', 'O'), ('Jean', 'B-NOM'), ('Dupont', 'I-NOM'), ('.', 'O')]
    >>> [tag for _, tag in second]
    ['O', 'O', 'B-DATE', 'I-DATE', 'I-DATE', 'O']
    """
    offsets = split_at_spans(tokenize(text), spans)
    owner = _token_owners(offsets, spans, doc_id)
    sentences: list[Sentence] = [[]]
    for i, (start, end) in enumerate(offsets):
        span = owner[i]
        continues = i > 0 and span is not None and owner[i - 1] == span
        if i > 0 and not continues and sentences[-1] and _ends_sentence(text, offsets, i):
            sentences.append([])
        tag = "O" if span is None else f"{'I' if continues else 'B'}-{spans[span].label}"
        sentences[-1].append((text[start:end], tag))
    return [s for s in sentences if s]


def split_at_spans(
    offsets: Sequence[tuple[int, int]], spans: Sequence[Span]
) -> list[tuple[int, int]]:
    """Tokens cut where a span starts or ends inside them, so each span covers whole tokens.

    >>> split_at_spans([(0, 10)], [Span(0, 5, "ZIP", "75013"), Span(5, 10, "VILLE", "Paris")])
    [(0, 5), (5, 10)]
    """
    cuts = sorted({s.start for s in spans} | {s.end for s in spans})
    out: list[tuple[int, int]] = []
    for start, end in offsets:
        inner = cuts[bisect_right(cuts, start) : bisect_left(cuts, end)]
        bounds = [start, *inner, end]
        out += list(zip(bounds, bounds[1:], strict=False))
    return out


def _token_owners(
    offsets: Sequence[tuple[int, int]], spans: Sequence[Span], doc_id: str
) -> list[int | None]:
    """Index of the span each token falls in (partly is enough), or ``None``."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i].start, spans[i].end))
    for a, b in zip(order, order[1:], strict=False):
        if spans[b].start < spans[a].end:
            raise ValueError(
                f"doc_id {doc_id}: spans {spans[a].start}-{spans[a].end} and "
                f"{spans[b].start}-{spans[b].end} overlap; BIO tags cannot hold both"
            )
    owner: list[int | None] = [None] * len(offsets)
    starts, ends = [s for s, _ in offsets], [e for _, e in offsets]
    for i in order:  # tokens ending after the span's start and starting before its end
        inside = range(bisect_right(ends, spans[i].start), bisect_left(starts, spans[i].end))
        if not inside or any(owner[t] is not None for t in inside):
            raise ValueError(
                f"doc_id {doc_id}: span {spans[i].start}-{spans[i].end} has no token of its "
                "own (it shares one with another span, or holds none); BIO tags cannot hold it"
            )
        for t in inside:
            owner[t] = i
    return owner


def _ends_sentence(text: str, offsets: Sequence[tuple[int, int]], i: int) -> bool:
    """Whether a sentence ends between token ``i - 1`` and token ``i``."""
    gap = text[offsets[i - 1][1] : offsets[i][0]]
    if any(c in LINE_BREAKS for c in gap):
        return True
    previous = text[offsets[i - 1][0] : offsets[i - 1][1]]
    if previous not in SENTENCE_END or not gap:
        return False
    if i >= 2 and offsets[i - 2][1] == offsets[i - 1][0]:  # "Dr." but not "Dr ."
        return text[offsets[i - 2][0] : offsets[i - 2][1]] not in ABBREVIATIONS
    return True
