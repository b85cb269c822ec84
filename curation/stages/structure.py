"""Stage ``structure``: one row per patient from document-level results, and trial
pre-screening on it (``curation structure oncology [--source gold|predicted]``).

Reads the ``extraction`` and ``response`` records of ``structure.<name>`` (gold:
``data/gold/<use_case>.jsonl``; predicted: ``data/preannotations/<use_case>.jsonl``) and the
pseudonymised document table (``doc_id`` -> ``patient_id``, ``created_at``), and writes to
``output`` (default ``data/structured/<name>/``):

``patients.parquet`` / ``patients.csv``
    one row per patient: site, histology, grade, TNM at diagnosis, metastatic, the latest
    status of each biomarker (``biomarker_HER2_status``...), treatments and responses, each
    with its evidence (``doc_id``, offsets, date); CSV lists are JSON strings;
``timeline.parquet`` / ``timeline.csv``
    one row per fact: patient_id, date, doc_id, kind, value, status, result, start, end;
``screening.json`` / ``screening.md``
    per criterion: candidates with the evidence of every clause, excluded patients with the
    clause that excluded them (value differs, or unknown for lack of evidence);

and ``reports/structure/<name>/evaluation.json`` (DVC metrics, numbers only): the table's
fill counts and, when the synthetic patient truth exists, the accuracy against it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curation import paths
from curation.io import InputError, atomic_writer, read_records, write_json
from curation.models.oncology.biomarkers import canonical_marker
from curation.settings import Params, StructureSettings
from curation.structure.criteria import Screener
from curation.structure.evaluation import evaluate, read_truth
from curation.structure.patients import (
    TIMELINE_SCHEMA,
    DocumentInfo,
    Patient,
    build_patients,
    markers_of,
    parse_date,
    patient_row,
    table_schema,
    timeline_rows,
)

SOURCES = ("gold", "predicted")
MAX_LISTED = 200  # excluded patients listed per criterion in screening.md


@dataclass(slots=True)
class StructureSummary:
    """What ``run`` built: patients, filled fields, candidates per criterion, accuracy."""

    name: str
    source: str
    patients: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    build: dict[str, int] = field(default_factory=dict)
    criteria: dict[str, dict[str, int]] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None
    output: str = ""

    def render(self) -> str:
        lines = [
            f"structure {self.name} ({self.source}): {self.patients} patients -> {self.output}",
            "  filled: " + ", ".join(f"{k} {v}" for k, v in self.filled.items()),
        ]
        skipped = {k: v for k, v in self.build.items() if v and k != "records"}
        if skipped:
            lines.append("  set aside: " + ", ".join(f"{k} {v}" for k, v in skipped.items()))
        for name, counts in self.criteria.items():
            lines.append(
                f"  {name}: {counts['candidates']} candidates, excluded {counts['differs']} "
                f"(value differs) + {counts['unknown']} (unknown)"
            )
        ev = self.evaluation
        if ev is None:
            lines.append("  no patient truth: accuracy not computed")
            return "\n".join(lines)
        pts = ev["patients"]
        lines.append(
            f"  vs truth: {pts['matched']}/{pts['truth']} patients matched, "
            f"{pts['missing']} missing, {pts['extra']} extra"
        )
        fields = ", ".join(f"{k} {v['accuracy']}" for k, v in ev["fields"].items())
        lines.append(f"  accuracy: {fields}")
        tr, rs = ev["treatments"], ev["responses"]
        lines.append(
            f"  biomarker status {ev['biomarkers']['micro']['accuracy']}; treatments F1 "
            f"{tr['f1']} (P {tr['precision']} R {tr['recall']}); responses sequence "
            f"{rs['sequence_accuracy']}, last {rs['last_response_accuracy']}"
        )
        return "\n".join(lines)


def records_path(use_case: str, source: str) -> Path:
    """Gold or predicted records of a use case."""
    return paths.gold(use_case) if source == "gold" else paths.preannotations(use_case)


def read_documents(path: Path) -> dict[str, DocumentInfo]:
    """``doc_id`` -> patient and date, from the document table (the text is never read)."""
    if not path.exists():
        raise InputError(f"{path}: no such file; run `curation pseudonymise` or fix the path")
    names = pq.read_schema(path).names
    missing = [c for c in ("doc_id", "patient_id", "created_at") if c not in names]
    if missing:
        raise InputError(f"{path}: the document table lacks columns {missing}")
    columns = pq.read_table(path, columns=["doc_id", "patient_id", "created_at"]).to_pydict()
    return {
        doc_id: DocumentInfo(patient, parse_date(created))
        for doc_id, patient, created in zip(
            columns["doc_id"], columns["patient_id"], columns["created_at"], strict=True
        )
    }


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def write_table(rows: list[dict[str, Any]], schema: pa.Schema, stem: Path) -> None:
    """``<stem>.parquet`` and ``<stem>.csv`` (lists and structs as JSON strings), atomically."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    partial = stem.with_name(f".{stem.name}.parquet.partial")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), partial)
    partial.replace(stem.with_suffix(".parquet"))
    with atomic_writer(stem.with_suffix(".csv")) as handle:
        writer = csv.writer(handle)
        writer.writerow(schema.names)
        for row in rows:
            writer.writerow([_cell(row.get(name)) for name in schema.names])


def filled(patients: list[Patient]) -> dict[str, int]:
    """Patients with a value, per field."""
    return {
        "diagnosis_date": sum(p.diagnosis is not None for p in patients),
        "site": sum(p.site is not None for p in patients),
        "histology": sum(p.histology is not None for p in patients),
        "grade": sum(p.grade is not None for p in patients),
        "tnm": sum(p.tnm is not None for p in patients),
        "metastatic": sum(p.metastatic is not None for p in patients),
        "biomarkers": sum(bool(p.biomarkers) for p in patients),
        "treatments": sum(bool(p.treatments) for p in patients),
        "responses": sum(bool(p.responses) for p in patients),
    }


def screening_markdown(name: str, source: str, screens: dict[str, dict[str, Any]]) -> str:
    """A readable summary: per criterion, candidates with evidence and why others were not."""
    lines = [f"# Pré-screening `{name}` ({source})", ""]
    for criterion, screen in screens.items():
        counts = screen["counts"]
        lines += [f"## {criterion}", "", screen["description"], ""]
        lines += [f"{i + 1}. `{c}`" for i, c in enumerate(screen["clauses"])] + [""]
        lines.append(
            f"{screen['patients']} patients: **{counts['candidates']} candidates**, "
            f"{counts['differs']} excluded (value differs), {counts['unknown']} excluded "
            "(unknown: no evidence)."
        )
        lines.append("")
        if screen["candidates"]:
            lines += ["| candidate | evidence (doc_id [start:end]) |", "| --- | --- |"]
            for row in screen["candidates"]:
                refs = sorted(
                    {
                        f"{e['doc_id']} [{e['start']}:{e['end']}]"
                        for clause in row["clauses"]
                        for e in clause["evidence"]
                    }
                )
                lines.append(f"| {row['patient_id']} | {', '.join(refs) or '-'} |")
            lines.append("")
        if screen["excluded"]:
            lines += [
                "| clause | excluded: value differs | excluded: unknown |",
                "| --- | --- | --- |",
            ]
            for i in range(len(screen["clauses"])):
                rows = [e for e in screen["excluded"] if e["clause_index"] == i]
                differs = sum(e["why"] == "differs" for e in rows)
                lines.append(f"| {i + 1} | {differs} | {len(rows) - differs} |")
            lines += ["", "| excluded | clause | why |", "| --- | --- | --- |"]
            for row in screen["excluded"][:MAX_LISTED]:
                lines.append(
                    f"| {row['patient_id']} | {row['clause_index'] + 1} | {row['reason']} |"
                )
            if len(screen["excluded"]) > MAX_LISTED:
                more = len(screen["excluded"]) - MAX_LISTED
                lines.append(f"| ... {more} more in screening.json | | |")
            lines.append("")
    return "\n".join(lines)


def run(name: str, params: Params, *, source: str | None = None) -> StructureSummary:
    """Build the patient table and timeline, screen the criteria, score against the truth."""
    if name not in params.structure:
        known = ", ".join(sorted(params.structure)) or "none"
        raise KeyError(f"no structure {name!r} in params.yaml (structure.<name>); known: {known}")
    settings: StructureSettings = params.structure[name]
    chosen = source or settings.source
    if chosen not in SOURCES:
        raise ValueError(f"--source must be one of {', '.join(SOURCES)}, not {chosen!r}")
    screener = Screener(canonical_marker)
    screener.check_markers(settings.criteria)
    truth = Path(settings.truth or Path(params.generate.answer_keys) / "patients" / f"{name}.jsonl")
    if settings.truth and not truth.exists():
        raise InputError(f"{truth}: no such file (structure.{name}.truth); fix or unset it")
    documents = read_documents(Path(settings.documents))
    patients, report = build_patients(
        read_records(records_path(settings.extraction, chosen)),
        read_records(records_path(settings.response, chosen)),
        documents,
        canonical_marker,
    )
    output = Path(settings.output or paths.DATA / "structured" / name)
    markers = markers_of(patients)
    write_table(
        [patient_row(p, markers) for p in patients], table_schema(markers), output / "patients"
    )
    write_table(list(timeline_rows(patients)), TIMELINE_SCHEMA, output / "timeline")
    screens = {c: screener.screen(c, crit, patients) for c, crit in settings.criteria.items()}
    write_json(
        output / "screening.json",
        {"structure": name, "source": chosen, "patients": len(patients), "criteria": screens},
    )
    with atomic_writer(output / "screening.md") as handle:
        handle.write(screening_markdown(name, chosen, screens))
    summary = StructureSummary(name, chosen, len(patients), filled(patients), report.to_dict())
    summary.criteria = {c: s["counts"] for c, s in screens.items()}
    summary.output = str(output)
    metrics: dict[str, Any] = {"patients": len(patients), "filled": summary.filled}
    if truth.exists():
        summary.evaluation = evaluate(patients, read_truth(truth), canonical_marker)
        metrics |= {"truth": summary.evaluation}
    write_json(
        Path(settings.reports or paths.REPORTS / "structure" / name) / "evaluation.json", metrics
    )
    return summary
