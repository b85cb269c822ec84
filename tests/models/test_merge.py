"""Merge policy of rule and model spans: one test per case of the policy, and properties.

Spans are placed on invented French clinical sentences with :func:`at`, which finds the
span's text in the sentence, so offsets always match the text.
"""

from __future__ import annotations

import copy
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from curation.models.merge import (
    LABEL_PRECEDENCE,
    MODEL_LABELS,
    STRUCTURED_LABELS,
    merge_spans,
)
from curation.schema import Span
from curation.usecases.pseudonymisation import LABELS


def at(text: str, part: str, label: str, score: float, origin: str, nth: int = 0) -> Span:
    """The span of the ``nth`` occurrence of ``part`` in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(part, start + 1)
    return Span(start, start + len(part), label, part, score, origin)


def rule(text: str, part: str, label: str, score: float = 0.99) -> Span:
    return at(text, part, label, score, f"rule:{label.lower()}")


def model(text: str, part: str, label: str, score: float = 0.8) -> Span:
    return at(text, part, label, score, "model:bert-v1")


def summary(spans: list[Span]) -> list[tuple[str, str]]:
    return [(s.label, s.text) for s in spans]


def test_tables_cover_the_use_case_labels() -> None:
    assert set(LABEL_PRECEDENCE) == set(LABELS)
    assert set(LABELS) == STRUCTURED_LABELS | MODEL_LABELS
    assert not STRUCTURED_LABELS & MODEL_LABELS
    assert len(set(LABEL_PRECEDENCE.values())) == len(LABEL_PRECEDENCE)


def test_empty_inputs() -> None:
    assert merge_spans([], []) == []


def test_disjoint_spans_all_kept_sorted_and_inputs_untouched() -> None:
    text = "Mme Jeanne PETIT, tél 06 12 34 56 78, vue le 12/03/2024"
    rules = [rule(text, "12/03/2024", "DATE", 0.95), rule(text, "06 12 34 56 78", "TEL")]
    models = [model(text, "PETIT", "NOM"), model(text, "Jeanne", "PRENOM")]
    before = copy.deepcopy((rules, models))
    merged = merge_spans(rules, models)
    assert summary(merged) == [
        ("PRENOM", "Jeanne"),
        ("NOM", "PETIT"),
        ("TEL", "06 12 34 56 78"),
        ("DATE", "12/03/2024"),
    ]
    assert (rules, models) == before


def test_identical_spans_same_label_are_fused() -> None:
    text = "tél 06 12 34 56 78"
    merged = merge_spans(
        [rule(text, "06 12 34 56 78", "TEL", 0.99)], [model(text, "06 12 34 56 78", "TEL", 0.7)]
    )
    assert len(merged) == 1
    assert merged[0].score == 0.99
    assert merged[0].origin == "rule:tel+model:bert-v1"


def test_fused_score_is_the_maximum_whoever_has_it() -> None:
    text = "Dr Martin"
    merged = merge_spans(
        [at(text, "Martin", "NOM", 0.5, "rule:nom")], [model(text, "Martin", "NOM", 0.9)]
    )
    assert [(s.score, s.origin) for s in merged] == [(0.9, "rule:nom+model:bert-v1")]


def test_duplicate_model_spans_are_fused_once() -> None:
    text = "Dr Martin"
    span = model(text, "Martin", "NOM")
    assert [s.origin for s in merge_spans([], [span, copy.copy(span)])] == ["model:bert-v1"]


def test_same_extent_different_label_validated_rule_wins() -> None:
    text = "Service de cardiologie - 36977 Lemoineboeuf"
    # A postal code before its commune is a ZIP, whatever the model says.
    merged = merge_spans([rule(text, "36977", "ZIP", 0.95)], [model(text, "36977", "TEL")])
    assert summary(merged) == [("ZIP", "36977")]
    assert merged[0].origin == "rule:zip"


def test_same_extent_different_label_uses_the_label_table() -> None:
    text = "Patiente vue, 04/03/1966"
    # A weak rule says DATE, the model DATE_NAISSANCE: the table prefers the more specific.
    merged = merge_spans(
        [rule(text, "04/03/1966", "DATE", 0.8)], [model(text, "04/03/1966", "DATE_NAISSANCE")]
    )
    assert summary(merged) == [("DATE_NAISSANCE", "04/03/1966")]
    assert merged[0].origin == "model:bert-v1"

    text = "adressée par le Dr Lyon"
    merged = merge_spans([], [model(text, "Lyon", "VILLE", 0.6), model(text, "Lyon", "NOM", 0.9)])
    assert summary(merged) == [("VILLE", "Lyon")]


def test_validated_rule_beats_the_model_on_overlap() -> None:
    text = "M. Dupont 06 12 34 56 78"
    merged = merge_spans(
        [rule(text, "06 12 34 56 78", "TEL")], [model(text, "Dupont 06", "NOM", 0.99)]
    )
    # The model's NOM is trimmed to what lies outside the phone number, edges stripped.
    assert summary(merged) == [("NOM", "Dupont"), ("TEL", "06 12 34 56 78")]
    assert merged[0].start == text.index("Dupont")
    assert merged[0].score == 0.99 and merged[0].origin == "model:bert-v1"


def test_model_beats_weak_rule_evidence() -> None:
    text = "Adresse : 12 rue des Lilas 75012"
    weak_zip = rule(text, "75012", "ZIP", 0.7)
    address = model(text, "12 rue des Lilas 75012", "ADRESSE", 0.6)
    assert summary(merge_spans([weak_zip], [address])) == [("ADRESSE", "12 rue des Lilas 75012")]


def test_validated_zip_trims_the_model_address() -> None:
    text = "23, boulevard Royer - 21346 Chrétienboeuf"
    merged = merge_spans(
        [rule(text, "21346", "ZIP", 0.95)],
        [
            model(text, "23, boulevard Royer - 21346", "ADRESSE"),
            model(text, "Chrétienboeuf", "VILLE"),
        ],
    )
    assert summary(merged) == [
        ("ADRESSE", "23, boulevard Royer"),
        ("ZIP", "21346"),
        ("VILLE", "Chrétienboeuf"),
    ]


def test_trimming_can_leave_two_pieces() -> None:
    text = "domicile 12 rue des Lilas 75012 Paris"
    merged = merge_spans(
        [rule(text, "75012", "ZIP", 0.95)], [model(text, "12 rue des Lilas 75012 Paris", "ADRESSE")]
    )
    assert summary(merged) == [
        ("ADRESSE", "12 rue des Lilas"),
        ("ZIP", "75012"),
        ("ADRESSE", "Paris"),
    ]
    for span in merged:
        assert text[span.start : span.end] == span.text


def test_implausible_remainder_is_dropped() -> None:
    text = "vu par X 06 12 34 56 78"
    merged = merge_spans([rule(text, "06 12 34 56 78", "TEL")], [model(text, "X 06", "NOM")])
    assert summary(merged) == [("TEL", "06 12 34 56 78")]


def test_structured_labels_are_never_trimmed() -> None:
    text = "vu le 12/03/2024 à 8h"
    merged = merge_spans(
        [rule(text, "12/03/2024", "DATE", 0.95)], [model(text, "12/03/2024 à 8h", "DATE", 0.9)]
    )
    assert summary(merged) == [("DATE", "12/03/2024")]


def test_overlapping_model_spans_follow_the_label_table() -> None:
    text = "Mme Jeanne-Marie PETIT"
    merged = merge_spans(
        [], [model(text, "Jeanne-Marie", "PRENOM", 0.9), model(text, "Marie PETIT", "NOM", 0.8)]
    )
    assert summary(merged) == [("PRENOM", "Jeanne"), ("NOM", "Marie PETIT")]


def test_overlap_same_tier_and_label_higher_score_wins() -> None:
    text = "Hôpital Saint-Louis Paris"
    merged = merge_spans(
        [],
        [
            model(text, "Hôpital Saint-Louis", "HOPITAL", 0.9),
            model(text, "Saint-Louis Paris", "HOPITAL", 0.6),
        ],
    )
    assert summary(merged) == [("HOPITAL", "Hôpital Saint-Louis"), ("HOPITAL", "Paris")]


def test_whitespace_and_punctuation_model_spans_are_dropped() -> None:
    text = "Jean , DUPONT -  "
    merged = merge_spans(
        [],
        [
            model(text, " , ", "NOM"),
            model(text, " -  ", "PRENOM"),
            model(text, "DUPONT", "NOM"),
            Span(0, 0, "NOM", "", 0.9, "model:bert-v1"),
        ],
    )
    assert summary(merged) == [("NOM", "DUPONT")]


def test_mail_swallows_names_inside_it() -> None:
    text = "Courriel : jean.dupont@orange.fr"
    mail = rule(text, "jean.dupont@orange.fr", "MAIL")
    names = [model(text, "jean", "PRENOM", 0.99), model(text, "dupont", "NOM", 0.99)]
    assert summary(merge_spans([mail], names)) == [("MAIL", "jean.dupont@orange.fr")]
    # Also when the model found the address itself: the address wins over the names in it.
    model_mail = model(text, "jean.dupont@orange.fr", "MAIL", 0.5)
    assert summary(merge_spans([], [model_mail, *names])) == [("MAIL", "jean.dupont@orange.fr")]


def test_weak_rule_mail_still_swallows_names() -> None:
    text = "écrire à petit@chu.fr"
    mail = rule(text, "petit@chu.fr", "MAIL", 0.5)
    assert summary(merge_spans([mail], [model(text, "petit", "NOM", 0.99)])) == [
        ("MAIL", "petit@chu.fr")
    ]


SPAN_TEXT = "Mme Jeanne PETIT, née le 12/03/1950, tél 06 12 34 56 78, 12 rue des Lilas 75012 Paris."


@st.composite
def spans_on_text(draw: st.DrawFn, origin: str) -> list[Span]:
    out = []
    for _ in range(draw(st.integers(0, 8))):
        start = draw(st.integers(0, len(SPAN_TEXT) - 1))
        end = draw(st.integers(start, min(len(SPAN_TEXT), start + 30)))
        label = draw(st.sampled_from(LABELS))
        score = draw(st.floats(0.0, 1.0))
        out.append(Span(start, end, label, SPAN_TEXT[start:end], score, origin))
    return out


@settings(max_examples=200, deadline=None)
@given(spans_on_text("rule:x"), spans_on_text("model:bert-v1"))
def test_property_merged_spans_are_clean(rules: list[Span], models: list[Span]) -> None:
    merged = merge_spans(rules, models)
    assert all(a.end <= b.start for a, b in pairwise(merged))
    inputs = rules + models
    for span in merged:
        assert SPAN_TEXT[span.start : span.end] == span.text
        assert any(c.isalnum() for c in span.text)
        # every output lies inside an input span of the same label
        assert any(
            i.label == span.label and i.start <= span.start and span.end <= i.end for i in inputs
        )
    # merging is idempotent
    again = merge_spans([], merged)
    assert [(s.start, s.end, s.label) for s in again] == [(s.start, s.end, s.label) for s in merged]
