"""Apply replacements to a text and carry every other offset over to the new text.

Offsets are the platform's contract (a span's ``text`` is ``document.text[start:end]``), so a
pseudonymised text comes with the new offsets of its surrogates and an :class:`OffsetMap`
that moves any other span (an answer key, an annotation) onto the new text: a span that does
not touch a replacement keeps its text; a span identical to a replaced one now holds the
surrogate; any other overlap is a conflict, reported, never guessed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from curation.schema import Span

Status = Literal["mapped", "replaced", "conflict"]


@dataclass(frozen=True, slots=True)
class Edit:
    """One replacement: ``old_start:old_end`` of the old text is ``new_start:new_end`` now."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int


@dataclass(frozen=True, slots=True)
class MappedSpan:
    """A span carried over to the new text: ``span`` is ``None`` for a conflict."""

    status: Status
    span: Span | None


class OffsetMap:
    """Old-text offsets -> new-text offsets, given the edits (sorted, non-overlapping).

    >>> old = "Patient Dupont vu le 12/03/2024 pour HTA."
    >>> spans = [Span(8, 14, "NOM", "Dupont"), Span(21, 31, "DATE", "12/03/2024")]
    >>> new, new_spans, omap = apply_replacements(old, spans, lambda s: {"NOM": "Martin-Roy",
    ...     "DATE": "2 mai 2024"}[s.label])
    >>> new
    'Patient Martin-Roy vu le 2 mai 2024 pour HTA.'
    >>> hta = omap.map_span(Span(37, 40, "DIAG", "HTA")).span
    >>> (hta.start, hta.end, new[hta.start:hta.end])
    (41, 44, 'HTA')
    >>> omap.map_span(Span(8, 11, "NOM", "Dup")).status
    'conflict'
    """

    def __init__(self, edits: Sequence[Edit], surrogates: Sequence[str] = ()) -> None:
        self.edits = tuple(edits)
        self._surrogates = tuple(surrogates)
        self._starts = [e.old_start for e in self.edits]
        self._ends = [e.old_end for e in self.edits]
        self._deltas = [0]
        for e in self.edits:
            self._deltas.append(
                self._deltas[-1] + (e.new_end - e.new_start) - (e.old_end - e.old_start)
            )

    def position(self, pos: int) -> int | None:
        """New offset of old offset ``pos``; ``None`` when ``pos`` is strictly inside an edit."""
        i = bisect_right(self._ends, pos)  # edits ending at or before pos
        if i < len(self.edits) and self.edits[i].old_start < pos:
            return None
        return pos + self._deltas[i]

    def overlapping(self, start: int, end: int) -> list[int]:
        """Indices of the edits that share at least one character with ``start:end``.

        An empty span overlaps an edit when it sits strictly inside it.
        """
        if start == end:
            i = bisect_right(self._ends, start)
            inside = i < len(self.edits) and self.edits[i].old_start < start
            return [i] if inside else []
        first = bisect_right(self._ends, start)
        last = bisect_left(self._starts, end)
        return list(range(first, last))

    def map_span(self, span: Span) -> MappedSpan:
        """``span`` of the old text on the new text (``mapped``, ``replaced`` or ``conflict``)."""
        hits = self.overlapping(span.start, span.end)
        if not hits:
            start, end = self.position(span.start), self.position(span.end)
            assert start is not None and end is not None
            return MappedSpan("mapped", replace(span, start=start, end=end))
        if len(hits) == 1:
            edit = self.edits[hits[0]]
            if (edit.old_start, edit.old_end) == (span.start, span.end):
                text = self._surrogates[hits[0]] if self._surrogates else span.text
                moved = replace(span, start=edit.new_start, end=edit.new_end, text=text)
                return MappedSpan("replaced", moved)
        return MappedSpan("conflict", None)


def resolve_overlaps(text: str, spans: Iterable[Span]) -> tuple[list[Span], int]:
    """Merge overlapping spans into their union (the longest one's label); count merges.

    Two detectors may both fire on ``Jean Dupont`` and on ``Dupont``: replacing the union
    leaves no piece of either in the text. Empty spans are dropped (nothing to replace).

    >>> merged, n = resolve_overlaps("Jean Dupont", [Span(0, 11, "NOM", "Jean Dupont"),
    ...                                               Span(5, 11, "NOM", "Dupont")])
    >>> [(s.start, s.end, s.label) for s in merged], n
    ([(0, 11, 'NOM')], 1)
    """
    ordered = sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, -s.end))
    out: list[Span] = []
    longest: list[Span] = []
    merges = 0
    for span in ordered:
        if out and span.start < out[-1].end:
            merges += 1
            group_end = max(out[-1].end, span.end)
            if span.end - span.start > longest[-1].end - longest[-1].start:
                longest[-1] = span
            best = longest[-1]
            origins = {out[-1].origin, span.origin}
            out[-1] = Span(
                out[-1].start,
                group_end,
                best.label,
                text[out[-1].start : group_end],
                max(out[-1].score, span.score),
                out[-1].origin if len(origins) == 1 else None,
            )
        else:
            out.append(span)
            longest.append(span)
    return out, merges


def apply_replacements(
    text: str, spans: Sequence[Span], surrogate_for: Callable[[Span], str]
) -> tuple[str, list[Span], OffsetMap]:
    """Replace each span of ``text`` by ``surrogate_for(span)``.

    Parameters
    ----------
    text
        The old text.
    spans
        Non-overlapping spans of ``text`` (see :func:`resolve_overlaps`); empty ones are
        skipped.
    surrogate_for
        The replacement of a span.

    Returns
    -------
    tuple
        The new text; the replaced spans with their new offsets (``text`` the surrogate,
        label, score and origin kept), in text order; the :class:`OffsetMap` of the edits.

    Raises
    ------
    ValueError
        Two spans overlap, or a span is out of the text (offsets named, never the text).
    """
    ordered = sorted((s for s in spans if s.end > s.start), key=lambda s: s.start)
    pieces: list[str] = []
    edits: list[Edit] = []
    surrogates: list[str] = []
    new_spans: list[Span] = []
    cursor = 0
    length = 0
    for span in ordered:
        if span.start < cursor:
            raise ValueError(f"overlapping spans at {span.start}:{span.end}; resolve them first")
        if span.start < 0 or span.end > len(text):
            raise ValueError(f"span {span.start}:{span.end} outside a text of {len(text)}")
        surrogate = surrogate_for(span)
        pieces.append(text[cursor : span.start])
        length += span.start - cursor
        pieces.append(surrogate)
        edits.append(Edit(span.start, span.end, length, length + len(surrogate)))
        surrogates.append(surrogate)
        new_spans.append(replace(span, start=length, end=length + len(surrogate), text=surrogate))
        length += len(surrogate)
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), new_spans, OffsetMap(edits, surrogates)
