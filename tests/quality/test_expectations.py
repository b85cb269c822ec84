"""Expectation suites: each planted defect is caught, and the clean data passes the same suite.

Synthetic French records only (``Patient : Jean DUPONT, né le 12/03/1950, …``), made into
tables by the builders of :mod:`curation.quality.frames` and validated by
:func:`~curation.quality.validation.run_checks`, as the ``validate`` stage does. A defect test
asserts which expectation failed, on which column, how many rows and which ``doc_id`` and
offsets it names; the privacy tests assert that neither the JSON report nor the Data Docs
carry a document's text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from curation.french import nir_key
from curation.models.rules import nir_key_is_valid
from curation.quality import frames
from curation.quality.validation import (
    Check,
    ExpectationOutcome,
    ValidationReport,
    run_checks,
)
from curation.schema import DOC_TYPES, Document, Record, Span, text_sha256
from curation.stages.validate import RECORD_INDEX, SPAN_INDEX

PSEUDO = "pseudonymisation"
ONCO = "oncology_response"
ONCO_LABELS = ["complete_response", "partial_response", "stable_disease", "progression"]

#: Suite parameters, named as :func:`curation.stages.validate.plan` names them.
PARAMETERS: dict[str, Any] = {
    "labels": ["NOM", "PRENOM", "DATE", "DATE_NAISSANCE", "TEL", "HOPITAL"],
    "vocabulary": "",
    "use_cases": [PSEUDO],
    "doc_types": sorted(DOC_TYPES),
    "sites": ["chu-nord", "chu-sud", "clcc-ouest"],
    "max_chars": 200,
    "min_agreement": 0.7,
    "label_bounds": {
        "NOM": [0.1, 0.45],
        "PRENOM": [0.05, 0.35],
        "DATE": [0.05, 0.4],
        "HOPITAL": [0.0, 0.15],
    },
    "split_bounds": {"train": [0.5, 0.85], "dev": [0.05, 0.25], "test": [0.1, 0.35]},
}
LABEL_PARAMETERS = PARAMETERS | {"labels": ONCO_LABELS, "use_cases": [ONCO]}

#: A name and a phone number that appear only in document and span text, never in a report.
NAME = "DUPONT"
PHONE = "06 12 34 56 78"

TEXTS: dict[str, str] = {
    "doc-001": f"Patient : Jean {NAME}, né le 12/03/1950, tél {PHONE}.",
    "doc-002": "Mme Claire MARTIN, 45 ans, vue en consultation le 3 avril 2024 au CHU de Rouen.",
    "doc-003": "Compte rendu opératoire : cholécystectomie chez M. Paul LEROY, sans complication.",
    "doc-004": "Lettre de liaison : Mme Claire MARTIN sort ce jour, revue dans un mois.",
}
PATIENTS = {"doc-001": "pat-01", "doc-002": "pat-02", "doc-003": "pat-03", "doc-004": "pat-02"}
SITES = {"doc-001": "chu-nord", "doc-002": "chu-sud", "doc-003": "clcc-ouest", "doc-004": "chu-sud"}
TYPES = {
    "doc-001": "crh",
    "doc-002": "cr_consultation",
    "doc-003": "cr_operatoire",
    "doc-004": "lettre_liaison",
}
#: Spans of the predictions, as (doc_id, surface text, label).
SPANS: list[tuple[str, str, str]] = [
    ("doc-001", "Jean", "PRENOM"),
    ("doc-001", NAME, "NOM"),
    ("doc-001", "12/03/1950", "DATE_NAISSANCE"),
    ("doc-001", PHONE, "TEL"),
    ("doc-002", "Claire", "PRENOM"),
    ("doc-002", "MARTIN", "NOM"),
    ("doc-002", "3 avril 2024", "DATE"),
    ("doc-002", "CHU de Rouen", "HOPITAL"),
    ("doc-003", "Paul", "PRENOM"),
    ("doc-003", "LEROY", "NOM"),
    ("doc-004", "Claire", "PRENOM"),
    ("doc-004", "MARTIN", "NOM"),
]
#: Surrogates the pseudonymiser wrote (the phone of ``doc-001`` is one).
REPLACED = {
    "doc-001": [[TEXTS["doc-001"].index(PHONE), TEXTS["doc-001"].index(PHONE) + len(PHONE)]]
}

# --- building clean data ----------------------------------------------------------------------


def at(doc_id: str, surface: str) -> dict[str, int]:
    """``start`` and ``end`` of the first occurrence of ``surface`` in ``doc_id``."""
    start = TEXTS[doc_id].index(surface)
    return {"start": start, "end": start + len(surface)}


def span(doc_id: str, surface: str, label: str, score: float = 0.9) -> Span:
    """The span of the first occurrence of ``surface`` in the document ``doc_id``."""
    offsets = at(doc_id, surface)
    return Span(offsets["start"], offsets["end"], label, surface, score)


def documents(texts: Mapping[str, str] = TEXTS) -> list[Document]:
    return [
        Document(
            doc_id,
            text,
            patient_id=PATIENTS.get(doc_id, f"pat-{doc_id}"),
            site=SITES.get(doc_id, "chu-nord"),
            doc_type=TYPES.get(doc_id, "cr_consultation"),
        )
        for doc_id, text in texts.items()
    ]


def document_table(docs: Sequence[Document]) -> pd.DataFrame:
    """The document table as ingest stores it (every column a Python string)."""
    return pd.DataFrame([d.to_row() for d in docs]).astype(object)


def predictions() -> list[Record]:
    """One prediction record per document, with the spans of :data:`SPANS`."""
    by_doc: dict[str, list[Span]] = {doc_id: [] for doc_id in TEXTS}
    for doc_id, surface, label in SPANS:
        by_doc[doc_id].append(span(doc_id, surface, label))
    return [Record(doc_id, PSEUDO, "rules-v1", spans=s) for doc_id, s in by_doc.items()]


def classifications() -> list[Record]:
    """Document labels of three documents (principal label first)."""
    labels = {
        "doc-001": ["partial_response"],
        "doc-002": ["stable_disease", "progression"],
        "doc-003": ["complete_response"],
    }
    return [Record(doc_id, ONCO, "model-v1", labels=list(ls)) for doc_id, ls in labels.items()]


def gold_records() -> list[Record]:
    """Gold with provenance: two consensus records, one review and one single annotation."""
    provenance: list[dict[str, Any]] = [
        {"rule": "consensus", "annotations": ["ls:101", "ls:102"], "agreement": 0.9},
        {"rule": "review", "annotations": ["ls:103", "ls:104", "ls:105"], "agreement": 0.6},
        {"rule": "single", "annotations": ["ls:106"], "agreement": None},
        {"rule": "consensus", "annotations": ["ls:107", "ls:108"], "agreement": 0.85},
    ]
    return [
        replace(record, origin="gold", provenance=dict(p))
        for record, p in zip(predictions(), provenance, strict=True)
    ]


ANNOTATION_KEYS = {f"ls:{n}" for n in range(101, 109)}

#: Benchmark: the four documents and six follow-up notes, split by patient.
FILLERS = {
    f"doc-1{n:02d}": f"Consultation de suivi n°{n} : examen clinique normal, pas de nouvel élément."
    for n in range(6)
}
BENCHMARK_TEXTS = TEXTS | FILLERS
SPLITS: dict[str, list[str]] = {
    "train": ["doc-002", "doc-004", "doc-100", "doc-101", "doc-102", "doc-103"],
    "dev": ["doc-001", "doc-104"],
    "test": ["doc-003", "doc-105"],
}


def loaded(records: Sequence[Record], keys: Sequence[str] | None = None) -> frames.LoadedRecords:
    """Records as read from a JSONL file: line numbers from 1, keyed by doc_id by default."""
    out = frames.LoadedRecords()
    for line, record in enumerate(records, 1):
        out.add(line, record, keys[line - 1] if keys else record.doc_id)
    return out


def documents_frame(docs: Sequence[Document] | None = None) -> pd.DataFrame:
    return frames.documents_frame(document_table(docs or documents()), REPLACED)


def records_frame(records: Sequence[Record], keys: Sequence[str] | None = None) -> pd.DataFrame:
    return frames.records_frame(loaded(records, keys), TEXTS)


def spans_frame(records: Sequence[Record]) -> pd.DataFrame:
    return frames.spans_frame(loaded(records), TEXTS)


def benchmark_frame(
    splits: Mapping[str, Sequence[str]] = SPLITS,
    texts: Mapping[str, str] = BENCHMARK_TEXTS,
    patients: Mapping[str, str] | None = None,
    replaced: Mapping[str, list[list[int]]] = REPLACED,
) -> pd.DataFrame:
    docs = documents(texts)
    for doc in docs:
        doc.patient_id = (patients or {}).get(doc.doc_id, doc.patient_id)
    return frames.benchmark_frame(splits, document_table(docs), replaced)


# --- running and reading reports --------------------------------------------------------------


def run(
    suite: str,
    frame: pd.DataFrame,
    index: Sequence[str] = ("doc_id",),
    *,
    scope: str | None = None,
    stage: str | None = None,
    parameters: Mapping[str, Any] = PARAMETERS,
) -> ValidationReport:
    return run_checks([Check(suite, frame, tuple(index), scope, stage)], parameters)


def outcome(report: ValidationReport, expectation: str, target: str) -> ExpectationOutcome:
    found = [o for o in report.outcomes if o.expectation == expectation and o.target == target]
    assert len(found) == 1, f"{expectation} on {target}: {len(found)} outcomes"
    return found[0]


def failed(report: ValidationReport) -> set[tuple[str, str]]:
    """``(expectation, target)`` of each failed expectation."""
    return {(o.expectation, o.target) for o in report.failed}


def assert_passes(report: ValidationReport, expectation: str, target: str) -> None:
    """The suite passes, this expectation included."""
    assert outcome(report, expectation, target).success
    assert not failed(report), [o.describe() for o in report.failed]


@dataclass(frozen=True, slots=True)
class Caught:
    """What a planted defect must make fail: one expectation, its rows and examples."""

    expectation: str
    target: str
    unexpected: int | None
    examples: list[dict[str, Any]] = field(default_factory=list)
    also: frozenset[tuple[str, str]] = frozenset()


def assert_caught(report: ValidationReport, caught: Caught) -> ExpectationOutcome:
    found = outcome(report, caught.expectation, caught.target)
    assert not found.success
    assert found.error is None
    assert found.severity == "critical"
    assert not report.success
    assert found.unexpected_count == caught.unexpected
    assert found.examples == caught.examples
    assert failed(report) == {(caught.expectation, caught.target)} | caught.also
    return found


#: A residual identifier planted in ``doc-003``.
RESIDUAL = Caught(
    "expect_text_to_have_no_residual_identifiers",
    "text, replaced",
    1,
    [{"doc_id": "doc-003"}],
)


CLEAN_RUNS: dict[str, Callable[[], ValidationReport]] = {
    "documents": lambda: run("documents", documents_frame(), scope="pseudonymised"),
    "records": lambda: run("records", records_frame(predictions()), RECORD_INDEX),
    "spans": lambda: run("spans", spans_frame(predictions()), SPAN_INDEX),
    "labels": lambda: run(
        "labels",
        frames.labels_frame(loaded(classifications())),
        RECORD_INDEX,
        parameters=LABEL_PARAMETERS,
    ),
    "gold": lambda: run(
        "gold", frames.gold_frame(loaded(gold_records()), ANNOTATION_KEYS), RECORD_INDEX
    ),
    "gold_labels": lambda: run(
        "gold_labels", frames.gold_labels_frame(loaded(gold_records())), RECORD_INDEX
    ),
    "benchmark": lambda: run("benchmark", benchmark_frame(), scope="pseudonymised"),
}


class CleanReports:
    """Each suite run on the clean data once, when a test first asks for it."""

    def __init__(self) -> None:
        self._reports: dict[str, ValidationReport] = {}

    def __getitem__(self, suite: str) -> ValidationReport:
        if suite not in self._reports:
            self._reports[suite] = CLEAN_RUNS[suite]()
        return self._reports[suite]


@pytest.fixture(scope="module")
def clean() -> CleanReports:
    return CleanReports()


@pytest.mark.parametrize(
    "suite",
    [name for name in CLEAN_RUNS],
)
def test_clean_data_passes_the_suite(suite: str, clean: CleanReports) -> None:
    report = clean[suite]
    assert report.outcomes
    assert not failed(report), [o.describe() for o in report.failed]
    assert all(o.error is None for o in report.outcomes)
    assert report.success


def test_sha256_expectation_runs_on_clean_documents(clean: CleanReports) -> None:
    found = outcome(clean["documents"], "expect_column_pair_values_to_match_sha256", "text, sha256")
    assert found.success
    assert found.unexpected_count == 0


def test_an_expectation_that_cannot_run_says_why() -> None:
    frame = records_frame(predictions()).drop(columns=["doc_length"])
    report = run("records", frame, RECORD_INDEX)
    found = outcome(report, "expect_column_values_to_not_be_null", "doc_length")
    assert not found.success and found.unexpected_count is None
    assert found.error is not None and "doc_length" in found.error
    assert "error" in found.describe()


# --- documents --------------------------------------------------------------------------------


def _with(which: str, /, **changes: Any) -> Callable[[list[Document]], None]:
    """A change to the document ``which``; a new ``text`` gets its own (correct) ``sha256``."""
    if "text" in changes:
        changes.setdefault("sha256", text_sha256(changes["text"]))

    def change(docs: list[Document]) -> None:
        for i, doc in enumerate(docs):
            if doc.doc_id == which:
                docs[i] = replace(doc, **changes)

    return change


LONG = TEXTS["doc-003"] + " Suites opératoires simples, sortie à J2, revue à un mois." * 3
assert len(LONG) > PARAMETERS["max_chars"]

DOCUMENT_DEFECTS = [
    pytest.param(
        _with("doc-004", doc_id="doc-001"),
        Caught(
            "expect_column_values_to_be_unique",
            "doc_id",
            2,
            [{"doc_id": "doc-001"}, {"doc_id": "doc-001"}],
        ),
        id="duplicate-doc-id",
    ),
    pytest.param(
        _with("doc-002", text="  \n\t "),
        Caught("expect_column_values_to_match_regex", "text", 1, [{"doc_id": "doc-002"}]),
        id="blank-text",
    ),
    pytest.param(
        _with("doc-002", text=""),
        Caught(
            "expect_column_values_to_match_regex",
            "text",
            1,
            [{"doc_id": "doc-002"}],
            also=frozenset({("expect_column_value_lengths_to_be_between", "text")}),
        ),
        id="empty-text",
    ),
    pytest.param(
        _with("doc-003", text=LONG),
        Caught("expect_column_value_lengths_to_be_between", "text", 1, [{"doc_id": "doc-003"}]),
        id="text-longer-than-max-chars",
    ),
    pytest.param(
        _with("doc-003", doc_type="compte_rendu"),
        Caught("expect_column_values_to_be_in_set", "doc_type", 1, [{"doc_id": "doc-003"}]),
        id="unknown-doc-type",
    ),
    pytest.param(
        _with("doc-002", site="chu-est"),
        Caught("expect_column_values_to_be_in_set", "site", 1, [{"doc_id": "doc-002"}]),
        id="unknown-site",
    ),
    pytest.param(
        _with("doc-003", text=TEXTS["doc-003"] + f" Tél : {PHONE}."),
        Caught(
            "expect_text_to_have_no_residual_identifiers",
            "text, replaced",
            1,
            [{"doc_id": "doc-003"}],
        ),
        id="residual-phone-in-pseudonymised-documents",
    ),
]


def _documents_report(change: Callable[[list[Document]], None]) -> ValidationReport:
    docs = documents()
    change(docs)
    return run("documents", documents_frame(docs), scope="pseudonymised")


@pytest.mark.parametrize(("change", "caught"), DOCUMENT_DEFECTS)
def test_documents_suite_catches(
    change: Callable[[list[Document]], None], caught: Caught, clean: CleanReports
) -> None:
    assert_passes(clean["documents"], caught.expectation, caught.target)
    assert_caught(_documents_report(change), caught)


def test_documents_suite_catches_sha256_not_matching_text(
    clean: CleanReports,
) -> None:
    edited = TEXTS["doc-002"].replace("45 ans", "46 ans")
    report = _documents_report(_with("doc-002", text=edited, sha256=text_sha256(TEXTS["doc-002"])))
    assert_passes(clean["documents"], "expect_column_pair_values_to_match_sha256", "text, sha256")
    assert_caught(
        report,
        Caught(
            "expect_column_pair_values_to_match_sha256",
            "text, sha256",
            1,
            [{"doc_id": "doc-002"}],
        ),
    )


def test_missing_patient_id_is_only_a_warning(clean: CleanReports) -> None:
    assert_passes(clean["documents"], "expect_column_values_to_not_be_null", "patient_id")
    report = _documents_report(_with("doc-003", patient_id=None))
    found = outcome(report, "expect_column_values_to_not_be_null", "patient_id")
    assert not found.success
    assert found.severity == "warning"
    assert found.unexpected_count == 1
    assert found.examples == [{"doc_id": "doc-003"}]
    assert found not in report.critical_failures
    assert report.to_dict()["failed_warning"] == 1
    assert report.success and not report.critical_failures


# --- spans ------------------------------------------------------------------------------------


def _span_change(
    doc_id: str, surface: str, make: Callable[[Span, str], Span]
) -> Callable[[list[Record]], None]:
    """Replace the span ``surface`` of ``doc_id`` by ``make(span, document text)``."""

    def change(records: list[Record]) -> None:
        for record in records:
            if record.doc_id != doc_id:
                continue
            for i, s in enumerate(record.spans):
                if s.text == surface:
                    record.spans[i] = make(s, TEXTS[doc_id])
                    return
        raise AssertionError(f"{surface!r} is not a span of {doc_id}")

    return change


def _offsets(start: int, end: int) -> Callable[[Span, str], Span]:
    """New offsets, the span text kept equal to Python's slice (only bounds are wrong)."""
    return lambda s, text: replace(s, start=start, end=end, text=text[start:end])


LEROY = TEXTS["doc-003"].index("LEROY")
DUPONT = TEXTS["doc-001"].index(NAME)

SPAN_DEFECTS = [
    pytest.param(
        _span_change("doc-003", "LEROY", _offsets(LEROY, len(TEXTS["doc-003"]) + 5)),
        Caught(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "doc_length, end",
            1,
            [{"doc_id": "doc-003", "start": LEROY, "end": len(TEXTS["doc-003"]) + 5, "record": 3}],
        ),
        id="span-end-beyond-document",
    ),
    pytest.param(
        _span_change("doc-003", "LEROY", _offsets(LEROY, LEROY)),
        Caught(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "end, start",
            1,
            [{"doc_id": "doc-003", "start": LEROY, "end": LEROY, "record": 3}],
        ),
        id="span-start-equals-end",
    ),
    pytest.param(
        _span_change("doc-003", "LEROY", _offsets(LEROY + 5, LEROY)),
        Caught(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "end, start",
            1,
            [{"doc_id": "doc-003", "start": LEROY + 5, "end": LEROY, "record": 3}],
        ),
        id="span-start-after-end",
    ),
    pytest.param(
        _span_change("doc-001", "Jean", _offsets(-2, 4)),
        Caught(
            "expect_column_values_to_be_between",
            "start",
            1,
            [{"doc_id": "doc-001", "start": -2, "end": 4, "record": 1}],
        ),
        id="span-negative-start",
    ),
    pytest.param(
        _span_change("doc-001", NAME, lambda s, _: replace(s, text="DUPOND")),
        Caught(
            "expect_span_text_to_match_document",
            "start, end, text, doc_text",
            1,
            [{"doc_id": "doc-001", "start": DUPONT, "end": DUPONT + 6, "record": 1}],
        ),
        id="span-text-not-the-document-slice",
    ),
    pytest.param(
        _span_change("doc-001", NAME, _offsets(DUPONT - 1, DUPONT + 6)),
        Caught(
            "expect_column_values_to_match_regex",
            "text",
            1,
            [{"doc_id": "doc-001", "start": DUPONT - 1, "end": DUPONT + 6, "record": 1}],
        ),
        id="span-with-white-space-around",
    ),
    pytest.param(
        _span_change("doc-002", "MARTIN", lambda s, _: replace(s, label="PATIENT")),
        Caught(
            "expect_column_values_to_be_in_label_set",
            "label",
            1,
            [{"doc_id": "doc-002", **at("doc-002", "MARTIN"), "record": 2}],
        ),
        id="unknown-span-label",
    ),
    pytest.param(
        _span_change(
            "doc-001",
            "Jean",
            lambda s, text: replace(
                s, end=DUPONT + 6, label="NOM", text=text[s.start : DUPONT + 6]
            ),
        ),
        Caught(
            "expect_spans_not_to_overlap",
            "record, start, end",
            1,
            [{"doc_id": "doc-001", "start": DUPONT, "end": DUPONT + 6, "record": 1}],
        ),
        id="overlapping-spans-in-one-record",
    ),
    pytest.param(
        _span_change("doc-004", "Claire", lambda s, _: replace(s, score=1.5)),
        Caught(
            "expect_column_values_to_be_between",
            "score",
            1,
            [{"doc_id": "doc-004", **at("doc-004", "Claire"), "record": 4}],
        ),
        id="score-above-one",
    ),
    pytest.param(
        _span_change("doc-004", "Claire", lambda s, _: replace(s, score=-0.2)),
        Caught(
            "expect_column_values_to_be_between",
            "score",
            1,
            [{"doc_id": "doc-004", **at("doc-004", "Claire"), "record": 4}],
        ),
        id="score-below-zero",
    ),
]


@pytest.mark.parametrize(("change", "caught"), SPAN_DEFECTS)
def test_spans_suite_catches(
    change: Callable[[list[Record]], None], caught: Caught, clean: CleanReports
) -> None:
    records = predictions()
    change(records)
    assert_passes(clean["spans"], caught.expectation, caught.target)
    assert_caught(run("spans", spans_frame(records), SPAN_INDEX), caught)


def test_overlapping_spans_of_two_annotators_are_not_flagged() -> None:
    """Two experts annotating ``doc-001`` alike: same spans, two records (two lines)."""
    first, second = predictions()[0], predictions()[0]
    first.origin, second.origin = "annotator:a", "annotator:b"
    annotations = [first, second]
    keys = ["ls:101", "ls:102"]
    report = run_checks(
        [
            Check("records", records_frame(annotations, keys), RECORD_INDEX, stage="annotations"),
            Check("spans", spans_frame(annotations), SPAN_INDEX, stage="annotations"),
        ],
        PARAMETERS,
    )
    assert outcome(report, "expect_spans_not_to_overlap", "record, start, end").success
    assert report.success and not report.failed


def test_overlapping_spans_in_one_annotation_are_only_a_warning() -> None:
    records = predictions()
    _span_change("doc-001", NAME, lambda s, text: replace(s, start=10, text=text[10 : s.end]))(
        records
    )
    report = run("spans", spans_frame(records), SPAN_INDEX, stage="annotations")
    found = outcome(report, "expect_spans_not_to_overlap", "record, start, end")
    assert not found.success and found.severity == "warning"
    assert found.examples == [{"doc_id": "doc-001", "start": 10, "end": DUPONT + 6, "record": 1}]
    assert report.success


# --- records ----------------------------------------------------------------------------------


def _missing_document(records: list[Record]) -> None:
    records.append(Record("doc-999", PSEUDO, "rules-v1", spans=[Span(0, 7, "NOM", "Patient")]))


def _other_use_case(records: list[Record]) -> None:
    records[2].use_case = ONCO


def _second_prediction(records: list[Record]) -> None:
    records.append(replace(records[1], origin="rules-v2"))


RECORD_DEFECTS = [
    pytest.param(
        _missing_document,
        Caught(
            "expect_column_values_to_not_be_null",
            "doc_length",
            1,
            [{"doc_id": "doc-999", "record": 5}],
        ),
        id="record-of-a-missing-document",
    ),
    pytest.param(
        _other_use_case,
        Caught(
            "expect_column_values_to_be_in_set",
            "use_case",
            1,
            [{"doc_id": "doc-003", "record": 3}],
        ),
        id="record-of-another-use-case",
    ),
    pytest.param(
        _second_prediction,
        Caught(
            "expect_column_values_to_be_unique",
            "key",
            2,
            [{"doc_id": "doc-002", "record": 2}, {"doc_id": "doc-002", "record": 5}],
        ),
        id="two-predictions-for-one-document",
    ),
]


@pytest.mark.parametrize(("change", "caught"), RECORD_DEFECTS)
def test_records_suite_catches(
    change: Callable[[list[Record]], None], caught: Caught, clean: CleanReports
) -> None:
    records = predictions()
    change(records)
    assert_passes(clean["records"], caught.expectation, caught.target)
    assert_caught(run("records", records_frame(records), RECORD_INDEX), caught)


def test_spans_of_a_missing_document_are_left_to_the_records_suite() -> None:
    records = predictions()
    _missing_document(records)
    report = run("spans", spans_frame(records), SPAN_INDEX)
    assert all(o.error is None for o in report.outcomes)
    bounds = outcome(report, "expect_column_pair_values_a_to_be_greater_than_b", "doc_length, end")
    assert bounds.success and bounds.unexpected_count == 0


# --- document labels --------------------------------------------------------------------------


LABEL_DEFECTS = [
    pytest.param(
        ["partial_response", "rechute"],
        Caught(
            "expect_column_values_to_be_in_label_set",
            "label",
            1,
            [{"doc_id": "doc-001", "record": 1}],
        ),
        id="unknown-document-label",
    ),
    pytest.param(
        ["progression", "stable_disease", "progression"],
        Caught(
            "expect_compound_columns_to_be_unique",
            "record, label",
            2,
            [{"doc_id": "doc-001", "record": 1}, {"doc_id": "doc-001", "record": 1}],
        ),
        id="label-repeated-in-a-record",
    ),
]


@pytest.mark.parametrize(("labels", "caught"), LABEL_DEFECTS)
def test_labels_suite_catches(labels: list[str], caught: Caught, clean: CleanReports) -> None:
    records = classifications()
    records[0].labels = labels
    report = run(
        "labels",
        frames.labels_frame(loaded(records)),
        RECORD_INDEX,
        parameters=LABEL_PARAMETERS,
    )
    assert_passes(clean["labels"], caught.expectation, caught.target)
    assert_caught(report, caught)


# --- gold -------------------------------------------------------------------------------------


def _provenance(index: int, **changes: Any) -> Callable[[list[Record]], None]:
    def change(records: list[Record]) -> None:
        records[index].provenance.update(changes)

    return change


def _low_agreement(records: list[Record]) -> None:
    for record, agreement in zip(records, (0.5, 0.4, None, 0.6), strict=True):
        record.provenance["agreement"] = agreement


GOLD_DEFECTS = [
    pytest.param(
        _provenance(1, annotations=[]),
        Caught(
            "expect_column_values_to_be_between",
            "sources",
            1,
            [{"doc_id": "doc-002", "record": 2}],
        ),
        id="gold-without-sources",
    ),
    pytest.param(
        _provenance(3, annotations=["ls:107", "ls:999"]),
        Caught(
            "expect_column_pair_values_to_be_equal",
            "sources_found, sources",
            1,
            [{"doc_id": "doc-004", "record": 4}],
        ),
        id="gold-citing-a-missing-annotation",
    ),
    pytest.param(
        _provenance(0, rule="majority"),
        Caught(
            "expect_column_values_to_be_in_set", "rule", 1, [{"doc_id": "doc-001", "record": 1}]
        ),
        id="gold-unknown-rule",
    ),
    pytest.param(
        _low_agreement,
        Caught("expect_column_mean_to_be_between", "agreement", None),
        id="gold-mean-agreement-below-threshold",
    ),
]


@pytest.mark.parametrize(("change", "caught"), GOLD_DEFECTS)
def test_gold_suite_catches(
    change: Callable[[list[Record]], None], caught: Caught, clean: CleanReports
) -> None:
    records = gold_records()
    change(records)
    report = run("gold", frames.gold_frame(loaded(records), ANNOTATION_KEYS), RECORD_INDEX)
    assert_passes(clean["gold"], caught.expectation, caught.target)
    found = assert_caught(report, caught)
    if caught.unexpected is None:
        assert found.observed_value == pytest.approx(0.5)


def test_gold_mean_agreement_ignores_single_annotations(
    clean: CleanReports,
) -> None:
    found = outcome(clean["gold"], "expect_column_mean_to_be_between", "agreement")
    assert found.observed_value == pytest.approx((0.9 + 0.6 + 0.85) / 3, abs=1e-4)


def test_gold_labels_suite_catches_a_label_share_outside_bounds(
    clean: CleanReports,
) -> None:
    records = gold_records()
    for record in records:
        record.spans = [s for s in record.spans if s.label != "PRENOM"]
    report = run("gold_labels", frames.gold_labels_frame(loaded(records)), RECORD_INDEX)
    caught = Caught("expect_column_value_shares_to_be_between", "label", None)
    assert_passes(clean["gold_labels"], caught.expectation, caught.target)
    found = assert_caught(report, caught)
    assert found.observed_value["NOM"] == 0.5  # above 0.45
    assert "PRENOM" not in found.observed_value  # below 0.05


# --- benchmark --------------------------------------------------------------------------------


def _nir(valid: bool) -> str:
    body = "2640769123045"
    key = nir_key(body) if valid else f"{(int(nir_key(body)) + 1) % 97:02d}"
    nir = f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key}"
    assert nir_key_is_valid(nir) is valid
    return nir


def _residual(extra: str) -> Mapping[str, str]:
    return BENCHMARK_TEXTS | {"doc-003": f"{TEXTS['doc-003']} {extra}"}


BENCHMARK_DEFECTS = [
    pytest.param(
        {"patients": {"doc-003": "pat-02"}},
        Caught(
            "expect_column_values_to_have_one_value_per_group",
            "patient_id, split",
            3,
            [{"doc_id": "doc-002"}, {"doc_id": "doc-004"}, {"doc_id": "doc-003"}],
        ),
        id="patient-in-two-splits",
    ),
    pytest.param(
        {"splits": SPLITS | {"train": [*SPLITS["train"], *SPLITS["dev"]], "dev": []}},
        Caught("expect_column_value_shares_to_be_between", "split", None),
        id="split-shares-outside-bounds",
    ),
    pytest.param(
        {"splits": SPLITS | {"test": [*SPLITS["test"], "doc-001"]}},
        Caught(
            "expect_column_values_to_be_unique",
            "doc_id",
            2,
            [{"doc_id": "doc-001"}, {"doc_id": "doc-001"}],
            also=frozenset(
                {("expect_column_values_to_have_one_value_per_group", "patient_id, split")}
            ),
        ),
        id="document-in-two-splits",
    ),
    pytest.param(
        {"texts": _residual("Joignable au 07 98 76 54 32.")},
        RESIDUAL,
        id="residual-phone",
    ),
    pytest.param(
        {"texts": _residual("Contact : paul.leroy@exemple.fr")},
        RESIDUAL,
        id="residual-email",
    ),
    pytest.param(
        {"texts": _residual(f"NIR : {_nir(valid=True)}.")},
        RESIDUAL,
        id="residual-nir-with-valid-key",
    ),
    pytest.param(
        {"texts": _residual("IPP : 8012345678")},
        RESIDUAL,
        id="residual-ipp-after-its-cue",
    ),
]


@pytest.mark.parametrize(("planted", "caught"), BENCHMARK_DEFECTS)
def test_benchmark_suite_catches(
    planted: dict[str, Any], caught: Caught, clean: CleanReports
) -> None:
    report = run("benchmark", benchmark_frame(**planted), scope="pseudonymised")
    assert_passes(clean["benchmark"], caught.expectation, caught.target)
    found = assert_caught(report, caught)
    if caught.target == "split":
        assert found.observed_value == {"train": 0.8, "test": 0.2}  # no dev: below 0.05


def _phone_doc() -> tuple[Mapping[str, str], list[int]]:
    texts = _residual("Joignable au 07 98 76 54 32.")
    phone = "07 98 76 54 32"
    start = texts["doc-003"].index(phone)
    return texts, [start, start + len(phone)]


def test_phone_covered_by_a_surrogate_is_not_residual() -> None:
    texts, surrogate = _phone_doc()
    report = run(
        "benchmark",
        benchmark_frame(texts=texts, replaced=REPLACED | {"doc-003": [surrogate]}),
        scope="pseudonymised",
    )
    assert outcome(report, RESIDUAL.expectation, RESIDUAL.target).success
    assert report.success and not report.failed


def test_nir_with_an_invalid_key_is_not_residual() -> None:
    report = run(
        "benchmark",
        benchmark_frame(texts=_residual(f"NIR : {_nir(valid=False)}.")),
        scope="pseudonymised",
    )
    assert outcome(report, RESIDUAL.expectation, RESIDUAL.target).success
    assert report.success and not report.failed


def test_residual_identifiers_are_searched_in_pseudonymised_documents_too() -> None:
    texts, surrogate = _phone_doc()
    docs = documents({k: v for k, v in texts.items() if k in TEXTS})
    report = run("documents", documents_frame(docs), scope="pseudonymised")
    assert_caught(report, RESIDUAL)
    covered = frames.documents_frame(document_table(docs), REPLACED | {"doc-003": [surrogate]})
    assert not failed(run("documents", covered, scope="pseudonymised"))


@pytest.mark.parametrize("suite", ["documents", "benchmark"])
def test_residual_identifier_expectation_is_dropped_for_raw_text(suite: str) -> None:
    texts, _ = _phone_doc()
    if suite == "documents":
        frame = documents_frame(documents({k: v for k, v in texts.items() if k in TEXTS}))
    else:
        frame = benchmark_frame(texts=texts)
    report = run(suite, frame, scope="raw")
    assert report.outcomes
    assert RESIDUAL.expectation not in {o.expectation for o in report.outcomes}
    assert not failed(report)


# --- privacy ----------------------------------------------------------------------------------


def _leaky_checks() -> list[Check]:
    """A span whose text is not the slice and a residual phone, both in ``doc-001``."""
    records = predictions()
    _span_change("doc-001", NAME, lambda s, _: replace(s, text="DUPOND"))(records)
    # the phone of doc-001 is no surrogate any more
    docs = frames.documents_frame(document_table(documents()), {})
    return [
        Check("spans", spans_frame(records), SPAN_INDEX),
        Check("documents", docs, ("doc_id",), scope="pseudonymised"),
    ]


SECRETS = (NAME, "DUPOND", PHONE, "Jean", "12/03/1950")


def _assert_leaky_failures(report: ValidationReport) -> None:
    assert outcome(
        report, "expect_span_text_to_match_document", "start, end, text, doc_text"
    ).examples
    assert outcome(report, RESIDUAL.expectation, RESIDUAL.target).examples == [
        {"doc_id": "doc-001"}
    ]


def test_report_json_holds_no_document_or_span_text() -> None:
    report = run_checks(_leaky_checks(), PARAMETERS)
    _assert_leaky_failures(report)
    dumped = json.dumps(report.to_dict(), ensure_ascii=False)
    assert "doc-001" in dumped
    for secret in SECRETS:
        assert secret not in dumped
    described = "\n".join(o.describe() for o in report.failed)
    assert "doc-001" in described
    assert not [s for s in SECRETS if s in described]


def _html_files(folder: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(folder.rglob("*.html")):
        yield path, path.read_text(encoding="utf-8")


def test_data_docs_hold_no_document_text(tmp_path: Path) -> None:
    report = run_checks(_leaky_checks(), PARAMETERS, data_docs=tmp_path / "docs")
    _assert_leaky_failures(report)
    assert report.data_docs == str(tmp_path / "docs" / "index.html")
    pages = list(_html_files(tmp_path / "docs"))
    assert Path(report.data_docs) in {p for p, _ in pages}
    assert any("validations" in p.parts for p, _ in pages)
    leaks = [(p.name, s) for p, html in pages for s in SECRETS if s in html]
    assert not leaks


def test_data_docs_name_the_failing_doc_id(tmp_path: Path) -> None:
    run_checks(_leaky_checks(), PARAMETERS, data_docs=tmp_path / "docs")
    validations = [html for p, html in _html_files(tmp_path / "docs") if "validations" in p.parts]
    assert validations
    assert any("doc-001" in html for html in validations)


# --- CIM-10 coding: codes of the ATIH list, one principal diagnosis marked on its evidence ----

CODING = "icd10_coding"
CODING_PARAMETERS = PARAMETERS | {
    "labels": [],
    "vocabulary": "curation.cim10:codes",
    "use_cases": [CODING],
}
#: A coded letter: "HTA" (I10) and "diabète de type 2" (E119), the diabetes is the DP.
CODED = "Lettre de liaison : diabète de type 2 déséquilibré, HTA ancienne."


def coded_record(labels: Sequence[str] = ("E119", "I10")) -> Record:
    """The letter coded E119 (DP, on its evidence) and I10 (DAS)."""
    diabetes = CODED.index("diabète de type 2")
    hta = CODED.index("HTA")
    spans = [
        Span(diabetes, diabetes + 17, "E119", "diabète de type 2"),
        Span(hta, hta + 3, "I10", "HTA"),
    ]
    roles = [{"span": 0, "role": "DP"}, {"span": 1, "role": "DAS"}]
    return Record(
        "doc-c", CODING, "annotator:1", spans=spans, labels=list(labels), attributes=roles
    )


def coding_reports(record: Record) -> ValidationReport:
    records = loaded([record])
    return run_checks(
        [
            Check("labels", frames.labels_frame(records), RECORD_INDEX),
            Check("principal", frames.principal_frame(records, ("DP", "DAS")), RECORD_INDEX),
        ],
        CODING_PARAMETERS,
    )


def test_coded_record_passes_the_vocabulary_and_principal_checks() -> None:
    report = coding_reports(coded_record())
    assert report.success, [o.describe() for o in report.failed]
    assert {o.expectation for o in report.outcomes} >= {
        "expect_column_values_to_be_in_label_set",
        "expect_column_values_to_be_between",
    }


def test_a_code_outside_the_atih_list_is_caught() -> None:
    record = coded_record(labels=("E119", "I10", "E999"))
    caught = Caught(
        "expect_column_values_to_be_in_label_set",
        "label",
        1,
        [{"doc_id": "doc-c", "record": 1}],
    )
    assert_caught(coding_reports(record), caught)


def _two_principals(record: Record) -> None:
    record.attributes[1]["role"] = "DP"


def _no_principal(record: Record) -> None:
    record.attributes[0]["role"] = "DAS"


def _principal_not_first(record: Record) -> None:
    record.labels = ["I10", "E119"]


def _evidence_of_an_unlisted_code(record: Record) -> None:
    record.spans[1] = replace(record.spans[1], label="I119")


PRINCIPAL_DEFECTS = [
    pytest.param(
        _two_principals,
        Caught(
            "expect_column_values_to_be_between", "marked", 1, [{"doc_id": "doc-c", "record": 1}]
        ),
        id="two-codes-marked-DP",
    ),
    pytest.param(
        _no_principal,
        Caught(
            "expect_column_values_to_be_between", "marked", 1, [{"doc_id": "doc-c", "record": 1}]
        ),
        id="no-code-marked-DP",
    ),
    pytest.param(
        _principal_not_first,
        Caught(
            "expect_column_values_to_be_in_set",
            "marked_first",
            1,
            [{"doc_id": "doc-c", "record": 1}],
        ),
        id="DP-not-first",
    ),
    pytest.param(
        _evidence_of_an_unlisted_code,
        Caught(
            "expect_column_values_to_be_between",
            "unlisted_evidence",
            1,
            [{"doc_id": "doc-c", "record": 1}],
        ),
        id="evidence-of-a-code-not-retained",
    ),
]


@pytest.mark.parametrize(("change", "caught"), PRINCIPAL_DEFECTS)
def test_principal_suite_catches(change: Callable[[Record], None], caught: Caught) -> None:
    record = coded_record()
    change(record)
    assert_caught(coding_reports(record), caught)


def test_a_missing_principal_is_only_a_warning_in_annotations() -> None:
    record = coded_record()
    _no_principal(record)
    check = Check(
        "principal",
        frames.principal_frame(loaded([record]), ("DP", "DAS")),
        RECORD_INDEX,
        stage="annotations",
    )
    report = run_checks([check], CODING_PARAMETERS)
    assert report.success
    assert [o.severity for o in report.failed] == ["warning"]


def test_evidence_of_two_codes_may_overlap_but_spans_of_a_span_use_case_may_not() -> None:
    record = coded_record()
    inner = CODED.index("diabète")
    record.spans.append(Span(inner, inner + 7, "E785", "diabète"))  # inside the E119 evidence
    frame = frames.spans_frame(loaded([record]), {"doc-c": CODED})
    as_evidence = run_checks([Check("spans", frame, SPAN_INDEX, kind="labels")], CODING_PARAMETERS)
    assert as_evidence.success
    assert "expect_spans_not_to_overlap" not in {o.expectation for o in as_evidence.outcomes}
    as_spans = run_checks([Check("spans", frame, SPAN_INDEX, kind="spans")], CODING_PARAMETERS)
    assert ("expect_spans_not_to_overlap", "record, start, end") in failed(as_spans)
