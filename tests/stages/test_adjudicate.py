"""Stage ``adjudicate`` on files: gold, conflicts, what is set aside (never silently dropped)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.schema import DOCUMENT_SCHEMA, Document
from curation.settings import Params
from curation.stages import adjudicate

TEXT = "Vu par le Dr Martin le 12/03/2024."


def annotation(doc_id: str, who: str, number: int, cancelled: bool = False) -> str:
    spans = [] if cancelled else [{"start": 13, "end": 19, "label": "NOM", "text": "Martin"}]
    return json.dumps(
        {
            "doc_id": doc_id,
            "use_case": "pseudonymisation",
            "origin": f"annotator:{who}",
            "spans": spans,
            "annotation": {"id": number, "was_cancelled": cancelled},
        }
    )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    rows = [Document(d, TEXT, patient_id="p1").to_row() for d in ("kept", "skipped")]
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), "data/raw/documents.parquet")
    (tmp_path / "data/annotations").mkdir(parents=True)
    lines = [
        annotation("kept", "a@chu.fr", 1),
        annotation("gone", "a@chu.fr", 2),  # its document left the table
        annotation("skipped", "b@chu.fr", 3, cancelled=True),
    ]
    Path("data/annotations/pseudonymisation.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_orphan_and_skipped_documents_are_set_aside_and_counted(workdir: Path) -> None:
    summary = adjudicate.run("pseudonymisation", Params())
    lines = Path("data/gold/pseudonymisation.jsonl").read_text().splitlines()
    gold = [json.loads(line) for line in lines]
    assert [g["doc_id"] for g in gold] == ["kept"]
    assert gold[0]["provenance"]["rule"] == "single"
    assert gold[0]["provenance"]["annotations"] == ["ls:1"]
    assert Path("data/conflicts/pseudonymisation.jsonl").read_text() == ""
    metrics = json.loads(Path("reports/quality/pseudonymisation/adjudication.json").read_text())
    assert metrics["orphan_documents"] == 1 and metrics["skipped_documents"] == 1
    assert metrics["gold"] == 1 and metrics["by_rule"]["single"] == 1
    said = summary.render()
    assert "gone" in said and "skipped" in said and TEXT not in said
