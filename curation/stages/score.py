"""Stage ``score``: a use case's predictions against a reference, as DVC metrics.

In the pipeline the reference is the answer key of the use case's documents (the synthetic
generator's gold) and the predictions are the pre-annotations, so every ``dvc repro`` says how
good the pre-annotator is, per label and per document type. Any predictions file in the
shared record format can be scored the same way (``--predictions``, ``--reference``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curation import paths
from curation.io import atomic_writer, read_records
from curation.metrics import summary
from curation.settings import Params
from curation.stages.preannotate import documents_path, task_texts
from curation.usecases import get
from curation.usecases.base import resolve


def reference_path(use_case_id: str, params: Params) -> Path:
    """The answer key matching the documents the use case is pre-annotated from."""
    if get(use_case_id).documents == "raw":
        return paths.answer_key(use_case_id, Path(params.generate.answer_keys))
    return paths.answer_key(use_case_id, paths.DATA / "pseudonymised" / "answer_key")


def run(
    use_case_id: str,
    params: Params,
    *,
    reference: Path | None = None,
    predictions: Path | None = None,
    output: Path | None = None,
) -> dict[str, Any]:
    """Score and write ``reports/<use_case>/preannotation_metrics.json``; returns the metrics."""
    use_case = get(use_case_id)
    if use_case.metric is None:
        raise ValueError(f"use case {use_case_id} declares no metric")
    gold = list(read_records(reference or reference_path(use_case_id, params)))
    predicted = list(read_records(predictions or paths.preannotations(use_case_id)))
    groups: dict[str, str] = {}
    table = documents_path(use_case_id, params)
    if table.exists():
        columns = pq.read_table(table, columns=["doc_id", "doc_type"]).to_pydict()
        groups = dict(zip(columns["doc_id"], columns["doc_type"], strict=True))
        if reference is None and (use_case.doc_types or use_case.selector):
            # the answer key covers every document; the use case's tasks are a subset
            # (oncology extraction reads pathology reports and RCP forms, not consultations)
            tasks = {doc_id for doc_id, _ in task_texts(use_case, table)}
            gold = [record for record in gold if record.doc_id in tasks]
    metrics: dict[str, Any] = resolve(use_case.metric)(gold, predicted, use_case, groups)
    target = output or paths.report_dir(use_case_id) / "preannotation_metrics.json"
    with atomic_writer(target) as handle:
        json.dump(metrics, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    return metrics


def render(use_case_id: str, metrics: dict[str, Any]) -> str:
    if summary.is_class_metrics(metrics):  # one class per document (treatment response)
        main = summary.main_scores(metrics)
        lines = [
            f"{use_case_id}: {summary.headline(metrics)} {main['f1']} "
            f"[{main['low']}, {main['high']}]; accuracy {main['accuracy']}; kappa {main['kappa']}"
        ]
        lines += [
            f"  {label:<18} P {row['precision']}  R {row['recall']}  F1 {row['f1']}"
            for label, row in summary.label_scores(metrics).items()
        ]
        return "\n".join(lines)
    if "strict" not in metrics:  # document codes (CIM-10): micro/category F1, DP, ranking
        micro, at_k = metrics["micro"], metrics.get("at_k", {})
        ranked = ", ".join(f"P@{k} {v['precision']} R@{k} {v['recall']}" for k, v in at_k.items())
        return "\n".join(
            [
                f"{use_case_id}: micro P {micro['precision']} R {micro['recall']} "
                f"F1 {micro['f1']}; macro F1 {metrics['macro']['f1']}; "
                f"category F1 {metrics['category']['f1']}",
                f"  DP accuracy {metrics['dp_accuracy']} "
                f"(category {metrics['dp_category_accuracy']})",
                f"  {ranked}",
            ]
        )
    strict, partial = metrics["strict"]["micro"], metrics["partial"]["micro"]
    lines = [
        f"{use_case_id}: strict micro P {strict['precision']} R {strict['recall']} "
        f"F1 {strict['f1']}; partial F1 {partial['f1']}"
    ]
    if "leak" in metrics:
        lines.append(f"  leak rate {metrics['leak']['leak_rate']} (share of PHI characters left)")
    for label, row in metrics["strict"]["per_label"].items():
        lines.append(f"  {label:<16} P {row['precision']}  R {row['recall']}  F1 {row['f1']}")
    lines += summary.structure_lines(metrics)
    return "\n".join(lines)
