"""Inter-annotator agreement: pairwise span F1, degenerate cases, kappas, alpha, consensus flags.

Every expected value is computed by hand in the comments, on short French clinical sentences.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from curation.metrics.spans import score_spans
from curation.quality.agreement import (
    ALL_LABELS,
    annotator_agreement,
    categorical_agreement,
    choice_ratings,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    multilabel_agreement,
    span_agreement,
)
from curation.quality.annotations import Annotated
from curation.schema import Record, Span

LABELS = ("NOM", "DATE", "HOPITAL", "VILLE", "AGE")
ADMISSION = "Mme Durand, née le 12/03/1954, hospitalisée au CHU de Lyon."
CONSULTATION = "Revu par le Dr Petit le 3 avril."


def span(text: str, fragment: str, label: str) -> Span:
    start = text.index(fragment)
    return Span(start, start + len(fragment), label, fragment)


def annotated(doc_id: str, who: str, spans: list[Span], cancelled: bool = False) -> Annotated:
    record = Record(doc_id, "pseudonymisation", f"annotator:{who}", spans=spans)
    return Annotated(record, who, cancelled=cancelled)


def coded(doc_id: str, who: str, labels: list[str]) -> Annotated:
    record = Record(doc_id, "icd10_coding", f"annotator:{who}", labels=labels)
    return Annotated(record, who)


def no_nan(result: dict[str, Any]) -> Any:
    """The dict survives strict JSON (no NaN, no infinity) and comes back equal."""
    out = json.loads(json.dumps(result, allow_nan=False))
    assert out == result
    return out


# --------------------------------------------------------------------------- span agreement


def two_documents() -> dict[str, list[Annotated]]:
    """a and b on two documents: |A| = 4 spans, |B| = 5 spans."""
    a1 = [
        span(ADMISSION, "Durand", "NOM"),
        span(ADMISSION, "12/03/1954", "DATE"),
        span(ADMISSION, "CHU de Lyon", "HOPITAL"),
    ]
    b1 = [
        span(ADMISSION, "Durand", "NOM"),  # exact match
        span(ADMISSION, "12/03", "DATE"),  # overlaps the full date
        span(ADMISSION, "Lyon", "VILLE"),  # overlaps the hospital, other label: no match
    ]
    a2 = [span(CONSULTATION, "Petit", "NOM")]
    b2 = [span(CONSULTATION, "Dr Petit", "NOM"), span(CONSULTATION, "3 avril", "DATE")]
    return {
        "d1": [annotated("d1", "a", a1), annotated("d1", "b", b1)],
        "d2": [annotated("d2", "a", a2), annotated("d2", "b", b2)],
    }


def test_pairwise_f1_exact_and_overlap() -> None:
    result = span_agreement(two_documents(), LABELS, n_resamples=200)
    (pair,) = result.pairs
    assert (pair.a, pair.b, pair.n_documents) == ("a", "b", 2)
    # Exact: only "Durand" matches -> 2 * 1 / (4 + 5) = 2/9.
    assert (pair.exact.micro.matches, pair.exact.micro.spans_a, pair.exact.micro.spans_b) == (
        1,
        4,
        5,
    )
    assert pair.exact.micro.f1 == pytest.approx(2 / 9)
    # Overlap: "Durand", the date, "Petit" ~ "Dr Petit" -> 2 * 3 / 9 = 2/3.
    assert pair.overlap.micro.matches == 3
    assert pair.overlap.micro.f1 == pytest.approx(2 / 3)
    # NOM: 2 spans each side; exact 1 match -> 2/4; overlap 2 matches -> 1.0.
    assert pair.exact.per_label["NOM"].f1 == 0.5
    assert pair.overlap.per_label["NOM"].f1 == 1.0
    # DATE: a 1, b 2 ("12/03", "3 avril"); exact 0 -> 0.0; overlap 1 -> 2/3.
    assert pair.exact.per_label["DATE"].f1 == 0.0
    assert pair.overlap.per_label["DATE"].f1 == pytest.approx(2 / 3)
    # HOPITAL only in a, VILLE only in b: 0.0 in both modes.
    for label in ("HOPITAL", "VILLE"):
        assert pair.exact.per_label[label].f1 == pair.overlap.per_label[label].f1 == 0.0
    assert pair.label_confusion == 0
    # Two annotators: the pooled figure is the pair's.
    assert result.pooled_exact == pair.exact
    assert result.pooled_overlap == pair.overlap


def test_pairwise_f1_is_symmetric_and_matches_the_scorer() -> None:
    groups = two_documents()
    result = span_agreement(groups, LABELS, n_resamples=10)
    swapped = {d: [g[1], g[0]] for d, g in groups.items()}
    assert span_agreement(swapped, LABELS, n_resamples=10).pairs[0].exact == result.pairs[0].exact
    for first, second in ((0, 1), (1, 0)):
        scores = score_spans(
            [g[first].record for g in groups.values()],
            [g[second].record for g in groups.values()],
            LABELS,
        )
        assert scores.strict.micro.f1 == pytest.approx(result.pooled_exact.micro.f1)
        assert scores.partial.micro.f1 == pytest.approx(result.pooled_overlap.micro.f1)


def test_pooled_sums_the_counts_of_every_pair() -> None:
    name = span(ADMISSION, "Durand", "NOM")
    groups = {
        "d1": [
            annotated("d1", "a", [name]),
            annotated("d1", "b", [name]),
            annotated("d1", "c", []),
        ],
        "d2": [annotated("d2", "a", [name])],  # one annotator: no pair, not counted
    }
    result = span_agreement(groups, LABELS, n_resamples=10)
    # a~b: 1 match, 1 + 1 spans -> 1.0; a~c and b~c: 0 match, 1 + 0 spans -> 0.0.
    assert [(p.a, p.b, p.exact.micro.f1) for p in result.pairs] == [
        ("a", "b", 1.0),
        ("a", "c", 0.0),
        ("b", "c", 0.0),
    ]
    # Pooled: 1 match over 2 + 1 + 1 = 4 spans -> 2 * 1 / 4 = 0.5.
    pooled = result.pooled_exact.micro
    assert (pooled.matches, pooled.spans_a + pooled.spans_b, pooled.f1) == (1, 4, 0.5)
    assert result.n_documents == 1


def test_no_span_on_either_side_is_undefined_not_perfect() -> None:
    groups = {"d1": [annotated("d1", "a", []), annotated("d1", "b", [])]}
    result = span_agreement(groups, LABELS, n_resamples=20)
    pair = result.pairs[0]
    assert pair.exact.micro.f1 is None
    assert pair.overlap.micro.f1 is None
    assert result.pooled_exact.micro.f1 is None
    out = no_nan(result.to_dict())
    assert out["pooled"]["exact"]["micro"] == {
        "f1": None,
        "matches": 0,
        "spans_a": 0,
        "spans_b": 0,
        "low": None,
        "high": None,
    }
    assert out["pairs"]["a vs b"]["exact"]["micro"]["f1"] is None


def test_disjoint_spans_give_zero() -> None:
    groups = {
        "d1": [
            annotated("d1", "a", [span(ADMISSION, "Durand", "NOM")]),
            annotated("d1", "b", [span(ADMISSION, "Lyon", "NOM")]),
        ]
    }
    pair = span_agreement(groups, LABELS, n_resamples=10).pairs[0]
    # 0 match over 1 + 1 spans -> 0.0, in both modes (no shared character).
    assert pair.exact.micro.f1 == 0.0
    assert pair.overlap.micro.f1 == 0.0


def test_one_annotator_empty_gives_zero() -> None:
    spans = [span(ADMISSION, "Durand", "NOM"), span(ADMISSION, "12/03/1954", "DATE")]
    groups = {"d1": [annotated("d1", "a", spans), annotated("d1", "b", [])]}
    pair = span_agreement(groups, LABELS, n_resamples=10).pairs[0]
    # 2 * 0 / (2 + 0) = 0.0, not undefined: one side did mark something.
    assert (pair.exact.micro.f1, pair.overlap.micro.f1) == (0.0, 0.0)
    assert (pair.exact.micro.spans_a, pair.exact.micro.spans_b) == (2, 0)


def test_same_offsets_different_labels_disagree_and_count_as_confusion() -> None:
    groups = {
        "d1": [
            annotated("d1", "a", [span(ADMISSION, "Durand", "NOM")]),
            annotated("d1", "b", [span(ADMISSION, "Durand", "VILLE")]),
        ]
    }
    result = span_agreement(groups, LABELS, n_resamples=10)
    pair = result.pairs[0]
    assert (pair.exact.micro.f1, pair.overlap.micro.f1) == (0.0, 0.0)
    assert pair.confusions == {("NOM", "VILLE"): 1}
    out = no_nan(result.to_dict())
    assert out["pooled"]["label_confusion"] == 1
    assert out["pairs"]["a vs b"]["label_confusion"] == {
        "count": 1,
        "pairs": [{"a": "NOM", "b": "VILLE", "count": 1}],
    }


def test_label_absent_from_both_is_undefined() -> None:
    result = span_agreement(two_documents(), LABELS, n_resamples=20)
    assert result.pairs[0].exact.per_label["AGE"].f1 is None
    assert result.pooled_overlap.per_label["AGE"].f1 is None
    assert result.exact_intervals.per_label["AGE"].low is None
    out = no_nan(result.to_dict())
    assert out["pooled"]["exact"]["per_label"]["AGE"]["f1"] is None


def test_duplicate_annotator_on_a_document_is_an_error() -> None:
    name = [span(ADMISSION, "Durand", "NOM")]
    groups = {"d1": [annotated("d1", "a", name), annotated("d1", "a", name)]}
    with pytest.raises(ValueError, match=r"'d1'.*'a' appears twice"):
        span_agreement(groups, LABELS)


def bigger_corpus() -> dict[str, list[Annotated]]:
    """20 documents; b finds the name everywhere, the date on every other document only."""
    name, date = span(ADMISSION, "Durand", "NOM"), span(ADMISSION, "12/03/1954", "DATE")
    groups = {}
    for i in range(20):
        doc_id = f"d{i:02d}"
        b_spans = [name, date] if i % 2 else [name]
        groups[doc_id] = [annotated(doc_id, "a", [name, date]), annotated(doc_id, "b", b_spans)]
    return groups


def test_bootstrap_interval_contains_the_estimate_and_is_reproducible() -> None:
    groups = bigger_corpus()
    first = span_agreement(groups, LABELS, n_resamples=300, seed=7)
    again = span_agreement(groups, LABELS, n_resamples=300, seed=7)
    other = span_agreement(groups, LABELS, n_resamples=300, seed=8)
    # 20 + 10 matches over 40 + 30 spans -> 60 / 70.
    point = first.pooled_exact.micro.f1
    assert point is not None and point == pytest.approx(60 / 70)
    interval = first.exact_intervals.micro
    assert interval.low is not None and interval.high is not None
    assert interval.low <= point <= interval.high
    assert interval.low < interval.high
    assert interval.n_valid == 300
    # NOM agrees everywhere: every resample gives 1.0.
    assert (
        first.exact_intervals.per_label["NOM"].low,
        first.exact_intervals.per_label["NOM"].high,
    ) == (
        1.0,
        1.0,
    )
    pair_interval = first.pairs[0].exact_interval
    assert pair_interval.low is not None and pair_interval.high is not None
    assert pair_interval.low <= point <= pair_interval.high
    assert first.to_dict() == again.to_dict()
    assert first.to_dict() != other.to_dict()
    no_nan(first.to_dict())


def test_bootstrap_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="n_resamples"):
        span_agreement(two_documents(), LABELS, n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        categorical_agreement({}, confidence=1.0)


# --------------------------------------------------------------------------- kappas and alpha


def test_cohen_kappa_by_hand() -> None:
    a = ["oui", "oui", "oui", "non", "non", "oui", "non", "oui"]
    b = ["oui", "oui", "non", "non", "oui", "oui", "non", "oui"]
    # Observed: 6 of 8 agree -> 0.75. Each rater: 5 oui, 3 non.
    # Expected: (5 * 5 + 3 * 3) / 64 = 34/64. kappa = (0.75 - 34/64) / (1 - 34/64) = 14/30 = 7/15.
    assert cohen_kappa(a, b) == pytest.approx(7 / 15)


def test_cohen_kappa_edge_cases() -> None:
    # One and the same class everywhere: expected agreement 1, kappa 0/0 -> None.
    assert cohen_kappa(["stable"] * 4, ["stable"] * 4) is None
    assert cohen_kappa([], []) is None
    # Full agreement with two classes -> 1.0.
    assert cohen_kappa(["oui", "non", "oui"], ["oui", "non", "oui"]) == 1.0
    # Systematic disagreement: observed 0, expected 0.5 -> (0 - 0.5) / 0.5 = -1.
    assert cohen_kappa(["oui", "non", "oui", "non"], ["non", "oui", "non", "oui"]) == -1.0
    with pytest.raises(ValueError, match="same units"):
        cohen_kappa(["oui"], ["oui", "non"])


RESPONSE = {
    "d1": {"a": "progression", "b": "progression", "c": "progression"},
    "d2": {"a": "stable", "b": "stable", "c": "stable"},
    "d3": {"a": "progression", "b": "progression", "c": "stable"},
}


def test_fleiss_kappa_by_hand() -> None:
    # P_i: d1 = 3*2/6 = 1, d2 = 1, d3 = (2*1 + 1*0)/6 = 1/3 -> P̄ = 7/9.
    # p_progression = 5/9, p_stable = 4/9 -> P_e = 25/81 + 16/81 = 41/81.
    # kappa = (63/81 - 41/81) / (40/81) = 22/40 = 0.55.
    assert fleiss_kappa(RESPONSE) == pytest.approx(0.55)
    # A unit rated once is ignored.
    assert fleiss_kappa({**RESPONSE, "d4": {"a": "stable", "b": None}}) == pytest.approx(0.55)


def test_fleiss_kappa_with_a_varying_number_of_raters() -> None:
    ratings = {
        "u1": {"a": "A", "b": "A"},  # n = 2, P = 2*1/2 = 1
        "u2": {"a": "A", "b": "B", "c": "B"},  # n = 3, P = (0 + 2*1)/6 = 1/3
        "u3": {"a": "B", "b": "B", "c": "B", "d": "B"},  # n = 4, P = 4*3/12 = 1
    }
    # P̄ = 7/9; 9 ratings: 3 A, 6 B -> P_e = 1/9 + 4/9 = 5/9; kappa = (2/9) / (4/9) = 0.5.
    assert fleiss_kappa(ratings) == pytest.approx(0.5)


def test_fleiss_kappa_undefined() -> None:
    assert fleiss_kappa({"d1": {"a": "stable", "b": "stable"}}) is None  # P_e = 1
    assert fleiss_kappa({"d1": {"a": "stable"}}) is None  # no unit rated twice


def test_krippendorff_alpha_nominal_with_a_missing_value() -> None:
    ratings: dict[str, dict[str, str | None]] = {
        "u1": {"a": "A", "b": "A", "c": "A"},
        "u2": {"a": "A", "b": "B", "c": None},  # c did not rate u2
        "u3": {"a": "B", "b": "B", "c": "B"},
        "u4": {"a": "A", "b": "B", "c": "B"},
    }
    # Coincidences: o_AA = u1 3*2/2 = 3; o_AB = u2 1*1/1 + u4 1*2/2 = 2; o_BB = 3 + 2*1/2 = 4.
    # n_A = 5, n_B = 6, n = 11. D_o = (2 + 2) / 11; D_e = 2 * 5 * 6 / (11 * 10) = 60/110.
    # alpha = 1 - (4/11) / (60/110) = 1 - 2/3 = 1/3.
    assert krippendorff_alpha(ratings) == pytest.approx(1 / 3)
    # A missing annotator is the same as None.
    del ratings["u2"]["c"]
    assert krippendorff_alpha(ratings) == pytest.approx(1 / 3)


def test_krippendorff_alpha_undefined_and_levels() -> None:
    assert krippendorff_alpha({"u1": {"a": "A", "b": "A"}, "u2": {"a": "A", "b": "A"}}) is None
    assert krippendorff_alpha({}) is None
    with pytest.raises(ValueError, match="nominal"):
        krippendorff_alpha(RESPONSE, level="ordinal")


def test_categorical_agreement_summary() -> None:
    result = categorical_agreement(RESPONSE, n_resamples=200, seed=3)
    assert (result.n_units, result.n_ratings) == (3, 9)
    assert result.observed_agreement == pytest.approx(7 / 9)  # P̄ above
    assert result.unanimous == pytest.approx(2 / 3)  # d1 and d2
    assert result.fleiss_kappa.value == pytest.approx(0.55)
    assert result.krippendorff_alpha.value == krippendorff_alpha(RESPONSE)
    kappas = {(p.a, p.b): (p.n_units, p.kappa) for p in result.pairs}
    # a and b agree everywhere -> 1.0. a ~ c: observed 2/3; a has 2 progression, 1 stable,
    # c 1 progression, 2 stable: expected (2*1 + 1*2)/9 = 4/9; kappa = (2/9) / (5/9) = 0.4.
    assert kappas[("a", "b")] == (3, 1.0)
    assert kappas[("a", "c")] == (3, pytest.approx(0.4))
    for estimate in (result.fleiss_kappa, result.krippendorff_alpha):
        assert estimate.value is not None and estimate.low is not None
        assert estimate.high is not None and estimate.low <= estimate.value <= estimate.high
    out = no_nan(result.to_dict())
    assert set(out["fleiss_kappa"]) == {"value", "low", "high"}
    assert out["fleiss_kappa"]["value"] == 0.55
    assert out["pairs"]["a vs c"] == {
        "a": "a",
        "b": "c",
        "units": 3,
        "cohen_kappa": 0.4,
        "agreement": 0.6667,
    }
    assert result.to_dict() == categorical_agreement(RESPONSE, n_resamples=200, seed=3).to_dict()


def test_categorical_agreement_without_units() -> None:
    result = categorical_agreement({"d1": {"a": "stable"}}, n_resamples=10)
    assert result.n_units == 0
    assert result.fleiss_kappa.value is None and result.krippendorff_alpha.value is None
    assert result.observed_agreement is None
    no_nan(result.to_dict())


def test_choice_ratings_take_the_first_label() -> None:
    groups = {
        "d1": [
            coded("d1", "a", ["reponse_partielle", "stable"]),
            coded("d1", "b", ["reponse_partielle"]),
        ],
        "d2": [coded("d2", "a", ["progression"]), coded("d2", "b", [])],
    }
    ratings = choice_ratings(groups)
    assert ratings == {
        "d1": {"a": "reponse_partielle", "b": "reponse_partielle"},
        "d2": {"a": "progression", "b": None},
    }
    assert categorical_agreement(ratings, n_resamples=10).n_units == 1  # d2 rated once


def test_multilabel_agreement_per_label_and_pooled() -> None:
    groups = {
        "d1": [coded("d1", "a", ["I10", "E11"]), coded("d1", "b", ["I10"])],
        "d2": [coded("d2", "a", ["J45"]), coded("d2", "b", ["J45"])],
        "d3": [coded("d3", "a", []), coded("d3", "b", ["E11"])],
    }
    result = multilabel_agreement(groups, ["I10", "E11", "J45", "C50"], n_resamples=50)
    assert list(result) == ["I10", "E11", "J45", ALL_LABELS]  # C50: nobody used it
    # I10: present/present, absent/absent, absent/absent -> kappa 1.0.
    assert result["I10"].pairs[0].kappa == 1.0
    # E11: P/A, A/A, A/P -> observed 1/3; each rater 1 P, 2 A -> expected 5/9;
    # kappa = (3/9 - 5/9) / (4/9) = -0.5.
    assert result["E11"].pairs[0].kappa == pytest.approx(-0.5)
    # Pooled over 9 (document, label) units: 2 disagreements -> observed 7/9; each rater
    # 3 P and 6 A -> expected (9 + 36)/81 = 5/9; kappa = (2/9) / (4/9) = 0.5.
    pooled = result[ALL_LABELS]
    assert pooled.n_units == 9
    assert pooled.pairs[0].kappa == pytest.approx(0.5)
    for entry in result.values():
        no_nan(entry.to_dict())


# --------------------------------------------------------------------------- consensus


def test_annotator_agreement_flags_a_sloppy_annotator() -> None:
    texts = {"d1": ADMISSION, "d2": CONSULTATION, "d3": ADMISSION}
    fragments = {
        "d1": [("Durand", "NOM"), ("12/03/1954", "DATE")],
        "d2": [("Petit", "NOM"), ("3 avril", "DATE")],
        "d3": [("Durand", "NOM"), ("CHU de Lyon", "HOPITAL")],
    }
    gold = {d: [span(texts[d], f, label) for f, label in spans] for d, spans in fragments.items()}
    consensus = {d: Record(d, "pseudonymisation", "gold", spans=s) for d, s in gold.items()}
    annotations = [annotated(d, who, gold[d]) for who in ("a", "c") for d in gold]
    # b misses the hospital on d3: tp 5, fn 1 -> 2*5 / (2*5 + 1) = 10/11.
    annotations += [annotated(d, "b", gold[d]) for d in ("d1", "d2")]
    annotations.append(annotated("d3", "b", gold["d3"][:1]))
    # d (sloppy) only finds "Durand" on d1 -> tp 1, fn 5 -> 2 / 7.
    annotations += [annotated("d1", "d", gold["d1"][:1]), annotated("d2", "d", [])]
    annotations.append(annotated("d3", "d", []))
    annotations.append(annotated("d9", "d", []))  # no consensus: ignored
    annotations.append(annotated("d1", "c", [], cancelled=True))  # cancelled: ignored

    result = annotator_agreement(annotations, consensus, "spans", LABELS)
    assert list(result) == ["a", "b", "c", "d"]
    assert result["b"]["exact_f1"] == round(10 / 11, 4)
    assert result["d"]["exact_f1"] == round(2 / 7, 4)
    assert result["d"]["documents"] == 3
    # Median of (1, 10/11, 1, 2/7) = (10/11 + 1) / 2 = 0.9545; threshold 0.8545.
    assert result["a"]["flag_threshold"] == round((10 / 11 + 1) / 2 - 0.1, 4)
    assert {name: entry["flag"] for name, entry in result.items()} == {
        "a": False,
        "b": False,
        "c": False,
        "d": True,
    }
    no_nan(result)


def test_annotator_agreement_on_label_sets() -> None:
    consensus = {
        "d1": Record("d1", "icd10_coding", "gold", labels=["I10", "E11"]),
        "d2": Record("d2", "icd10_coding", "gold", labels=["J45"]),
    }
    annotations = [coded(d, who, r.labels) for who in ("a", "c") for d, r in consensus.items()]
    annotations += [coded("d1", "b", ["I10"]), coded("d2", "b", ["J45"])]
    result = annotator_agreement(annotations, consensus, "labels", [])
    # b: tp 2, fn 1 -> F1 = 4/5; one document of two has the exact set.
    assert (result["b"]["f1"], result["b"]["exact_set_accuracy"]) == (0.8, 0.5)
    # Median (1, 0.8, 1) = 1 -> threshold 0.9: b is flagged.
    assert [name for name, entry in result.items() if entry["flag"]] == ["b"]
    with pytest.raises(ValueError, match="kind"):
        annotator_agreement(annotations, consensus, "sections", [])
