"""``curation structure oncology`` end to end on a small synthetic corpus, the generator's
answer keys standing in for predictions and its patient truth for the reference."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from curation.cli import app
from curation.io import InputError, write_records
from curation.schema import DOCUMENT_SCHEMA
from curation.settings import GenerateSettings, load_params
from curation.sources.synthetic.corpus import Generated, generate_documents
from curation.stages import structure as stage

PARAMS = Path(__file__).parents[2] / "params.yaml"
OUT = Path("data/structured/oncology")
METRICS = Path("reports/structure/oncology/evaluation.json")


def _corpus(root: Path, n_documents: int, *, truth: bool = True) -> list[Generated]:
    """Documents, answer keys as predictions and patient truth under ``root``."""
    items = list(generate_documents(GenerateSettings(seed=11, n_documents=n_documents)))
    table = pa.Table.from_pylist([g.document.to_row() for g in items], schema=DOCUMENT_SCHEMA)
    (root / "data/pseudonymised").mkdir(parents=True)
    pq.write_table(table, root / "data/pseudonymised/documents.parquet")
    for use_case in ("oncology_extraction", "oncology_response"):
        records = [g.records[use_case] for g in items if use_case in g.records]
        write_records(root / f"data/preannotations/{use_case}.jsonl", records)
    if truth:
        path = root / "data/raw/answer_key/patients/oncology.jsonl"
        path.parent.mkdir(parents=True)
        lines = [json.dumps(g.patient, ensure_ascii=False) for g in items if g.patient]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return items


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _numbers(v)]
    return [value]


def test_stage_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    items = _corpus(tmp_path, 120)
    truth_ids = {g.patient["patient_id"] for g in items if g.patient}
    assert truth_ids, "the corpus should hold oncology patients"

    result = CliRunner().invoke(
        app, ["structure", "oncology", "--source", "predicted", "--params", str(PARAMS)]
    )
    assert result.exit_code == 0, result.output
    assert "patients" in result.output and "her2_metastatic_no_anti_her2" in result.output

    for name in ("patients", "timeline"):
        assert (OUT / f"{name}.parquet").exists() and (OUT / f"{name}.csv").exists()
    patients = pd.read_parquet(OUT / "patients.parquet")
    as_csv = pd.read_csv(OUT / "patients.csv")
    assert list(patients["patient_id"]) == list(as_csv["patient_id"])
    assert set(truth_ids) <= set(patients["patient_id"])
    assert patients["patient_id"].is_unique
    assert {"site", "site_doc_id", "site_start", "biomarker_HER2_status"} <= set(patients.columns)
    first = json.loads(as_csv["treatments"].dropna().iloc[0])
    assert {"treatment", "date", "doc_id", "start", "end"} <= set(first[0])
    timeline = pd.read_parquet(OUT / "timeline.parquet")
    assert set(timeline["kind"]) >= {"site", "histology", "tnm", "biomarker", "treatment"}
    assert len(pd.read_csv(OUT / "timeline.csv")) == len(timeline)

    screening = json.loads((OUT / "screening.json").read_text(encoding="utf-8"))
    for screen in screening["criteria"].values():
        counts = screen["counts"]
        assert counts["candidates"] + counts["differs"] + counts["unknown"] == len(patients)
    assert "## egfr_mutated_lung" in (OUT / "screening.md").read_text(encoding="utf-8")

    metrics = json.loads(METRICS.read_text(encoding="utf-8"))
    assert all(isinstance(v, int | float) for v in _numbers(metrics))  # DVC metrics
    truth = metrics["truth"]
    assert truth["patients"]["missing"] == 0
    for name in ("site", "histology", "grade", "tnm"):  # answer keys as predictions: exact
        assert truth["fields"][name]["accuracy"] == 1.0, name
    assert truth["biomarkers"]["micro"]["accuracy"] == 1.0
    for value in _numbers({k: v for k, v in truth.items() if k != "patients"}):
        assert value >= 0
    for group in ("treatments", "responses"):
        ratios = {k: v for k, v in truth[group].items() if isinstance(v, float)}
        assert all(0 <= v <= 1 for v in ratios.values())
    assert truth["treatments"]["f1"] > 0.8

    outputs = " ".join(
        p.read_text(encoding="utf-8") for p in OUT.iterdir() if p.suffix in (".csv", ".json", ".md")
    )
    names = {
        s.text
        for g in items
        for s in g.records["pseudonymisation"].spans
        if s.label == "NOM" and len(s.text) >= 5
    }
    leaked = [n for n in names if re.search(rf"\b{re.escape(n)}\b", outputs)]
    assert not leaked, "document text (patient or clinician names) in the outputs"


def test_without_truth_and_bad_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _corpus(tmp_path, 30, truth=False)
    params = load_params(PARAMS)
    summary = stage.run("oncology", params, source="predicted")
    assert summary.evaluation is None and summary.patients > 0
    assert "no patient truth" in summary.render()
    assert "truth" not in json.loads(METRICS.read_text(encoding="utf-8"))
    with pytest.raises(InputError, match=r"data/gold/oncology_extraction\.jsonl"):
        stage.run("oncology", params, source="gold")
    with pytest.raises(ValueError, match="--source must be one of gold, predicted"):
        stage.run("oncology", params, source="silver")
    with pytest.raises(KeyError, match="no structure 'radiology'"):
        stage.run("radiology", params)
