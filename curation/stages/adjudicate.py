"""Stage ``adjudicate``: expert annotations -> one gold record per document, conflicts, noise.

Reads ``data/annotations/<use_case>.jsonl`` (``curation pull``), applies the rules of
:mod:`curation.quality.adjudication` with ``adjudicate.quorum`` and ``adjudicate.reviewers``,
and writes:

``data/gold/<use_case>.jsonl``
    one gold record per settled document, with its provenance;
``data/conflicts/<use_case>.jsonl``
    documents the rules could not settle, with the competing versions and the disputed places
    (``curation review <use_case>`` sends them to Label Studio as review tasks);
``reports/quality/<use_case>/adjudication.json``
    DVC metrics: documents per rule, conflicts, and the label-noise summary;
``reports/quality/<use_case>/label_noise.json``
    gold spans or labels that a cross-validated model contradicts with high confidence
    (doc_id, offsets, labels, confidence; never text), for a second look.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation import paths
from curation.io import atomic_writer, write_json, write_records
from curation.quality.adjudication import Adjudicated, adjudicate
from curation.quality.annotations import read_annotations
from curation.quality.frames import load_documents
from curation.quality.noise import label_noise, noise_report, span_noise
from curation.schema import Record
from curation.settings import LabelNoiseSettings, Params
from curation.stages.preannotate import documents_path
from curation.usecases import get
from curation.usecases.base import UseCase


@dataclass(slots=True)
class AdjudicateSummary:
    """What adjudication wrote, for the terminal and DVC metrics."""

    use_case: str
    annotations: int
    result: Adjudicated
    noise: dict[str, Any] | None
    skipped: list[str]
    orphans: list[str]

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {"annotations": self.annotations} | self.result.summary()
        out["skipped_documents"] = len(self.skipped)  # every annotation of them cancelled
        out["orphan_documents"] = len(self.orphans)  # annotated, no longer in the table
        if self.noise is not None:
            out["label_noise"] = {k: v for k, v in self.noise.items() if k != "flags"}
        return out

    def render(self) -> str:
        m = self.result.summary()
        rules = ", ".join(f"{k} {v}" for k, v in m["by_rule"].items())
        lines = [
            f"adjudicate {self.use_case}: {self.annotations} annotations of {m['documents']} "
            f"documents -> {m['gold']} gold ({rules}), {m['conflicts']} conflicts "
            f"-> {paths.conflicts(self.use_case)}"
        ]
        if self.orphans:
            lines.append(
                f"  {len(self.orphans)} annotated documents are no longer in the document table "
                f"(set aside, no gold), e.g. doc_ids {', '.join(self.orphans[:5])}"
            )
        if self.skipped:
            lines.append(
                f"  {len(self.skipped)} documents only skipped by the experts (no gold), e.g. "
                f"doc_ids {', '.join(self.skipped[:5])}"
            )
        if self.noise is not None:
            lines.append(
                f"  label noise: {self.noise['n_flags']} doubtful gold items flagged in "
                f"{self.noise['flagged_documents']} documents -> "
                f"{paths.quality_dir(self.use_case) / 'label_noise.json'}"
            )
        return "\n".join(lines)


def detect_noise(
    gold: list[Record], use_case: UseCase, texts: Mapping[str, str], settings: LabelNoiseSettings
) -> dict[str, Any] | None:
    """The label-noise report of the gold, or ``None`` when off or not applicable."""
    if not settings.enabled or use_case.kind not in ("spans", "labels") or len(gold) < 2:
        return None
    detect = span_noise if use_case.kind == "spans" else label_noise
    # document labels: every code seen in gold (a use case may declare roles, not codes)
    labels = use_case.labels if use_case.kind == "spans" else ()
    flags = detect(
        gold,
        texts,
        labels,
        folds=settings.folds,
        threshold=settings.threshold,
        seed=settings.seed,
    )
    return noise_report(flags, len(gold), settings.folds, settings.threshold)


def run(use_case_id: str, params: Params, *, annotations: Path | None = None) -> AdjudicateSummary:
    """Adjudicate and write gold, conflicts and reports; returns the summary."""
    use_case = get(use_case_id)
    settings = params.adjudicate
    everything = read_annotations(annotations or paths.annotations(use_case_id))
    _, texts = load_documents(documents_path(use_case_id, params))
    pulled = [a for a in everything if a.doc_id in texts]
    orphans = sorted({a.doc_id for a in everything if a.doc_id not in texts})
    result = adjudicate(pulled, use_case, settings.quorum, settings.reviewers)
    write_records(paths.gold(use_case_id), result.gold)
    with atomic_writer(paths.conflicts(use_case_id)) as handle:
        for conflict in result.conflicts:
            handle.write(json.dumps(conflict.to_dict(), ensure_ascii=False) + "\n")
    noise = detect_noise(result.gold, use_case, texts, settings.noise)
    annotated = {a.doc_id for a in pulled if not a.cancelled}
    skipped = sorted({a.doc_id for a in pulled} - annotated)
    summary = AdjudicateSummary(
        use_case_id, sum(not a.cancelled for a in pulled), result, noise, skipped, orphans
    )
    folder = paths.quality_dir(use_case_id)
    write_json(folder / "adjudication.json", summary.metrics())
    write_json(folder / "label_noise.json", noise or {"enabled": False, "flags": []})
    return summary
