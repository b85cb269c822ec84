"""Stage ``generate``: Parquet by row groups following the Document contract, answer keys."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from curation.schema import DOCUMENT_SCHEMA, text_sha256
from curation.settings import GenerateSettings
from curation.stages import generate
from curation.usecases import REGISTRY


def run(tmp_path: Path, **overrides: object) -> generate.GenerateSummary:
    settings = GenerateSettings(
        n_documents=120,
        row_group_size=50,
        output=str(tmp_path / "synthetic" / "documents.parquet"),
        answer_keys=str(tmp_path / "answer_key"),
        **overrides,  # type: ignore[arg-type]
    )
    return generate.run(settings, progress=False)


def test_writes_documents_and_answer_keys(tmp_path: Path) -> None:
    summary = run(tmp_path)
    parquet = pq.ParquetFile(tmp_path / "synthetic" / "documents.parquet")
    assert parquet.schema_arrow == DOCUMENT_SCHEMA
    assert parquet.metadata.num_rows == 120 == summary.documents
    assert parquet.metadata.num_row_groups == 3  # streamed, not written at once
    table = parquet.read().to_pylist()
    assert all(row["sha256"] == text_sha256(row["text"]) for row in table)
    doc_ids = {row["doc_id"] for row in table}

    files = {p.stem for p in (tmp_path / "answer_key").glob("*.jsonl")}
    assert files == set(REGISTRY)
    lines = (tmp_path / "answer_key" / "pseudonymisation.jsonl").read_text().splitlines()
    assert len(lines) == 120
    for use_case in REGISTRY:
        path = tmp_path / "answer_key" / f"{use_case}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert record["use_case"] == use_case and record["doc_id"] in doc_ids
    assert summary.patients > 10
    assert "120 documents" in summary.render()


def test_rerun_gives_identical_files(tmp_path: Path) -> None:
    run(tmp_path / "a")
    run(tmp_path / "b")
    for rel in ["synthetic/documents.parquet", "answer_key/oncology_extraction.jsonl"]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_stale_answer_keys_are_removed(tmp_path: Path) -> None:
    (tmp_path / "answer_key").mkdir()
    (tmp_path / "answer_key" / "retired_use_case.jsonl").write_text("{}\n")
    run(tmp_path)
    assert not (tmp_path / "answer_key" / "retired_use_case.jsonl").exists()
