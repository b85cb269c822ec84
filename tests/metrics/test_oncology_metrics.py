"""Oncology extraction metric: spans, biomarker -> result relations and span attributes.

Every expected number is counted by hand on one synthetic pathology sentence::

    EGFR : mutation présente. KRAS : absence de mutation. Pas de radiothérapie.

with five spans (two biomarkers, their two results, one negated treatment) and two
``has_result`` relations.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from curation.metrics import summary
from curation.metrics.oncology import MISSING, extraction_metrics, match_relations
from curation.schema import Record, Span
from curation.usecases import get

ONCO = get("oncology_extraction")
TEXT = "EGFR : mutation présente. KRAS : absence de mutation. Pas de radiothérapie."


def span(fragment: str, label: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(fragment, start + 1)
    return Span(start, start + len(fragment), label, fragment)


EGFR = span("EGFR", "BIOMARKER")
EGFR_RESULT = span("mutation présente", "BIOMARKER_RESULT")
KRAS = span("KRAS", "BIOMARKER")
KRAS_RESULT = span("absence de mutation", "BIOMARKER_RESULT")
RADIO = span("radiothérapie", "TREATMENT")
SPANS = [EGFR, EGFR_RESULT, KRAS, KRAS_RESULT, RADIO]
RELATIONS = [
    {"from": 0, "to": 1, "type": "has_result"},
    {"from": 2, "to": 3, "type": "has_result"},
]


def flags(i: int, **changes: Any) -> dict[str, Any]:
    return {"span": i, "negated": False, "hypothetical": False, "family": False} | changes


ATTRIBUTES = [
    flags(0),
    flags(1, status="positive"),
    flags(2),
    flags(3, status="negative"),
    flags(4, negated=True),
]


def gold(doc_id: str = "d1") -> Record:
    return Record(
        doc_id,
        ONCO.id,
        "gold",
        spans=list(SPANS),
        relations=copy.deepcopy(RELATIONS),
        attributes=copy.deepcopy(ATTRIBUTES),
    )


def predicted(doc_id: str = "d1", **changes: Any) -> Record:
    record = gold(doc_id)
    record.origin = "modele"
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def score(gold_records: list[Record], pred_records: list[Record], **kw: Any) -> dict[str, Any]:
    return extraction_metrics(gold_records, pred_records, ONCO, n_resamples=50, **kw)


def counts(section: dict[str, Any]) -> tuple[int, int, int]:
    return section["tp"], section["fp"], section["fn"]


def test_perfect_prediction_scores_one_everywhere() -> None:
    scores = score([gold()], [predicted()])
    assert scores["strict"]["micro"]["f1"] == 1.0
    for mode in ("strict", "partial"):
        micro = scores["relations"][mode]["micro"]
        assert (micro["precision"], micro["recall"], micro["f1"]) == (1.0, 1.0, 1.0)
        assert counts(micro) == (2, 0, 0)
        assert scores["relations"][mode]["per_type"]["has_result"]["f1"] == 1.0
    assert scores["relations"]["bootstrap"]["micro"] == {"f1": 1.0, "low": 1.0, "high": 1.0}
    attributes = scores["attributes"]
    assert (attributes["gold_spans"], attributes["matched_spans"]) == (5, 5)
    for name in ("negated", "hypothetical", "family"):
        assert attributes[name]["accuracy"] == 1.0 and attributes[name]["spans"] == 5
    assert attributes["negated"]["true_class"]["f1"] == 1.0
    assert attributes["family"]["true_class"]["f1"] is None  # no true flag anywhere
    status = attributes["status"]
    assert (status["spans"], status["correct"], status["accuracy"]) == (2, 2, 1.0)
    assert status["confusion"]["labels"] == ["positive", "negative", "equivocal", "not_assessed"]
    assert status["confusion"]["matrix"][0] == [1, 0, 0, 0]
    assert status["per_value"]["negative"]["f1"] == 1.0
    assert status["per_value"]["equivocal"]["f1"] is None
    json.dumps(scores)  # JSON-ready


def test_span_sections_keep_the_shape_the_summaries_read() -> None:
    scores = score([gold()], [predicted(spans=SPANS[:4])])
    main = summary.main_scores(scores)
    assert summary.headline(scores) == "strict micro F1"
    assert (main["tp"], main["fn"], main["f1"]) == (4, 1, 0.8889)
    assert main["low"] is not None and main["partial"] == 0.8889
    assert summary.label_scores(scores)["TREATMENT"]["recall"] == 0.0
    assert scores["bootstrap"]["n_resamples"] == 50


def test_a_missing_relation_lowers_recall_only() -> None:
    scores = score([gold()], [predicted(relations=RELATIONS[:1])])
    micro = scores["relations"]["strict"]["micro"]
    assert counts(micro) == (1, 0, 1)
    assert (micro["precision"], micro["recall"], micro["f1"]) == (1.0, 0.5, 0.6667)
    assert scores["strict"]["micro"]["f1"] == 1.0  # spans untouched


def test_a_wrong_endpoint_is_a_false_positive_and_a_false_negative() -> None:
    wrong = [RELATIONS[0], {"from": 2, "to": 1, "type": "has_result"}]  # KRAS -> EGFR's result
    micro = score([gold()], [predicted(relations=wrong)])["relations"]
    assert counts(micro["strict"]["micro"]) == (1, 1, 1)
    assert counts(micro["partial"]["micro"]) == (1, 1, 1)  # no overlap with KRAS's result


def test_a_shifted_endpoint_matches_partially_only() -> None:
    short = Span(EGFR_RESULT.start, EGFR_RESULT.end - 1, "BIOMARKER_RESULT", "mutation présent")
    spans = [EGFR, short, KRAS, KRAS_RESULT, RADIO]
    scores = score([gold()], [predicted(spans=spans)])
    assert counts(scores["relations"]["strict"]["micro"]) == (1, 1, 1)
    assert counts(scores["relations"]["partial"]["micro"]) == (2, 0, 0)
    assert scores["attributes"]["matched_spans"] == 4  # the shifted result is not scored
    assert scores["attributes"]["status"]["spans"] == 1


def test_a_relation_in_the_wrong_direction_matches_nothing() -> None:
    swapped = [{"from": 1, "to": 0, "type": "has_result"}, RELATIONS[1]]
    relations = score([gold()], [predicted(relations=swapped)])["relations"]
    for mode in ("strict", "partial"):
        assert counts(relations[mode]["micro"]) == (1, 1, 1)


def test_an_undeclared_relation_type_is_scored_under_its_name() -> None:
    odd = [*RELATIONS, {"from": 4, "to": 3, "type": "treats"}]
    relations = score([gold()], [predicted(relations=odd)])["relations"]
    assert relations["unexpected_types"] == ["treats"]
    assert counts(relations["strict"]["per_type"]["treats"]) == (0, 1, 0)
    assert counts(relations["strict"]["micro"]) == (2, 1, 0)


def test_attribute_errors_are_scored_per_attribute() -> None:
    wrong = [
        flags(0, negated=True),  # a false negation
        flags(1, status="negative"),  # positive read as negative
        flags(2),
        flags(3),  # status left out
        flags(4),  # the negation missed
    ]
    attributes = score([gold()], [predicted(attributes=wrong)])["attributes"]
    negated = attributes["negated"]
    assert (negated["spans"], negated["correct"], negated["accuracy"]) == (5, 3, 0.6)
    assert counts(negated["true_class"]) == (0, 1, 1)
    assert negated["true_class"]["f1"] == 0.0
    assert attributes["hypothetical"]["accuracy"] == 1.0
    status = attributes["status"]
    assert (status["spans"], status["correct"], status["accuracy"]) == (2, 0, 0.0)
    assert status["confusion"]["labels"][-1] == MISSING
    labels = status["confusion"]["labels"]
    matrix = {
        (g, p): status["confusion"]["matrix"][i][j]
        for i, g in enumerate(labels)
        for j, p in enumerate(labels)
    }
    assert matrix[("positive", "negative")] == 1 and matrix[("negative", MISSING)] == 1
    assert sum(map(sum, status["confusion"]["matrix"])) == 2
    assert counts(status["per_value"]["negative"]) == (0, 1, 1)
    assert counts(status["per_value"]["positive"]) == (0, 0, 1)


def test_status_is_only_scored_on_the_labels_that_carry_it() -> None:
    odd = copy.deepcopy(ATTRIBUTES)
    odd[0]["status"] = "positive"  # on the BIOMARKER span: not a scored status
    attributes = score([gold()], [predicted(attributes=odd)])["attributes"]
    assert attributes["status"]["spans"] == 2 and attributes["status"]["accuracy"] == 1.0


def test_missing_attribute_entries_count_as_false_flags() -> None:
    attributes = score([gold()], [predicted(attributes=[])])["attributes"]
    assert attributes["negated"]["correct"] == 4
    assert counts(attributes["negated"]["true_class"]) == (0, 0, 1)
    assert attributes["family"]["accuracy"] == 1.0


def test_empty_documents_leave_every_ratio_undefined() -> None:
    empty = Record("d1", ONCO.id, "gold")
    scores = score([empty], [Record("d1", ONCO.id, "modele")])
    relations = scores["relations"]
    assert relations["strict"]["micro"]["f1"] is None
    assert relations["bootstrap"]["micro"] == {"f1": None, "low": None, "high": None}
    assert scores["attributes"]["matched_spans"] == 0
    assert scores["attributes"]["negated"]["accuracy"] is None
    assert scores["attributes"]["status"]["confusion"]["matrix"][0] == [0, 0, 0, 0]
    nothing = score([], [])
    assert nothing["relations"]["strict"]["micro"]["f1"] is None


def test_a_gold_document_without_prediction_predicts_nothing() -> None:
    scores = score([gold("d1"), gold("d2")], [predicted("d1")])
    assert counts(scores["relations"]["strict"]["micro"]) == (2, 0, 2)
    assert scores["attributes"]["gold_spans"] == 10
    assert scores["attributes"]["matched_spans"] == 5
    assert scores["documents"]["missing_doc_ids"] == 1


def test_predictions_without_gold_documents_are_ignored() -> None:
    scores = score([gold("d1")], [predicted("d1"), predicted("d9", relations=RELATIONS[:1])])
    assert counts(scores["relations"]["strict"]["micro"]) == (2, 0, 0)
    assert scores["attributes"]["matched_spans"] == 5
    assert scores["documents"]["unknown_doc_ids"] == 1


def test_groups_and_bootstrap_by_document() -> None:
    gold_records = [gold(f"d{i}") for i in range(6)]
    pred = [predicted(f"d{i}", relations=RELATIONS[: i % 2 + 1]) for i in range(6)]
    groups = {f"d{i}": "cr_anapath" if i < 3 else "fiche_rcp" for i in range(6)}
    scores = score(gold_records, pred, groups=groups, seed=3)
    relations = scores["relations"]
    assert set(relations["by_group"]) == {"cr_anapath", "fiche_rcp"}
    assert counts(relations["by_group"]["cr_anapath"]) == (4, 0, 2)  # d0 1, d1 2, d2 1 of 2 each
    assert counts(relations["by_group"]["fiche_rcp"]) == (5, 0, 1)
    interval = relations["bootstrap"]["micro"]
    assert interval["low"] < interval["f1"] == 0.8571 <= interval["high"] <= 1.0
    assert set(scores["by_group"]) == {"cr_anapath", "fiche_rcp"}
    assert score(gold_records, pred, groups=groups, seed=3) == scores


def test_a_relation_to_a_span_that_does_not_exist_names_the_record() -> None:
    bad = [{"from": 0, "to": 7, "type": "has_result"}]
    with pytest.raises(ValueError, match=r"predicted record doc_id 'd1': relation 0 has to=7"):
        score([gold()], [predicted(relations=bad)])


def test_partial_matching_is_one_to_one() -> None:
    a, b = (0, 4, "BIOMARKER"), (7, 24, "BIOMARKER_RESULT")
    wide = (0, 24, "BIOMARKER_RESULT")
    gold_relations = [("has_result", a, b), ("has_result", a, (10, 24, "BIOMARKER_RESULT"))]
    assert len(match_relations(gold_relations, [("has_result", a, wide)])) == 1
    assert match_relations(gold_relations, [("treats", a, b)]) == []
