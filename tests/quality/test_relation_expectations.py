"""Relations and span attributes gates: each planted defect is caught, clean data passes.

Synthetic oncology records (``EGFR : mutation présente. KRAS : absence de mutation.``) made
into tables by :func:`~curation.quality.frames.relations_frame` and
:func:`~curation.quality.frames.attributes_frame` and validated with the suite parameters the
``validate`` stage derives from the use case's declaration.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from curation.quality import frames
from curation.quality.validation import Check, ExpectationOutcome, ValidationReport, run_checks
from curation.schema import Record, Span
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.stages.validate import (
    ATTRIBUTE_INDEX,
    RELATION_INDEX,
    _result_checks,
    declared_parameters,
)
from curation.usecases import get

ONCO = get("oncology_extraction")
PARAMETERS = declared_parameters(ONCO)
TEXTS = {
    "cr-001": "EGFR : mutation présente. KRAS : absence de mutation. Pas de radiothérapie.",
    "cr-002": "Recherche de mutation BRAF : non réalisée.",
}
#: Values that must never reach a report: document text and what an annotator typed.
SECRETS = ("mutation présente", "absence de mutation", "radiothérapie", "muté", "oui")


def span(doc_id: str, fragment: str, label: str) -> Span:
    start = TEXTS[doc_id].index(fragment)
    return Span(start, start + len(fragment), label, fragment)


FLAGS = {"negated": False, "hypothetical": False, "family": False}


def records() -> list[Record]:
    """Two clean records: two biomarkers with their results, one negated treatment."""
    first = Record(
        "cr-001",
        ONCO.id,
        "gold",
        spans=[
            span("cr-001", "EGFR", "BIOMARKER"),
            span("cr-001", "mutation présente", "BIOMARKER_RESULT"),
            span("cr-001", "KRAS", "BIOMARKER"),
            span("cr-001", "absence de mutation", "BIOMARKER_RESULT"),
            span("cr-001", "radiothérapie", "TREATMENT"),
        ],
        relations=[
            {"from": 0, "to": 1, "type": "has_result"},
            {"from": 2, "to": 3, "type": "has_result"},
        ],
        attributes=[
            {"span": 0, **FLAGS},
            {"span": 1, **FLAGS, "status": "positive"},
            {"span": 2, **FLAGS},
            {"span": 3, **FLAGS, "status": "negative"},
            {"span": 4, **FLAGS, "negated": True},
        ],
    )
    second = Record(
        "cr-002",
        ONCO.id,
        "gold",
        spans=[
            span("cr-002", "BRAF", "BIOMARKER"),
            span("cr-002", "non réalisée", "BIOMARKER_RESULT"),
        ],
        relations=[{"from": 0, "to": 1, "type": "has_result"}],
        attributes=[{"span": 0, **FLAGS}, {"span": 1, **FLAGS, "status": "not_assessed"}],
    )
    return [first, second]


def loaded(items: list[Record]) -> frames.LoadedRecords:
    out = frames.LoadedRecords()
    for line, record in enumerate(items, 1):
        out.add(line, record, record.doc_id)
    return out


def checks(items: list[Record], stage: str | None = None) -> list[Check]:
    table = loaded(items)
    return [
        Check("relations", frames.relations_frame(table), RELATION_INDEX, stage=stage),
        Check("attributes", frames.attributes_frame(table), ATTRIBUTE_INDEX, stage=stage),
    ]


def validate(items: list[Record], stage: str | None = None, **kw: Any) -> ValidationReport:
    return run_checks(checks(items, stage), PARAMETERS, **kw)


def outcome(report: ValidationReport, expectation: str, target: str) -> ExpectationOutcome:
    found = [o for o in report.outcomes if o.expectation == expectation and o.target == target]
    assert len(found) == 1, f"{expectation} on {target}: {len(found)} outcomes"
    return found[0]


def failed(report: ValidationReport) -> set[tuple[str, str, str]]:
    return {(o.suite, o.expectation, o.target) for o in report.failed}


@dataclass(frozen=True, slots=True)
class Caught:
    suite: str
    expectation: str
    target: str
    unexpected: int
    examples: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def clean() -> ValidationReport:
    return validate(records())


def test_clean_records_pass_both_suites(clean: ValidationReport) -> None:
    assert {o.suite for o in clean.outcomes} == {"relations", "attributes"}
    assert len(clean.outcomes) == 10
    assert not clean.failed, [o.describe() for o in clean.failed]
    assert all(o.error is None for o in clean.outcomes)
    assert clean.rows == {"relations": 3, "attributes": 24}  # 7 entries x 3 flags, 3 statuses


def test_the_synthetic_answer_key_passes_both_suites() -> None:
    settings = GenerateSettings(n_documents=20, seed=5, oncology_share=1.0)
    gold = [i.records[ONCO.id] for i in generate_documents(settings) if ONCO.id in i.records]
    assert any(r.relations for r in gold)
    report = validate(gold)
    assert report.success and not report.failed, [o.describe() for o in report.failed]


def _relation(index: int, **changes: Any) -> Callable[[list[Record]], None]:
    def change(items: list[Record]) -> None:
        items[0].relations[index].update(changes)

    return change


def _attribute(index: int, **changes: Any) -> Callable[[list[Record]], None]:
    def change(items: list[Record]) -> None:
        items[0].attributes[index].update(changes)

    return change


def _append(name: str, entry: dict[str, Any]) -> Callable[[list[Record]], None]:
    def change(items: list[Record]) -> None:
        getattr(items[0], name).append(copy.deepcopy(entry))

    return change


def where(relation: int) -> dict[str, Any]:
    return {"doc_id": "cr-001", "record": 1, "relation": relation}


def at(index: int, line: int = 1) -> dict[str, Any]:
    record = records()[line - 1]
    s = record.spans[index]
    return {"doc_id": record.doc_id, "start": s.start, "end": s.end, "record": line, "span": index}


NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
OF_KEY = "expect_column_pair_values_to_be_in_set_of_key"
UNIQUE = "expect_compound_columns_to_be_unique"

DEFECTS = [
    pytest.param(
        _relation(1, to=9),
        Caught("relations", NOT_NULL, "to_label", 1, [where(1)]),
        id="relation-to-a-span-that-does-not-exist",
    ),
    pytest.param(
        _relation(0, **{"from": -1}),
        Caught("relations", NOT_NULL, "from_label", 1, [where(0)]),
        id="relation-from-a-negative-index",
    ),
    pytest.param(
        _relation(1, type="treats"),
        Caught("relations", IN_SET, "type", 1, [where(1)]),
        id="undeclared-relation-type",
    ),
    pytest.param(
        _relation(1, to=4),
        Caught("relations", OF_KEY, "type, ends", 1, [where(1)]),
        id="biomarker-linked-to-a-treatment",
    ),
    pytest.param(
        _relation(0, **{"from": 1, "to": 0}),
        Caught("relations", OF_KEY, "type, ends", 1, [where(0)]),
        id="relation-in-the-wrong-direction",
    ),
    pytest.param(
        _append("relations", {"from": 0, "to": 1, "type": "has_result"}),
        Caught("relations", UNIQUE, "record, type, from, to", 2, [where(0), where(2)]),
        id="duplicate-relation",
    ),
    pytest.param(
        _append("attributes", {"span": 7, "negated": False}),
        Caught(
            "attributes",
            NOT_NULL,
            "label",
            1,
            [{"doc_id": "cr-001", "start": None, "end": None, "record": 1, "span": 7}],
        ),
        id="attribute-of-a-span-that-does-not-exist",
    ),
    pytest.param(
        _append("attributes", {"span": 4, "negated": False}),
        Caught("attributes", UNIQUE, "record, span, key", 2, [at(4), at(4)]),
        id="two-values-for-one-span-attribute",
    ),
    pytest.param(
        _attribute(2, certain=True),
        Caught("attributes", IN_SET, "key", 1, [at(2)]),
        id="undeclared-attribute",
    ),
    pytest.param(
        _attribute(4, negated="oui"),
        Caught("attributes", OF_KEY, "key, value", 1, [at(4)]),
        id="flag-that-is-not-boolean",
    ),
    pytest.param(
        _attribute(2, family=1),
        Caught("attributes", OF_KEY, "key, value", 1, [at(2)]),
        id="flag-given-as-a-number",
    ),
    pytest.param(
        _attribute(1, status="muté"),
        Caught("attributes", OF_KEY, "key, value", 1, [at(1)]),
        id="undeclared-status",
    ),
    pytest.param(
        _attribute(0, status="positive"),
        Caught("attributes", OF_KEY, "key, label", 1, [at(0)]),
        id="status-on-a-biomarker-span",
    ),
]


@pytest.mark.parametrize(("change", "caught"), DEFECTS)
def test_suites_catch(
    change: Callable[[list[Record]], None], caught: Caught, clean: ValidationReport
) -> None:
    assert outcome(clean, caught.expectation, caught.target).success
    items = records()
    change(items)
    report = validate(items)
    found = [
        o
        for o in report.outcomes
        if (o.suite, o.expectation, o.target) == (caught.suite, caught.expectation, caught.target)
    ]
    assert len(found) == 1
    assert not found[0].success and found[0].error is None
    assert found[0].severity == "critical" and not report.success
    assert found[0].unexpected_count == caught.unexpected
    assert found[0].examples == caught.examples
    assert failed(report) == {(caught.suite, caught.expectation, caught.target)}
    dumped = json.dumps(report.to_dict(), ensure_ascii=False)
    assert not [s for s in SECRETS if s in dumped]


def test_defects_in_annotations_are_warnings() -> None:
    items = records()
    _relation(1, to=9)(items)
    _attribute(1, status="muté")(items)
    report = validate(items, stage="annotations")
    assert len(report.failed) == 2 and report.success
    assert {o.severity for o in report.failed} == {"warning"}


def test_values_typed_by_an_annotator_never_reach_reports_or_data_docs(tmp_path: Path) -> None:
    items = records()
    _attribute(4, negated="oui")(items)
    _attribute(1, status="muté")(items)
    items[0].attributes[3]["comment"] = "absence de mutation"  # an undeclared free text
    report = validate(items, data_docs=tmp_path / "docs")
    value = outcome(report, OF_KEY, "key, value")
    assert value.unexpected_count == 2 and value.examples == [at(1), at(4)]
    dumped = json.dumps(report.to_dict(), ensure_ascii=False)
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "docs").rglob("*.html")]
    assert pages and any("cr-001" in html for html in pages)
    leaks = [s for s in SECRETS for text in [dumped, *pages] if s in text]
    assert not leaks


def test_the_stage_adds_the_suites_its_use_case_declares() -> None:
    onco = {c.suite for c in _result_checks(loaded(records()), TEXTS, ONCO, "gold")}
    assert {"relations", "attributes"} <= onco
    pseudo = get("pseudonymisation")
    plain = [Record("cr-001", pseudo.id, "gold", spans=[span("cr-001", "EGFR", "NOM")])]
    assert {c.suite for c in _result_checks(loaded(plain), TEXTS, pseudo, "gold")} == {
        "records",
        "spans",
    }
    # relations where none are declared: checked, and every type is undeclared
    plain[0].relations = [{"from": 0, "to": 0, "type": "has_result"}]
    suites = [c.suite for c in _result_checks(loaded(plain), TEXTS, pseudo, "gold")]
    assert "relations" in suites and "attributes" not in suites
    report = run_checks(
        [Check("relations", frames.relations_frame(loaded(plain)), RELATION_INDEX)],
        declared_parameters(pseudo),
    )
    assert failed(report) == {("relations", IN_SET, "type")}


def test_declared_parameters_come_from_the_use_case() -> None:
    assert PARAMETERS == {
        "relation_types": ["has_result"],
        "relation_ends": {"has_result": ["BIOMARKER -> BIOMARKER_RESULT"]},
        "attribute_keys": ["negated", "hypothetical", "family", "status"],
        "attribute_values": {
            "negated": [True, False],
            "hypothetical": [True, False],
            "family": [True, False],
            "status": ["positive", "negative", "equivocal", "not_assessed"],
        },
        "attribute_labels": {"status": ["BIOMARKER_RESULT"]},
    }


def test_frames_hold_indexes_and_labels_only() -> None:
    relations = frames.relations_frame(loaded(records()))
    assert list(relations.columns) == [
        "record",
        "doc_id",
        "relation",
        "type",
        "from",
        "to",
        "from_label",
        "to_label",
        "ends",
    ]
    assert relations.iloc[0].to_dict() == {
        "record": 1,
        "doc_id": "cr-001",
        "relation": 0,
        "type": "has_result",
        "from": 0,
        "to": 1,
        "from_label": "BIOMARKER",
        "to_label": "BIOMARKER_RESULT",
        "ends": "BIOMARKER -> BIOMARKER_RESULT",
    }
    attributes = frames.attributes_frame(loaded(records()))
    assert "text" not in attributes.columns
    assert set(attributes["key"]) == {"negated", "hypothetical", "family", "status"}
    bare = Record("cr-001", ONCO.id, "gold", spans=records()[0].spans, attributes=[{"span": 0}])
    assert frames.attributes_frame(loaded([bare]))[["key", "value"]].values.tolist() == [
        [None, None]
    ]
