"""Which documents become tasks of a use case: its document types, then its selector.

Treatment response reads the imaging and consultation reports that assess a treatment, not the
diagnosis work-up of the same types; push and preannotate take the same documents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.schema import DOCUMENT_SCHEMA
from curation.settings import GenerateSettings, Params
from curation.sources.synthetic.corpus import generate_documents
from curation.stages import score
from curation.stages.preannotate import task_texts
from curation.stages.push import _Inputs
from curation.usecases import REGISTRY, get
from curation.usecases.oncology_response import assesses_response

RESPONSE = get("oncology_response")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, set[str]]:
    """Oncology documents, response predictions copied from the answer key, and the doc_ids
    the answer key gives a response."""
    root = tmp_path_factory.mktemp("selection")
    rows, predictions, assessed = [], [], set()
    settings = GenerateSettings(n_documents=120, seed=11, oncology_share=1.0)
    for item in generate_documents(settings):
        rows.append(item.document.to_row())
        if RESPONSE.id in item.records:
            assessed.add(item.document.doc_id)
            predictions.append(item.records[RESPONSE.id].to_dict())
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), root / "docs.parquet")
    lines = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
    (root / "predictions.jsonl").write_text(lines, encoding="utf-8")
    return root / "docs.parquet", root / "predictions.jsonl", assessed


def test_selector_takes_the_reports_that_assess_a_treatment() -> None:
    assert assesses_response("Indication\nÉvaluation sous FOLFOX.\nRésultats")
    assert assesses_response("Suivi sous immunothérapie par pembrolizumab.")
    assert assesses_response("Maladie stable selon RECIST 1.1.")
    assert not assesses_response("Indication\nBilan d'extension.\nMasse tissulaire de 30 mm.")
    assert not assesses_response("Consultation d'annonce d'un carcinome canalaire infiltrant.")


def test_push_offers_exactly_the_documents_with_a_response(
    corpus: tuple[Path, Path, set[str]],
) -> None:
    documents, predictions, assessed = corpus
    inputs = _Inputs.read(RESPONSE, documents, predictions)
    assert assessed and set(inputs.doc_ids) == assessed
    assert inputs.orphans == 0  # every prediction's document is a task
    kinds = pq.read_table(documents, columns=["doc_id", "doc_type"]).to_pylist()
    imaging = {r["doc_id"] for r in kinds if r["doc_type"] in RESPONSE.doc_types}
    assert assessed < imaging  # the diagnosis work-up of the same types is left out


def test_every_selector_is_resolvable() -> None:
    for use_case in REGISTRY.values():
        selects = use_case.selects()
        assert selects is None or callable(selects), use_case.id


def test_task_texts_are_the_documents_push_offers(corpus: tuple[Path, Path, set[str]]) -> None:
    documents, _, assessed = corpus
    assert {doc_id for doc_id, _ in task_texts(RESPONSE, documents)} == assessed
    extraction = get("oncology_extraction")
    kinds = pq.read_table(documents, columns=["doc_id", "doc_type"]).to_pylist()
    expected = {r["doc_id"] for r in kinds if r["doc_type"] in extraction.doc_types}
    assert {doc_id for doc_id, _ in task_texts(extraction, documents)} == expected


def test_score_reads_the_answer_key_of_the_use_case_documents_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the answer key holds oncology entities of consultations too; the use case reads
    # pathology reports and RCP forms: predictions perfect on those score 1.0, not less
    extraction = get("oncology_extraction")
    monkeypatch.chdir(tmp_path)
    rows, key, predicted = [], [], []
    for item in generate_documents(GenerateSettings(n_documents=80, seed=4, oncology_share=1.0)):
        rows.append(item.document.to_row())
        if extraction.id in item.records:
            line = item.records[extraction.id].to_json() + "\n"
            key.append(line)
            if item.document.doc_type in extraction.doc_types:
                predicted.append(line)
    assert len(predicted) < len(key)
    table = tmp_path / "data/pseudonymised/documents.parquet"
    table.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), table)
    answer_key = tmp_path / "data/pseudonymised/answer_key/oncology_extraction.jsonl"
    answer_key.parent.mkdir(parents=True)
    answer_key.write_text("".join(key), encoding="utf-8")
    preannotated = tmp_path / "data/preannotations/oncology_extraction.jsonl"
    preannotated.parent.mkdir(parents=True)
    preannotated.write_text("".join(predicted), encoding="utf-8")
    metrics = score.run(extraction.id, Params())
    assert metrics["strict"]["micro"]["recall"] == 1.0
    assert metrics["relations"]["strict"]["micro"]["f1"] == 1.0
    # a reference given by hand is taken whole: the consultations' entities are missed
    whole = score.run(extraction.id, Params(), reference=answer_key)
    assert whole["strict"]["micro"]["recall"] < 1.0
