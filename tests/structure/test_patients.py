"""The patient table from hand-written records of one patient's reports, and its evaluation."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pyarrow as pa
import pytest

from curation.io import InputError
from curation.models.oncology.biomarkers import canonical_marker
from curation.schema import Record, Span
from curation.structure.evaluation import evaluate
from curation.structure.patients import (
    TIMELINE_SCHEMA,
    DocumentInfo,
    build_patients,
    fold,
    markers_of,
    metastatic_from_tnm,
    patient_row,
    table_schema,
    timeline_rows,
)

_TAG = re.compile(r"<(\w+)([^>]*)>(.*?)</\1>")


def annotate(doc_id: str, marked: str) -> tuple[Record, str]:
    """An ``oncology_extraction`` record from inline gold: ``<HISTOLOGY>carcinome</HISTOLOGY>``,
    flags and status as attributes (``<TREATMENT hypothetical>``, ``status=positive``); each
    BIOMARKER_RESULT is linked to the BIOMARKER before it."""
    text, spans, attributes, relations = "", [], [], []
    last, marker = 0, None
    for match in _TAG.finditer(marked):
        text += marked[last : match.start()]
        label, attrs, value = match.groups()
        span = Span(len(text), len(text) + len(value), label, value)
        text += value
        last = match.end()
        i = len(spans)
        spans.append(span)
        flags: dict[str, Any] = {
            "span": i,
            "negated": False,
            "hypothetical": False,
            "family": False,
        }
        for attr in attrs.split():
            key, _, val = attr.partition("=")
            flags[key] = val or True
        attributes.append(flags)
        if label == "BIOMARKER":
            marker = i
        elif label == "BIOMARKER_RESULT" and marker is not None:
            relations.append({"from": marker, "to": i, "type": "has_result"})
    text += marked[last:]
    record = Record(
        doc_id,
        "oncology_extraction",
        "test",
        spans=spans,
        relations=relations,
        attributes=attributes,
    )
    for s in spans:
        assert text[s.start : s.end] == s.text
    return record, text


ANAPATH, ANAPATH_TEXT = annotate(
    "doc-anapath-1",
    "Conclusion : <HISTOLOGY>carcinome canalaire infiltrant</HISTOLOGY> <GRADE>grade SBR II"
    "</GRADE> du <TUMOR_SITE>sein gauche</TUMOR_SITE>.\n"
    "- <BIOMARKER>RE</BIOMARKER> : <BIOMARKER_RESULT status=positive>positifs à 90 %"
    "</BIOMARKER_RESULT>.\n"
    "- <BIOMARKER>HER2</BIOMARKER> : <BIOMARKER_RESULT status=equivocal>score 2+, ISH en cours"
    "</BIOMARKER_RESULT>.\n",
)
ANAPATH_ISH, _ = annotate(
    "doc-anapath-2",
    "Complément : <BIOMARKER>HER2</BIOMARKER> <BIOMARKER_RESULT status=positive>score 2+, ISH "
    "amplifié</BIOMARKER_RESULT>.",
)
RCP, _ = annotate(
    "doc-rcp-1",
    "ATCD familiaux : mère traitée pour un cancer de l'<TUMOR_SITE family>ovaire</TUMOR_SITE>.\n"
    "Stade : <TNM>pT2N1aM1b</TNM>, maladie métastatique.\n"
    "Proposition : <TREATMENT>trastuzumab et pertuzumab</TREATMENT>.\n"
    "En cas de progression, un traitement par <TREATMENT hypothetical>T-DM1</TREATMENT> pourra "
    "être discuté. Pas d'indication à une <TREATMENT negated>radiothérapie</TREATMENT>.",
)
FAMILY_ONLY, _ = annotate(
    "doc-consult-0",
    "ATCD familiaux : père traité pour un cancer de la <TUMOR_SITE family>prostate</TUMOR_SITE>.",
)
RESPONSE = Record(
    "doc-imagerie-1",
    "oncology_response",
    "test",
    labels=["partial_response"],
    spans=[Span(12, 37, "partial_response", "réponse partielle franche")],
)
DOCUMENTS = {
    "doc-consult-0": DocumentInfo("pat-0000042", date(2024, 1, 2)),  # the earliest, family only
    "doc-anapath-1": DocumentInfo("pat-0000042", date(2024, 1, 10)),
    "doc-anapath-2": DocumentInfo("pat-0000042", date(2024, 2, 1)),
    "doc-rcp-1": DocumentInfo("pat-0000042", date(2024, 2, 8)),
    "doc-imagerie-1": DocumentInfo("pat-0000042", date(2024, 6, 3)),
}


def _patients() -> Any:
    extractions = [FAMILY_ONLY, ANAPATH, ANAPATH_ISH, RCP]
    return build_patients(extractions, [RESPONSE], DOCUMENTS, canonical_marker)


def test_one_row_from_several_reports() -> None:
    patients, report = _patients()
    assert [p.patient_id for p in patients] == ["pat-0000042"]
    p = patients[0]
    assert p.diagnosis is not None and p.diagnosis.date == date(2024, 1, 10)
    assert p.diagnosis.doc_id == "doc-anapath-1"  # not the family history of 2 January
    assert p.site is not None and p.site.value == "sein gauche"
    assert p.site.doc_id == "doc-anapath-1"
    assert ANAPATH_TEXT[p.site.start : p.site.end] == "sein gauche"
    assert p.histology is not None and p.histology.value == "carcinome canalaire infiltrant"
    assert p.grade is not None and p.grade.value == "grade SBR II"
    assert p.tnm is not None and p.tnm.value == "pT2N1aM1b" and p.metastatic is True
    assert report.flagged_entities == 4  # two family sites, a hypothetical and a negated treatment


def test_latest_biomarker_status_wins() -> None:
    p = _patients()[0][0]
    her2 = p.biomarkers["HER2"]
    assert (her2.status, her2.date, her2.doc_id) == ("positive", date(2024, 2, 1), "doc-anapath-2")
    assert her2.result == "score 2+, ISH amplifié"
    er = p.biomarkers["ER"]  # "RE" as written, canonical "ER"
    assert (er.status, er.doc_id) == ("positive", "doc-anapath-1")
    assert ANAPATH_TEXT[er.start : er.end] == "positifs à 90 %"


def test_hypothetical_and_negated_treatments_are_not_the_patients() -> None:
    p = _patients()[0][0]
    assert [t.value for t in p.treatments] == ["trastuzumab et pertuzumab"]
    assert [(r.value, r.date, r.doc_id) for r in p.responses] == [
        ("partial_response", date(2024, 6, 3), "doc-imagerie-1")
    ]
    assert p.last_response is not None and p.last_response.start == 12


def test_row_and_timeline_fit_their_schemas() -> None:
    patients, _ = _patients()
    markers = markers_of(patients)
    assert markers == ["ER", "HER2"]
    row = patient_row(patients[0], markers)
    table = pa.Table.from_pylist([row], schema=table_schema(markers))
    got = table.to_pylist()[0]
    assert got["biomarker_HER2_status"] == "positive"
    assert got["biomarker_HER2_doc_id"] == "doc-anapath-2"
    assert got["biomarker_HER2_date"] == date(2024, 2, 1)
    assert got["metastatic"] is True and got["metastatic_doc_id"] == "doc-rcp-1"
    assert got["treatments"][0]["treatment"] == "trastuzumab et pertuzumab"
    assert got["last_response"] == "partial_response"
    timeline = pa.Table.from_pylist(list(timeline_rows(patients)), schema=TIMELINE_SCHEMA)
    kinds = timeline.column("kind").to_pylist()
    assert kinds.count("biomarker") == 3  # every mention: HER2 equivocal, then positive
    dates = timeline.column("date").to_pylist()
    assert dates == sorted(dates)


def test_records_outside_the_table_are_counted_not_used() -> None:
    stray = Record("doc-unknown", "oncology_response", "test", labels=["progression"])
    patients, report = build_patients([], [stray], DOCUMENTS, canonical_marker)
    assert patients == [] and report.unmatched_records == 1


def test_relation_outside_the_spans_names_the_document() -> None:
    bad = Record(
        "doc-rcp-1",
        "oncology_extraction",
        "test",
        spans=[Span(0, 4, "BIOMARKER", "HER2")],
        relations=[{"from": 0, "to": 3, "type": "has_result"}],
    )
    with pytest.raises(InputError, match="doc-rcp-1"):
        build_patients([bad], [], DOCUMENTS, canonical_marker)


@pytest.mark.parametrize(
    ("tnm", "expected"),
    [
        ("pT2N1aM0", False),
        ("cT4N3M1c", True),
        ("pt4an2am1a", True),
        ("ypT1bN0", None),
        ("MX", None),
    ],
)
def test_metastatic_from_tnm(tnm: str, expected: bool | None) -> None:
    assert metastatic_from_tnm(tnm) is expected


def test_m0_at_diagnosis_then_m1_is_metastatic() -> None:
    staged, _ = annotate("doc-rcp-2", "Restadification : <TNM>pT2N1aM0</TNM>.")
    later, _ = annotate("doc-rcp-3", "Récidive : <TNM>rT0N0M1</TNM>.")
    docs = {
        "doc-rcp-2": DocumentInfo("pat-1", date(2024, 1, 1)),
        "doc-rcp-3": DocumentInfo("pat-1", date(2025, 1, 1)),
    }
    p = build_patients([later, staged], [], docs, canonical_marker)[0][0]
    assert p.tnm is not None and p.tnm.value == "pT2N1aM0"  # TNM at diagnosis
    assert p.metastatic is True and p.stage is not None and p.stage.doc_id == "doc-rcp-3"


def test_evaluation_against_a_tiny_truth() -> None:
    patients, _ = _patients()
    truth = [
        {
            "patient_id": "pat-0000042",
            "site": "Sein  gauche",  # folded: case and spaces
            "histology": "carcinome canalaire infiltrant",
            "grade": "grade SBR III",  # wrong in the table
            "tnm": "pT2N1aM1b",
            "metastatic": True,
            "biomarkers": [
                {"name": "HER2", "result": "score 2+, ISH amplifié", "status": "positive"},
                {"name": "RE", "result": "positifs à 90 %", "status": "positive"},
                {"name": "RP", "result": "négatifs", "status": "negative"},  # not in the table
            ],
            "treatments": ["trastuzumab et pertuzumab", "radiothérapie adjuvante"],
            "responses": ["partial_response"],
        },
        {"patient_id": "pat-0000099", "site": "poumon droit", "treatments": [], "responses": []},
    ]
    m = evaluate(patients, truth, canonical_marker)
    assert m["patients"] == {
        "truth": 2,
        "table": 1,
        "matched": 1,
        "missing": 1,
        "extra": 0,
        "coverage": 0.5,
    }
    assert m["fields"]["site"]["accuracy"] == 1.0
    assert m["fields"]["grade"] == {"accuracy": 0.0, "correct": 0, "total": 1, "empty": 0}
    assert m["fields"]["metastatic"]["accuracy"] == 1.0
    assert m["biomarkers"]["per_marker"]["ER"]["accuracy"] == 1.0
    assert m["biomarkers"]["per_marker"]["PR"] == {
        "accuracy": 0.0,
        "correct": 0,
        "total": 1,
        "empty": 1,
    }
    assert m["biomarkers"]["micro"]["accuracy"] == round(2 / 3, 4)
    assert (m["treatments"]["precision"], m["treatments"]["recall"]) == (1.0, 0.5)
    assert m["treatments"]["f1"] == round(2 / 3, 4)
    assert m["responses"]["last_response_accuracy"] == 1.0
    numbers = [v for group in m.values() for v in _leaves(group)]
    assert all(isinstance(v, int | float) for v in numbers)  # DVC metrics: numbers only


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


def test_fold() -> None:
    assert fold("Adénocarcinome  LIEBERKÜHNIEN") == "adenocarcinome lieberkuhnien"
