"""Replacements and offsets: exact new offsets, untouched text kept, other spans carried over."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.schema import Span
from curation.surrogates import apply_replacements, resolve_overlaps

TEXT = st.text(alphabet="abcdéè ,.\n0123456789ÉA", min_size=0, max_size=80)


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[Span], list[str]]:
    """A text, non-overlapping spans of it, and one surrogate per span (any length)."""
    text = draw(TEXT)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=10, unique=True)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if end > start:
            spans.append(Span(start, end, draw(st.sampled_from(["NOM", "DATE"])), text[start:end]))
    surrogates = [draw(st.text(alphabet="xyzÀ -", max_size=15)) for _ in spans]
    return text, spans, surrogates


@given(text_and_spans())
def test_new_offsets_are_exact_and_other_text_is_unchanged(
    item: tuple[str, list[Span], list[str]],
) -> None:
    text, spans, surrogates = item
    table = {(s.start, s.end): r for s, r in zip(spans, surrogates, strict=True)}
    new_text, new_spans, _ = apply_replacements(text, spans, lambda s: table[(s.start, s.end)])
    kept = [s for s in spans if s.end > s.start]
    assert len(new_spans) == len(kept)
    for old, new in zip(kept, new_spans, strict=True):
        assert new_text[new.start : new.end] == new.text == table[(old.start, old.end)]
        assert new.label == old.label
    # the text between spans is the old text between spans, in order
    old_bounds = [0, *[x for s in kept for x in (s.start, s.end)], len(text)]
    new_bounds = [0, *[x for s in new_spans for x in (s.start, s.end)], len(new_text)]
    for i in range(0, len(old_bounds), 2):
        old_gap = text[old_bounds[i] : old_bounds[i + 1]]
        assert new_text[new_bounds[i] : new_bounds[i + 1]] == old_gap


@given(text_and_spans(), st.data())
def test_other_spans_map_exactly_or_are_conflicts(
    item: tuple[str, list[Span], list[str]], data: st.DataObject
) -> None:
    text, spans, surrogates = item
    table = {(s.start, s.end): r for s, r in zip(spans, surrogates, strict=True)}
    new_text, _, offsets = apply_replacements(text, spans, lambda s: table[(s.start, s.end)])
    for _ in range(10):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, len(text)))
        other = Span(start, end, "DIAG", text[start:end])
        mapped = offsets.map_span(other)
        touches = any(
            s.start < end and start < s.end if end > start else s.start < start < s.end
            for s in spans
        )
        if (start, end) in table and end > start:
            assert mapped.status == "replaced" and mapped.span is not None
            assert mapped.span.text == table[(start, end)]
        elif touches:
            assert mapped.status == "conflict" and mapped.span is None
        else:
            assert mapped.status == "mapped" and mapped.span is not None
            assert new_text[mapped.span.start : mapped.span.end] == other.text
            continue
        if mapped.span is not None:
            assert new_text[mapped.span.start : mapped.span.end] == mapped.span.text


@given(TEXT, st.data())
def test_overlaps_are_merged_into_their_union(text: str, data: st.DataObject) -> None:
    spans = []
    for _ in range(data.draw(st.integers(0, 6))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, len(text)))
        spans.append(
            Span(start, end, data.draw(st.sampled_from(["NOM", "VILLE"])), text[start:end])
        )
    merged, _ = resolve_overlaps(text, spans)
    covered = {i for s in spans for i in range(s.start, s.end)}
    assert {i for s in merged for i in range(s.start, s.end)} == covered
    for a, b in zip(merged, merged[1:], strict=False):
        assert a.end <= b.start
    assert all(text[s.start : s.end] == s.text for s in merged)
    apply_replacements(text, merged, lambda s: "X")  # no overlap left


def test_overlapping_spans_are_refused() -> None:
    text = "Jean Dupont"
    with pytest.raises(ValueError, match="overlapping spans at 5:11"):
        apply_replacements(
            text, [Span(0, 11, "NOM", text), Span(5, 11, "NOM", "Dupont")], lambda s: "X"
        )
