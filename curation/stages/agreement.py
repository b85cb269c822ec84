"""Stage ``agreement``: inter-annotator agreement of a use case, as DVC metrics and plots.

Reads ``data/annotations/<use_case>.jsonl`` and the adjudicated gold (the consensus) and
writes ``reports/quality/<use_case>/``:

``agreement.json`` (metrics)
    span use cases: pairwise and pooled span F1, exact and overlap, per label, with bootstrap
    intervals; document-label use cases: Cohen's kappa per pair, Fleiss' kappa and
    Krippendorff's alpha per label and on the principal label; and each annotator's
    agreement with the consensus, ``flag`` set for one who needs feedback;
``agreement_per_label.json`` and ``agreement_per_annotator.json`` (DVC plots)
    rows for bar charts (``dvc plots show``).

Only documents annotated by at least two annotators count for agreement; for agreement with
the consensus only gold settled by consensus or review counts (a document annotated once is
its annotator's own work, agreeing with itself proves nothing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation import paths
from curation.io import read_records, write_json
from curation.quality.agreement import (
    annotator_agreement,
    categorical_agreement,
    choice_ratings,
    multilabel_agreement,
    span_agreement,
)
from curation.quality.annotations import by_document, overlapped, read_annotations
from curation.schema import Record
from curation.settings import Params
from curation.usecases import get


def consensus(gold_path: Path) -> dict[str, Record]:
    """Gold records settled by several annotators or a reviewer (not single annotations)."""
    if not gold_path.exists():
        return {}
    return {r.doc_id: r for r in read_records(gold_path) if r.provenance.get("rule") != "single"}


def run(use_case_id: str, params: Params, *, annotations: Path | None = None) -> dict[str, Any]:
    """Compute agreement, write metrics and plot data; returns the metrics."""
    use_case = get(use_case_id)
    settings = params.agreement
    pulled = read_annotations(annotations or paths.annotations(use_case_id))
    groups = overlapped(by_document(pulled), params.adjudicate.reviewers)
    boot: dict[str, Any] = {
        "n_resamples": settings.n_resamples,
        "seed": settings.seed,
        "confidence": settings.confidence,
    }
    metrics: dict[str, Any] = {
        "use_case": use_case_id,
        "annotations": sum(not a.cancelled for a in pulled),
        "overlapped_documents": len(groups),
    }
    per_label: list[dict[str, Any]] = []
    if use_case.kind == "spans":
        spans = span_agreement(groups, use_case.labels, **boot).to_dict()
        metrics["spans"] = spans
        for label, row in spans["pooled"]["exact"]["per_label"].items():
            overlap = spans["pooled"]["overlap"]["per_label"][label]
            per_label.append({"label": label, "exact_f1": row["f1"], "overlap_f1": overlap["f1"]})
    elif use_case.kind == "labels":
        labels = multilabel_agreement(groups, use_case.labels, **boot)
        metrics["labels"] = {k: v.to_dict() for k, v in labels.items()}
        metrics["principal"] = categorical_agreement(choice_ratings(groups), **boot).to_dict()
        for label, value in metrics["labels"].items():
            per_label.append({"label": label, "fleiss_kappa": value["fleiss_kappa"]["value"]})
    reference = consensus(paths.gold(use_case_id))
    by_annotator = annotator_agreement(pulled, reference, use_case.kind, use_case.labels)
    metrics["annotators"] = by_annotator
    per_annotator = [
        {"annotator": name.removeprefix("annotator:")}
        | {k: v for k, v in row.items() if k in ("exact_f1", "overlap_f1", "f1", "documents")}
        for name, row in by_annotator.items()
    ]
    folder = paths.quality_dir(use_case_id)
    write_json(folder / "agreement.json", metrics)
    write_json(folder / "agreement_per_label.json", per_label)
    write_json(folder / "agreement_per_annotator.json", per_annotator)
    return metrics


def render(metrics: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    lines = [
        f"agreement {metrics['use_case']}: {metrics['annotations']} annotations, "
        f"{metrics['overlapped_documents']} documents with several annotators"
    ]
    if "spans" in metrics:
        pooled = metrics["spans"]["pooled"]
        exact, overlap = pooled["exact"]["micro"], pooled["overlap"]["micro"]
        lines.append(
            f"  span F1 exact {exact['f1']} [{exact.get('low')}, {exact.get('high')}], "
            f"overlap {overlap['f1']} [{overlap.get('low')}, {overlap.get('high')}]"
        )
    if "principal" in metrics:
        p = metrics["principal"]
        lines.append(
            f"  principal label: Fleiss kappa {p['fleiss_kappa']['value']}, "
            f"Krippendorff alpha {p['krippendorff_alpha']['value']}"
        )
    for name, row in metrics["annotators"].items():
        score = row.get("exact_f1", row.get("f1"))
        flag = "  <- needs feedback" if row.get("flag") else ""
        lines.append(f"  {name}: {score} with the consensus on {row['documents']} docs{flag}")
    return "\n".join(lines)
