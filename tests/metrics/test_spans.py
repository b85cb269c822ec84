"""Span scorer: strict/partial matching, degenerate cases, leak rate and bootstrap intervals.

Gold and predictions are written inline on synthetic French clinical sentences:
``"revu par le Dr <NOM>Petit</NOM>"`` is the text ``"revu par le Dr Petit"`` with one span.
"""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.metrics.bootstrap import bootstrap_f1
from curation.metrics.leak import leak_rate
from curation.metrics.spans import LabelScores, match_partial, score_spans
from curation.schema import Record, Span

LABELS = ("NOM", "PRENOM", "DATE", "HOPITAL", "VILLE")
TAG = re.compile(r"<(?P<label>[A-Z_]+)>(?P<text>.*?)</(?P=label)>")


def parse(marked: str) -> tuple[str, list[Span]]:
    """Plain text and spans of an inline-annotated sentence (tags do not nest)."""
    text, spans, last = "", [], 0
    for match in TAG.finditer(marked):
        text += marked[last : match.start()]
        start = len(text)
        text += match["text"]
        spans.append(Span(start, len(text), match["label"], match["text"]))
        last = match.end()
    return text + marked[last:], spans


def rec(doc_id: str, marked: str, origin: str = "gold") -> Record:
    return Record(doc_id, "pseudonymisation", origin, spans=parse(marked)[1])


def span(text: str, fragment: str, label: str, occurrence: int = 0) -> Span:
    """Span of the ``occurrence``-th ``fragment`` in ``text`` (for overlapping spans)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(fragment, start + 1)
    return Span(start, start + len(fragment), label, fragment)


def spans_rec(doc_id: str, spans: list[Span], origin: str = "gold") -> Record:
    return Record(doc_id, "pseudonymisation", origin, spans=spans)


ADMISSION = (
    "Le patient <PRENOM>Jean</PRENOM> <NOM>Martin</NOM> a été admis le "
    "<DATE>12 mars 2021</DATE> à l'<HOPITAL>hôpital Édouard-Herriot</HOPITAL>."
)
CONSULTATION = "Revu en consultation par le Dr <NOM>Petit</NOM> le <DATE>3 avril</DATE>."


def test_parse_helper_keeps_offsets_consistent() -> None:
    text, spans = parse(CONSULTATION)
    assert text == "Revu en consultation par le Dr Petit le 3 avril."
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_perfect_prediction() -> None:
    gold = [rec("a", ADMISSION), rec("b", CONSULTATION)]
    pred = [rec("a", ADMISSION, "modele"), rec("b", CONSULTATION, "modele")]
    scores = score_spans(gold, pred, LABELS)
    for mode in (scores.strict, scores.partial):
        assert (mode.micro.precision, mode.micro.recall, mode.micro.f1) == (1.0, 1.0, 1.0)
        assert (mode.micro.tp, mode.micro.fp, mode.micro.fn) == (6, 0, 0)
        assert mode.macro_f1 == 1.0
        assert mode.per_label["VILLE"].f1 is None  # no gold, no prediction: undefined
    assert leak_rate(gold, pred).leak_rate == 0.0


def test_empty_prediction() -> None:
    gold = [rec("a", ADMISSION)]
    pred = [Record("a", "pseudonymisation", "modele")]
    scores = score_spans(gold, pred, LABELS)
    micro = scores.strict.micro
    assert (micro.tp, micro.fp, micro.fn) == (0, 0, 4)
    # Zero predictions while gold has spans: precision 0.0 (seqeval, zero_division=0).
    assert (micro.precision, micro.recall, micro.f1) == (0.0, 0.0, 0.0)
    assert scores.strict.macro_f1 == 0.0
    assert scores.partial.per_label["NOM"].precision == 0.0
    assert scores.missing_doc_ids == 0
    assert leak_rate(gold, pred).leak_rate == 1.0


def test_disjoint_spans_score_zero_not_perfect_agreement() -> None:
    """Two annotators who marked entirely different spans do not agree at all.

    A widely used agreement tool reports perfect agreement for this pair; F1 must be 0.0,
    neither 1.0 nor undefined.
    """
    text = "Mme Durand, suivie au CHU de Nantes, adressée par le Dr Roux."
    first = spans_rec("a", [span(text, "Durand", "NOM")], "annotateur:1")
    second = spans_rec("a", [span(text, "Roux", "NOM")], "annotateur:2")
    scores = score_spans([first], [second], ["NOM"])
    for mode in (scores.strict, scores.partial):
        assert mode.micro.f1 == 0.0
        assert mode.per_label["NOM"].f1 == 0.0
        assert (mode.micro.tp, mode.micro.fp, mode.micro.fn) == (0, 1, 1)
        assert mode.macro_f1 == 0.0


def test_identical_spans_with_different_labels() -> None:
    text = "Patiente née le 02/05/1948, vue le 14/09/2023."
    gold = [spans_rec("a", [span(text, "02/05/1948", "DATE_NAISSANCE")])]
    pred = [spans_rec("a", [span(text, "02/05/1948", "DATE")], "regles")]
    scores = score_spans(gold, pred, ["DATE", "DATE_NAISSANCE"])
    for mode in (scores.strict, scores.partial):
        assert mode.per_label["DATE"].fp == 1
        assert mode.per_label["DATE_NAISSANCE"].fn == 1
        assert mode.micro.f1 == 0.0
        # DATE has no gold span: it is left out of the macro average.
        assert mode.macro_f1 == 0.0
        assert mode.per_label["DATE"].recall == 0.0
    # The birth date is masked all the same: nothing leaks.
    assert leak_rate(gold, pred).leak_rate == 0.0


def test_one_big_span_over_two_gold_spans_is_one_partial_match() -> None:
    text = "Compte rendu du Dr Jean Martin, service de cardiologie."
    gold = [spans_rec("a", [span(text, "Jean", "NOM"), span(text, "Martin", "NOM")])]
    pred = [spans_rec("a", [span(text, "Jean Martin", "NOM")], "modele")]
    scores = score_spans(gold, pred, ["NOM"])
    partial = scores.partial.micro
    assert (partial.tp, partial.fp, partial.fn) == (1, 0, 1)
    assert partial.precision == 1.0
    assert partial.recall == 0.5
    assert scores.strict.micro.tp == 0
    assert leak_rate(gold, pred).leak_rate == 0.0


def test_two_predicted_spans_inside_one_gold_span_is_one_partial_match() -> None:
    text = "Hospitalisé au centre hospitalier de Saint-Nazaire en mai."
    gold = [spans_rec("a", [span(text, "centre hospitalier de Saint-Nazaire", "HOPITAL")])]
    pred = [
        spans_rec(
            "a",
            [span(text, "centre hospitalier", "HOPITAL"), span(text, "Saint-Nazaire", "HOPITAL")],
            "modele",
        )
    ]
    partial = score_spans(gold, pred, ["HOPITAL"]).partial.micro
    assert (partial.tp, partial.fp, partial.fn) == (1, 1, 0)


def test_partial_matching_is_maximum_not_greedy() -> None:
    # Gold A=[0, 10), B=[10, 12); predictions P0=[0, 11) overlaps both, P1=[5, 10) only A.
    # Greedy by overlap pairs P0-A and leaves B and P1 unmatched; the maximum matching
    # pairs A-P1 and B-P0.
    assert sorted(match_partial([(0, 10), (10, 12)], [(0, 11), (5, 10)])) == [(0, 1), (1, 0)]
    # Same number of pairs either way: the greater overlap wins.
    assert match_partial([(0, 4), (5, 11)], [(0, 11)]) == [(1, 0)]
    assert match_partial([(0, 4)], [(4, 8)]) == []  # touching is not overlapping


def test_duplicate_predicted_span_is_a_false_positive() -> None:
    text = "Suivi par le Dr Lefèvre."
    gold = [spans_rec("a", [span(text, "Lefèvre", "NOM")])]
    pred = [spans_rec("a", [span(text, "Lefèvre", "NOM")] * 2, "modele")]
    scores = score_spans(gold, pred, ["NOM"])
    for mode in (scores.strict, scores.partial):
        assert (mode.micro.tp, mode.micro.fp, mode.micro.fn) == (1, 1, 0)


def test_doc_missing_from_predictions_predicts_nothing() -> None:
    gold = [rec("a", ADMISSION), rec("b", CONSULTATION)]
    pred = [rec("a", ADMISSION, "modele")]
    scores = score_spans(gold, pred, LABELS)
    assert scores.missing_doc_ids == 1
    assert scores.n_documents == 2
    assert (scores.strict.micro.tp, scores.strict.micro.fn) == (4, 2)
    report = leak_rate(gold, pred)
    assert report.missing_doc_ids == 1
    assert report.documents_with_leak == 1
    assert report.spans_leaked_entirely == 2


def test_predicted_doc_not_in_gold_is_counted_and_ignored() -> None:
    gold = [rec("a", ADMISSION)]
    pred = [rec("a", ADMISSION, "modele"), rec("z", CONSULTATION, "modele")]
    scores = score_spans(gold, pred, LABELS)
    assert scores.unknown_doc_ids == 1
    assert scores.strict.micro.f1 == 1.0
    assert scores.to_dict()["documents"] == {"gold": 1, "missing_doc_ids": 0, "unknown_doc_ids": 1}
    assert leak_rate(gold, pred).unknown_doc_ids == 1


def test_no_spans_anywhere_gives_nulls() -> None:
    sentence = "Patient de 67 ans, maladie de Crohn, signe de Babinski négatif."
    gold = [rec("a", sentence)]
    pred = [rec("a", sentence, "modele")]
    scores = score_spans(gold, pred, LABELS)
    for mode in (scores.strict, scores.partial):
        assert (mode.micro.precision, mode.micro.recall, mode.micro.f1) == (None, None, None)
        assert mode.macro_f1 is None
        assert all(s.f1 is None for s in mode.per_label.values())
    data = json.loads(json.dumps(scores.to_dict()))
    assert data["strict"]["micro"]["f1"] is None
    assert data["partial"]["per_label"]["NOM"]["precision"] is None
    report = leak_rate(gold, pred)
    assert report.leak_rate is None
    assert report.to_dict()["leak_rate"] is None
    interval = bootstrap_f1(gold, pred, LABELS, n_resamples=50).micro
    assert (interval.f1, interval.low, interval.high, interval.n_valid) == (None, None, None, 0)
    # Nothing at all: no documents.
    empty = score_spans([], [], LABELS)
    assert empty.strict.micro.f1 is None
    assert bootstrap_f1([], [], LABELS, n_resamples=10).micro.low is None
    assert leak_rate([], []).leak_rate is None


def test_unexpected_predicted_label_is_a_false_positive_under_its_name() -> None:
    text = "Adressé par le Dr Moreau, demeurant à Rennes."
    gold = [spans_rec("a", [span(text, "Moreau", "NOM")])]
    pred = [spans_rec("a", [span(text, "Moreau", "NOM"), span(text, "Rennes", "LIEU")], "m")]
    scores = score_spans(gold, pred, ["NOM"])
    assert scores.unexpected_labels == ("LIEU",)
    assert scores.strict.per_label["LIEU"] == LabelScores(tp=0, fp=1, fn=0)
    assert scores.strict.micro.precision == 0.5
    assert scores.strict.macro_f1 == 1.0  # LIEU has no gold span
    assert scores.to_dict()["unexpected_labels"] == {"LIEU": {"gold": 0, "predicted": 1}}


def test_invalid_input_names_the_record_not_the_text() -> None:
    with pytest.raises(ValueError, match="doc_id 'a' appears twice"):
        score_spans([rec("a", ADMISSION), rec("a", CONSULTATION)], [], LABELS)
    bad = Record("b", "pseudonymisation", "m", spans=[Span(12, 12, "NOM", "")])
    with pytest.raises(ValueError, match=r"predicted record 1, doc_id 'b'.*\[12, 12\)") as info:
        score_spans([rec("b", CONSULTATION)], [bad], LABELS)
    assert "Petit" not in str(info.value)


def test_hand_computed_example() -> None:
    gold = [rec("a", ADMISSION), rec("b", CONSULTATION)]
    pred = [
        rec(
            "a",
            "Le patient <PRENOM>Jean</PRENOM> <NOM>Martin</NOM> a été admis le "
            "<DATE>12 mars</DATE> 2021 à l'hôpital <NOM>Édouard-Herriot</NOM>.",
            "modele",
        ),
        rec("b", "Revu en consultation par le Dr <NOM>Petit</NOM> le 3 <DATE>avril</DATE>.", "m"),
    ]
    scores = score_spans(gold, pred, LABELS)
    strict, partial = scores.strict, scores.partial
    assert strict.per_label["PRENOM"] == LabelScores(1, 0, 0)
    assert strict.per_label["NOM"] == LabelScores(2, 1, 0)
    assert strict.per_label["NOM"].f1 == pytest.approx(0.8)
    assert strict.per_label["DATE"] == LabelScores(0, 2, 2)
    assert strict.per_label["HOPITAL"] == LabelScores(0, 0, 1)
    assert strict.per_label["HOPITAL"].precision == 0.0
    assert strict.micro == LabelScores(3, 3, 3)
    assert strict.micro.f1 == pytest.approx(0.5)
    assert strict.macro_f1 == pytest.approx((1 + 0.8 + 0 + 0) / 4)
    assert partial.per_label["DATE"] == LabelScores(2, 0, 0)
    assert partial.micro == LabelScores(5, 1, 1)
    assert partial.micro.f1 == pytest.approx(5 / 6)
    assert partial.macro_f1 == pytest.approx((1 + 0.8 + 1 + 0) / 4)

    data = scores.to_dict()
    assert data["strict"]["micro"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "tp": 3,
        "fp": 3,
        "fn": 3,
    }
    assert data["partial"]["micro"]["f1"] == 0.8333
    assert data["strict"]["macro_f1"] == 0.45
    assert data["strict"]["per_label"]["NOM"]["precision"] == 0.6667
    assert list(data["strict"]["per_label"]) == list(LABELS)
    assert data["strict"]["per_label"]["VILLE"]["f1"] is None

    # Leak: 57 gold characters, 15 visible (" 2021", "hôpital ", "3 ").
    report = leak_rate(gold, pred)
    assert (report.overall.phi_chars, report.overall.leaked_chars) == (57, 15)
    assert report.leak_rate == pytest.approx(15 / 57)
    assert report.per_label["DATE"].rate == pytest.approx(7 / 19)
    assert report.per_label["HOPITAL"].rate == pytest.approx(8 / 23)
    assert report.per_label["NOM"].rate == 0.0
    assert (report.spans_leaked_entirely, report.spans_leaked_partially) == (0, 3)
    assert report.documents_with_leak == 2
    assert report.to_dict()["leak_rate"] == 0.2632


def test_leak_fully_covered_by_a_wider_span() -> None:
    text = "Contact : Mme Durand au 06 12 34 56 78."
    gold = [spans_rec("a", [span(text, "Durand", "NOM"), span(text, "06 12 34 56 78", "TEL")])]
    pred = [spans_rec("a", [span(text, "Mme Durand", "NOM"), span(text, "06 12 34 56 78", "TEL")])]
    report = leak_rate(gold, pred)
    assert report.leak_rate == 0.0
    assert report.documents_with_leak == 0
    assert (report.spans_leaked_entirely, report.spans_leaked_partially) == (0, 0)


def test_leak_half_covered() -> None:
    text = "Patient domicilié 12 rue des Lilas, 44000 Nantes."
    gold = [spans_rec("a", [span(text, "12 rue des Lilas", "ADRESSE")])]
    pred = [spans_rec("a", [span(text, "12 rue d", "ADRESSE")], "regles")]
    report = leak_rate(gold, pred)
    assert report.leak_rate == 0.5
    assert report.per_label["ADRESSE"].leaked_chars == 8
    assert (report.spans_leaked_entirely, report.spans_leaked_partially) == (0, 1)
    assert report.documents_with_leak == 1


def test_leak_overlapping_gold_spans_are_not_counted_twice() -> None:
    text = "Hospitalisé au CHU de Lyon depuis le 3 mai."
    gold = [spans_rec("a", [span(text, "CHU de Lyon", "HOPITAL"), span(text, "Lyon", "VILLE")])]
    pred = [spans_rec("a", [span(text, "CHU", "HOPITAL")], "regles")]
    report = leak_rate(gold, pred)
    # Union is "CHU de Lyon" (11 characters); "CHU" (3) is masked.
    assert (report.overall.phi_chars, report.overall.leaked_chars) == (11, 8)
    assert report.per_label["HOPITAL"] == report.overall
    assert (report.per_label["VILLE"].phi_chars, report.per_label["VILLE"].leaked_chars) == (4, 4)
    assert (report.spans_leaked_entirely, report.spans_leaked_partially) == (1, 1)
    data = report.to_dict()
    assert data["per_label"]["VILLE"]["leak_rate"] == 1.0
    assert data["spans"] == {"gold": 2, "leaked_entirely": 1, "leaked_partially": 1}


def synthetic_corpus(n_docs: int) -> tuple[list[Record], list[Record]]:
    """Gold and an imperfect prediction over ``n_docs`` synthetic consultation notes."""
    gold, pred = [], []
    names = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit"]
    for i in range(n_docs):
        name = names[i % len(names)]
        marked = (
            f"Vu ce jour <PRENOM>Paul</PRENOM> <NOM>{name}</NOM>, "
            f"né le <DATE>{i % 28 + 1} mai</DATE>, adressé par le CHU de <VILLE>Tours</VILLE>."
        )
        gold.append(rec(f"doc-{i:05d}", marked))
        predicted = marked
        if i % 3 == 0:
            predicted = predicted.replace("<VILLE>Tours</VILLE>", "Tours")
        if i % 5 == 0:
            predicted = predicted.replace(f"<NOM>{name}</NOM>", f"<PRENOM>{name}</PRENOM>")
        if i % 7 == 0:
            predicted = predicted.replace("Vu ce jour", "<NOM>Vu</NOM> ce jour")
        pred.append(rec(f"doc-{i:05d}", predicted, "modele"))
    return gold, pred


def test_bootstrap_contains_point_estimate_and_is_deterministic() -> None:
    gold, pred = synthetic_corpus(300)
    first = bootstrap_f1(gold, pred, LABELS, n_resamples=300, seed=7)
    again = bootstrap_f1(gold, pred, LABELS, n_resamples=300, seed=7)
    other = bootstrap_f1(gold, pred, LABELS, n_resamples=300, seed=8)
    assert first == again
    assert first != other
    scores = score_spans(gold, pred, LABELS)
    assert first.micro.f1 == scores.strict.micro.f1
    for interval in (first.micro, *first.per_label.values()):
        if interval.f1 is None:
            continue
        assert interval.low is not None and interval.high is not None
        assert interval.low <= interval.f1 <= interval.high
    assert first.micro.f1 is not None
    assert first.micro.low is not None and first.micro.high is not None
    assert first.micro.low < first.micro.high
    assert first.per_label["HOPITAL"].f1 is None  # never gold nor predicted
    assert first.per_label["DATE"].low == first.per_label["DATE"].high == 1.0
    assert first.micro.n_valid == 300
    assert json.loads(json.dumps(first.to_dict()))["micro"]["f1"] == round(first.micro.f1, 4)


def test_bootstrap_on_two_thousand_documents() -> None:
    gold, pred = synthetic_corpus(2000)
    result = bootstrap_f1(gold, pred, LABELS, n_resamples=1000)
    assert result.n_documents == 2000
    assert result.micro.low <= result.micro.f1 <= result.micro.high


def test_bootstrap_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_f1([], [], LABELS, n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_f1([], [], LABELS, confidence=1.0)


intervals = st.lists(
    st.tuples(st.integers(0, 30), st.integers(1, 8)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=5,
)


def brute_force_pairs(gold: list[tuple[int, int]], predicted: list[tuple[int, int]]) -> int:
    """Size of the maximum one-to-one matching of overlapping intervals, by enumeration."""
    for size in range(min(len(gold), len(predicted)), 0, -1):
        for rows in itertools.combinations(range(len(gold)), size):
            for cols in itertools.permutations(range(len(predicted)), size):
                if all(
                    min(gold[r][1], predicted[c][1]) > max(gold[r][0], predicted[c][0])
                    for r, c in zip(rows, cols, strict=True)
                ):
                    return size
    return 0


@settings(max_examples=200, deadline=None)
@given(gold=intervals, predicted=intervals)
def test_partial_matching_properties(
    gold: list[tuple[int, int]], predicted: list[tuple[int, int]]
) -> None:
    pairs = match_partial(gold, predicted)
    assert len({g for g, _ in pairs}) == len(pairs) == len({p for _, p in pairs})
    assert len(pairs) == brute_force_pairs(gold, predicted)
    records_gold = [spans_rec("a", [Span(s, e, "NOM", "x" * (e - s)) for s, e in gold])]
    records_pred = [spans_rec("a", [Span(s, e, "NOM", "x" * (e - s)) for s, e in predicted])]
    scores = score_spans(records_gold, records_pred, ["NOM"])
    for mode in (scores.strict, scores.partial):
        assert mode.micro.support == len(gold)
        assert mode.micro.predicted == len(predicted)
    assert scores.partial.micro.tp >= scores.strict.micro.tp
