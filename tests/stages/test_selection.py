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
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
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
