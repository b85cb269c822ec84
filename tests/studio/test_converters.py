"""Records <-> Label Studio tasks and results: pure conversions on constructed JSON, no server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from curation.schema import Document, Record, Span
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.studio.converters import annotation_to_record, prediction_score, record_to_task
from curation.studio.layout import CONFIG_DIR, ConversionError
from curation.studio.validation import validate_results
from curation.usecases import REGISTRY, UseCase, get

PSEUDO = get("pseudonymisation")
ONCO = get("oncology_extraction")
ICD = get("icd10_coding")
SUMMARY = get("clinical_summary")
MCQ = get("mcq_generation")

TEXT = "Patient vu par le Dr Martin le 12/03/2024 pour une maladie de Crohn."
ROW = Document(doc_id="doc-1", text=TEXT).to_row()


def span(text: str, fragment: str, label: str, score: float = 1.0) -> Span:
    """The span of the first ``fragment`` in ``text``."""
    start = text.index(fragment)
    return Span(start, start + len(fragment), label, fragment, score)


def annotate(task: dict[str, Any], result: list[dict[str, Any]], user: Any = 42) -> dict[str, Any]:
    """An exported annotation of ``task``, through JSON as Label Studio stores it."""
    return json.loads(json.dumps({"id": 9, "completed_by": user, "result": result}))


def content(record: Record) -> dict[str, Any]:
    """What a round trip must keep: everything but provenance and model scores."""
    out = record.to_dict()
    out.pop("origin")
    for item in out.get("spans", []):
        item.pop("score")
    return out


def with_roles(use_case: UseCase, record: Record) -> Record:
    """``record`` as an annotation returns it: each evidence span with its role (DP: the
    evidence of the first label), when the use case has roles and the record none."""
    if not use_case.roles or record.attributes:
        return record
    principal = record.labels[0] if record.labels else None
    roles = [
        use_case.roles[0] if s.label == principal else use_case.roles[-1] for s in record.spans
    ]
    out = Record.from_dict(record.to_dict())
    out.attributes = [{"span": i, "role": role} for i, role in enumerate(roles)]
    return out


@pytest.fixture(scope="module")
def synthetic() -> dict[str, list[tuple[dict[str, Any], Record]]]:
    """Document rows and answer keys of 200 synthetic documents, by use case."""
    out: dict[str, list[tuple[dict[str, Any], Record]]] = {}
    for item in generate_documents(GenerateSettings(n_documents=200)):
        for use_case, record in item.records.items():
            out.setdefault(use_case, []).append((item.document.to_row(), record))
    return out


@pytest.mark.parametrize("use_case", list(REGISTRY.values()), ids=list(REGISTRY))
def test_round_trip_of_synthetic_records(
    synthetic: dict[str, list[tuple[dict[str, Any], Record]]], use_case: UseCase
) -> None:
    pairs = synthetic[use_case.id]
    assert pairs, f"the generator wrote no {use_case.id} record"
    for row, record in pairs:
        task = json.loads(json.dumps(record_to_task(use_case, row, record, model_version="m-1")))
        assert task["data"]["doc_id"] == record.doc_id
        assert task["data"]["use_case_version"] == use_case.version
        (prediction,) = task["predictions"]
        assert validate_results(use_case, prediction["result"], task=task) == []
        back = annotation_to_record(use_case, task, annotate(task, prediction["result"]))
        assert back.origin == "annotator:42"
        assert content(back) == content(with_roles(use_case, record)), record.doc_id
        assert all(s.score == 1.0 for s in back.spans)


def test_task_carries_the_document_and_the_prediction() -> None:
    spans = [span(TEXT, "Martin", "NOM", 0.97), span(TEXT, "12/03/2024", "DATE", 0.41)]
    record = Record("doc-1", PSEUDO.id, "regles", spans=spans)
    task = record_to_task(PSEUDO, ROW, record, model_version="regles-1")
    assert task["data"] == {
        "text": TEXT,
        "doc_id": "doc-1",
        "sha256": ROW["sha256"],
        "use_case": "pseudonymisation",
        "use_case_version": "v1",
    }
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "regles-1"
    assert prediction["score"] == pytest.approx(0.41) == prediction_score(record)
    first = prediction["result"][0]
    assert (first["from_name"], first["to_name"], first["type"]) == ("phi", "text", "labels")
    assert first["value"] == {"start": 21, "end": 27, "text": "Martin", "labels": ["NOM"]}
    assert len({item["id"] for item in prediction["result"]}) == 2


def test_task_without_prediction_and_empty_prediction() -> None:
    assert "predictions" not in record_to_task(PSEUDO, ROW, None, model_version="m")
    empty = Record("doc-1", PSEUDO.id, "regles")
    assert record_to_task(PSEUDO, ROW, empty, model_version="m")["predictions"][0]["score"] == 1.0


def test_tag_names_are_read_from_the_config(tmp_path: Path) -> None:
    xml = (CONFIG_DIR / PSEUDO.config_name).read_text(encoding="utf-8")
    xml = xml.replace('name="phi"', 'name="identifiants"').replace('toName="text"', 'toName="doc"')
    xml = xml.replace('name="text" value="$text"', 'name="doc" value="$contenu"')
    (tmp_path / PSEUDO.config_name).write_text(xml, encoding="utf-8")
    record = Record("doc-1", PSEUDO.id, "regles", spans=[span(TEXT, "Martin", "NOM")])
    task = record_to_task(PSEUDO, ROW, record, model_version="m", config_dir=tmp_path)
    assert task["data"]["contenu"] == TEXT and "text" not in task["data"]
    item = task["predictions"][0]["result"][0]
    assert (item["from_name"], item["to_name"]) == ("identifiants", "doc")
    back = annotation_to_record(PSEUDO, task, annotate(task, [item]), config_dir=tmp_path)
    assert back.spans[0].label == "NOM"


def test_prediction_that_does_not_fit_is_refused() -> None:
    wrong = Record("doc-1", PSEUDO.id, "m", spans=[Span(21, 27, "PERSONNE", "Martin")])
    with pytest.raises(ConversionError, match="unknown label 'PERSONNE'"):
        record_to_task(PSEUDO, ROW, wrong, model_version="m")
    shifted = Record("doc-1", PSEUDO.id, "m", spans=[Span(22, 28, "NOM", "Martin")])
    with pytest.raises(ConversionError, match="22-28") as error:
        record_to_task(PSEUDO, ROW, shifted, model_version="m")
    assert "Martin" not in str(error.value)
    summary = Record("doc-1", PSEUDO.id, "m", sections={"motif": "chute"})
    with pytest.raises(ConversionError, match="no place for sections"):
        record_to_task(PSEUDO, ROW, summary, model_version="m")


# --- validation ---------------------------------------------------------------------------------


def good_region() -> dict[str, Any]:
    value = {"start": 21, "end": 27, "text": "Martin", "labels": ["NOM"]}
    return {"id": "r1", "from_name": "phi", "to_name": "text", "type": "labels", "value": value}


def test_validation_accepts_a_good_region() -> None:
    assert validate_results(PSEUDO, [good_region()], task={"data": ROW}) == []


def test_validation_catches_an_unknown_label() -> None:
    region = good_region()
    region["value"]["labels"] = ["PATIENT"]
    (problem,) = validate_results(PSEUDO, [region])
    assert "unknown label 'PATIENT'" in problem


def test_validation_catches_bad_offsets_without_printing_the_text() -> None:
    beyond = good_region()
    beyond["value"].update(start=60, end=200)
    shifted = good_region()
    shifted["value"].update(start=20, end=26)
    reversed_ = good_region()
    reversed_["value"].update(start=27, end=21)
    problems = validate_results(PSEUDO, [beyond, shifted, reversed_], task={"data": ROW})
    assert len(problems) == 3
    assert "beyond the text" in problems[0] and "20-26" in problems[1]
    assert all(p.startswith("doc_id doc-1: result") for p in problems)
    assert not any("Martin" in p for p in problems)


def test_validation_catches_unknown_names_and_types() -> None:
    unknown = {**good_region(), "from_name": "ner"}
    target = {**good_region(), "to_name": "image"}
    kind = {**good_region(), "type": "choices"}
    problems = validate_results(PSEUDO, [unknown, target, kind])
    assert "unknown from_name 'ner'" in problems[0]
    assert "to_name 'image'" in problems[1]
    assert "type 'choices'" in problems[2]


def test_validation_of_relations_and_per_region_choices() -> None:
    text = "HER2 : négatif (score 0)."
    data = Document(doc_id="doc-2", text=text).to_row()
    marker, result = (
        span(text, "HER2", "BIOMARKER"),
        span(text, "négatif (score 0)", "BIOMARKER_RESULT"),
    )
    record = Record(
        "doc-2",
        ONCO.id,
        "m",
        spans=[marker, result],
        relations=[{"from": 0, "to": 1, "type": "has_result"}],
        attributes=[{"span": 1, "status": "negative"}],
    )
    task = record_to_task(ONCO, data, record, model_version="m")
    results = task["predictions"][0]["result"]
    relation = next(r for r in results if r["type"] == "relation")
    assert relation["labels"] == ["has_result"]
    assert validate_results(ONCO, results, task=task) == []
    broken = [r for r in results if r.get("id") != "s0"]  # the biomarker region is gone
    assert any("from_id 's0'" in p for p in validate_results(ONCO, broken, task=task))
    relation["labels"] = ["treats"]
    assert any("unknown relation 'treats'" in p for p in validate_results(ONCO, results))


# --- annotations --------------------------------------------------------------------------------


def test_annotation_with_a_wrong_text_names_doc_and_offsets() -> None:
    region = good_region()
    region["value"]["text"] = "Dupont"
    task = {"data": ROW}
    with pytest.raises(ConversionError, match=r"doc_id doc-1: .*21-27") as error:
        annotation_to_record(PSEUDO, task, annotate(task, [region]))
    assert "Dupont" not in str(error.value) and "Martin" not in str(error.value)


def test_skipped_task_is_not_gold() -> None:
    task = {"data": ROW}
    skipped = {**annotate(task, []), "was_cancelled": True}
    with pytest.raises(ConversionError, match="doc_id doc-1: annotation 9 was skipped"):
        annotation_to_record(PSEUDO, task, skipped)


def test_annotation_spans_are_sorted_and_relations_follow_them() -> None:
    text = "Ki67 à 30 %, HER2 négatif."
    data = {"data": Document(doc_id="doc-3", text=text).to_row()}

    def region(rid: str, fragment: str, label: str) -> dict[str, Any]:
        s = span(text, fragment, label)
        value = {"start": s.start, "end": s.end, "text": s.text, "labels": [label]}
        return {
            "id": rid,
            "from_name": "entity",
            "to_name": "text",
            "type": "labels",
            "value": value,
        }

    result = [
        region("b", "HER2", "BIOMARKER"),
        region("a", "négatif", "BIOMARKER_RESULT"),
        region("c", "Ki67", "BIOMARKER"),
        region("d", "30 %", "BIOMARKER_RESULT"),
        {"from_id": "a", "to_id": "b", "type": "relation", "direction": "left", "labels": []},
        {"from_id": "c", "to_id": "d", "type": "relation", "direction": "right"},
        {
            "id": "a",
            "from_name": "status",
            "to_name": "text",
            "type": "choices",
            "value": {"start": 18, "end": 25, "text": "négatif", "choices": ["negative"]},
        },
    ]
    record = annotation_to_record(ONCO, data, annotate(data, result, user={"id": 3}))
    assert record.origin == "annotator:3"
    assert [s.text for s in record.spans] == ["Ki67", "30 %", "HER2", "négatif"]
    assert record.relations == [
        {"from": 0, "to": 1, "type": "has_result"},
        {"from": 2, "to": 3, "type": "has_result"},
    ]
    flags = {"negated": False, "hypothetical": False, "family": False}
    assert record.attributes[3] == {"span": 3, **flags, "status": "negative"}
    assert record.attributes[0] == {"span": 0, **flags}


def test_summary_rating_and_mcq_review_are_kept() -> None:
    summary = Record("doc-1", SUMMARY.id, "m", sections={"motif": "Suivi de maladie de Crohn."})
    task = record_to_task(SUMMARY, ROW, summary, model_version="m")
    rating = {"id": "f", "from_name": "factuality", "to_name": "text", "type": "rating"}
    result = [*task["predictions"][0]["result"], {**rating, "value": {"rating": 4}}]
    record = annotation_to_record(SUMMARY, task, annotate(task, result))
    assert record.sections == {"motif": "Suivi de maladie de Crohn."}
    assert record.attributes == [{"factuality": 4}]
    assert content(Record.from_dict(record_to_task_then_back(SUMMARY, record))) == content(record)

    item = {
        "stem": "Quel est le diagnostic le plus probable ?",
        "options": {"A": "maladie de Crohn", "B": "rectocolite hémorragique"},
        "answers": ["A"],
        "explanation": "Atteinte iléale segmentaire.",
    }
    question = Record("doc-1", MCQ.id, "m", items=[item])
    task = record_to_task(MCQ, ROW, question, model_version="m")
    review = [
        {
            "id": "r",
            "from_name": "relevance",
            "to_name": "text",
            "type": "rating",
            "value": {"rating": 2},
        },
        {
            "id": "v",
            "from_name": "verdict",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["rejected"]},
        },
    ]
    record = annotation_to_record(
        MCQ, task, annotate(task, task["predictions"][0]["result"] + review)
    )
    assert record.items == [{**item, "relevance": 2, "verdict": "rejected"}]
    with pytest.raises(ConversionError, match="one item per task"):
        record_to_task(
            MCQ, ROW, Record("doc-1", MCQ.id, "m", items=[item, item]), model_version="m"
        )


def record_to_task_then_back(use_case: UseCase, record: Record) -> dict[str, Any]:
    task = record_to_task(use_case, ROW, record, model_version="m")
    back = annotation_to_record(use_case, task, annotate(task, task["predictions"][0]["result"]))
    return back.to_dict()


def test_no_document_text_in_any_problem(
    synthetic: dict[str, list[tuple[dict[str, Any], Record]]],
) -> None:
    row, record = synthetic["pseudonymisation"][0]
    task = record_to_task(PSEUDO, row, record, model_version="m")
    result = task["predictions"][0]["result"]
    for item in result:
        item["value"]["start"] += 1
    problems = validate_results(PSEUDO, result, task=task)
    assert len(problems) == len(result)
    words = {w for s in record.spans for w in re.findall(r"[^\W\d_]{4,}", s.text)}
    assert not any(w in p for p in problems for w in words)
