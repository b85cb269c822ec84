"""Stage ``preannotate``: run a use case's pre-annotator over a document table or a file.

In the pipeline it reads the use case's document table (raw for pseudonymisation,
pseudonymised for the others; only the document types the use case declares, e.g. the CRH
and letters that CIM-10 coding reads) and writes ``data/preannotations/<use_case>.jsonl``. Outside
the pipeline it runs on any JSONL file whose lines hold ``doc_id`` and ``text``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from curation import paths
from curation.io import iter_texts, write_records
from curation.progress import progress_bar
from curation.schema import Record
from curation.settings import Params
from curation.usecases import get
from curation.usecases.base import UseCase, resolve


@dataclass(slots=True)
class PreannotateSummary:
    use_case: str
    origin: str
    output: str
    documents: int = 0
    seconds: float = 0.0
    labels: Counter[str] = field(default_factory=Counter)

    def render(self) -> str:
        rate = self.documents / self.seconds if self.seconds else 0.0
        spans = sum(self.labels.values())
        return "\n".join(
            [
                f"preannotated {self.documents} documents for {self.use_case} with "
                f"{self.origin} in {self.seconds:.1f} s ({rate:,.1f} docs/s) -> {self.output}",
                f"  {spans} predictions: "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.labels.items())),
            ]
        )


def documents_path(use_case_id: str, params: Params) -> Path:
    """The document table a use case is pre-annotated from, in the pipeline."""
    if get(use_case_id).documents == "raw":
        return Path(params.ingest.output)
    return paths.PSEUDONYMISED_DOCUMENTS


def task_texts(use_case: UseCase, table: Path) -> Iterator[tuple[str, str]]:
    """``(doc_id, text)`` of the documents of ``table`` that are tasks of ``use_case``: its
    ``doc_types``, then its selector (treatment response: the reports assessing one)."""
    texts = iter_texts(table, doc_types=use_case.doc_types)
    selects = use_case.selects()
    if selects is None:
        return texts
    return ((doc_id, text) for doc_id, text in texts if selects(text))


def run(
    use_case_id: str,
    params: Params,
    *,
    input_path: Path | None = None,
    output: Path | None = None,
    progress: bool = True,
) -> PreannotateSummary:
    """Pre-annotate ``input_path`` (default: the use case's document table)."""
    use_case = get(use_case_id)
    if use_case.preannotator is None:
        raise ValueError(f"use case {use_case_id} declares no pre-annotator")
    source = input_path or documents_path(use_case_id, params)
    target = output or paths.preannotations(use_case_id)
    started = time.perf_counter()
    preannotator = resolve(use_case.preannotator)(
        use_case, params.preannotate, paths.model_dir(use_case_id)
    )
    summary = PreannotateSummary(use_case.id, preannotator.origin, str(target))

    def counted() -> Iterator[Record]:
        # the use case's documents in the pipeline; a user's file: every line
        texts = iter_texts(source) if input_path is not None else task_texts(use_case, source)
        docs = progress_bar(texts, desc=f"preannotate {use_case.id}", enabled=progress)
        for record in preannotator.predict(docs):
            summary.documents += 1
            summary.labels.update(span.label for span in record.spans)
            summary.labels.update(record.labels)
            yield record

    write_records(target, counted())
    summary.seconds = time.perf_counter() - started
    return summary
