"""Stage ``generate``: the synthetic French hospital corpus and the answer key of every use case.

Writes ``generate.output`` (Parquet, Document contract, streamed by row groups so that a
million documents take bounded memory) and ``<answer_keys>/<use_case>.jsonl`` (the generator's
own gold, in the record format shared by predictions and gold), and the patient-level truth
of oncology patients (``<answer_keys>/patients/oncology.jsonl``: site, histology, TNM,
biomarker statuses, treatments, responses) that ``curation structure oncology`` is scored on.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from curation.progress import progress_bar
from curation.schema import DOCUMENT_SCHEMA
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases import REGISTRY


@dataclass(slots=True)
class GenerateSummary:
    documents: int = 0
    patients: int = 0
    seconds: float = 0.0
    output: str = ""
    answer_keys: str = ""
    truth_patients: int = 0
    by_doc_type: Counter[str] = field(default_factory=Counter)
    by_use_case: Counter[str] = field(default_factory=Counter)

    def render(self) -> str:
        rate = self.documents / self.seconds if self.seconds else 0.0
        lines = [
            f"generated {self.documents} documents for {self.patients} patients "
            f"in {self.seconds:.1f} s ({rate:,.0f} docs/s) -> {self.output}",
            "  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_doc_type.items())),
            f"  answer keys in {self.answer_keys}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.by_use_case.items())),
            f"  patient-level truth of {self.truth_patients} oncology patients in "
            f"{self.answer_keys}/patients/oncology.jsonl",
        ]
        return "\n".join(lines)


def run(settings: GenerateSettings, *, progress: bool = True) -> GenerateSummary:
    """Generate ``settings.n_documents`` documents and their answer keys (deterministic)."""
    started = time.perf_counter()
    output = Path(settings.output)
    keys_dir = Path(settings.answer_keys)
    output.parent.mkdir(parents=True, exist_ok=True)
    if keys_dir.exists():
        shutil.rmtree(keys_dir)
    keys_dir.mkdir(parents=True)
    partial = output.with_name(output.name + ".partial")
    summary = GenerateSummary(output=str(output), answer_keys=str(keys_dir))
    patients: set[str] = set()
    rows: list[dict[str, str | None]] = []
    with ExitStack() as stack:
        writer = stack.enter_context(pq.ParquetWriter(partial, DOCUMENT_SCHEMA, compression="zstd"))
        keys: dict[str, IO[str]] = {
            uc: stack.enter_context((keys_dir / f"{uc}.jsonl").open("w", encoding="utf-8"))
            for uc in REGISTRY
        }
        (keys_dir / "patients").mkdir()
        truth = stack.enter_context(
            (keys_dir / "patients" / "oncology.jsonl").open("w", encoding="utf-8")
        )

        def flush() -> None:
            writer.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA))
            rows.clear()

        items = generate_documents(settings)
        for item in progress_bar(
            items, total=settings.n_documents, desc="generate", enabled=progress
        ):
            doc = item.document
            rows.append(doc.to_row())
            patients.add(doc.patient_id or "")
            summary.by_doc_type[doc.doc_type] += 1
            for use_case, record in item.records.items():
                keys[use_case].write(record.to_json() + "\n")
                summary.by_use_case[use_case] += 1
            if item.patient is not None:
                truth.write(json.dumps(item.patient, ensure_ascii=False) + "\n")
                summary.truth_patients += 1
            if len(rows) >= settings.row_group_size:
                flush()
        if rows:
            flush()
    partial.replace(output)
    summary.documents = sum(summary.by_doc_type.values())
    summary.patients = len(patients)
    summary.seconds = time.perf_counter() - started
    return summary
