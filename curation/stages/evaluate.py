"""``curation evaluate <use_case> --benchmark <rev> --predictions FILE``: score a system.

Loads the benchmark's split at a git revision (``<use_case>@vX.Y.Z``) of this or another
repository through DVC (:mod:`curation.benchmarks`), scores a predictions file in the shared
record format (one JSON object per document: ``doc_id``, ``use_case`` and the result fields;
see ``benchmarks/README.md``) or a baseline released with the benchmark, with the use case's
metric and bootstrap intervals per label, prints the scores and writes them as JSON.
Predictions for documents outside the split are ignored; a split document without a
prediction counts as predicted empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation.benchmarks import Benchmark, baseline, load
from curation.io import read_records, write_json
from curation.metrics import summary
from curation.release.baselines import score_baseline
from curation.schema import Record
from curation.usecases import get


def run(
    use_case_id: str,
    *,
    rev: str | None,
    repo: str | None = None,
    predictions: Path | None = None,
    baseline_name: str | None = None,
    split: str = "test",
    output: Path | None = None,
) -> dict[str, Any]:
    """Score and return the metrics (written to ``output`` when given)."""
    if (predictions is None) == (baseline_name is None):
        raise ValueError("give either --predictions FILE or --baseline NAME")
    use_case = get(use_case_id)
    bench = load(use_case_id, rev=rev, repo=repo, split=split)
    predicted: list[Record] = (
        list(read_records(predictions)) if predictions else baseline(bench, str(baseline_name))
    )
    others = sorted({r.use_case for r in predicted} - {use_case_id})
    if others:
        raise ValueError(f"predictions of use case(s) {others} given for {use_case_id}")
    metrics, _ = score_baseline(use_case, bench.records, predicted, baseline_name or "system")
    metrics["benchmark"] = _describe(bench)
    metrics["system"] = str(predictions) if predictions else f"baseline:{baseline_name}"
    if output is not None:
        write_json(output, metrics)
    return metrics


def _describe(bench: Benchmark) -> dict[str, Any]:
    return {
        "use_case": bench.use_case,
        "version": bench.version,
        "split": bench.split,
        "rev": bench.rev,
        "repo": bench.repo,
        "documents": len(bench.records),
    }


def render(metrics: dict[str, Any]) -> str:
    """Scores with their intervals, then per label (or per code)."""
    bench = metrics["benchmark"]
    head = (
        f"{metrics['system']} on {bench['use_case']} v{bench['version']} {bench['split']} "
        f"({bench['documents']} documents, rev {bench['rev'] or 'workspace'})"
    )
    lines = [head]
    main = summary.main_scores(metrics)
    if main:
        lines.append(
            f"  {summary.headline(metrics)}: P {main.get('precision')} R {main.get('recall')} "
            f"F1 {main.get('f1')} [{main.get('low')}, {main.get('high')}]"
        )
    for key in ("dp_accuracy", "dp_category_accuracy", "accuracy", "kappa"):
        if key in metrics:
            lines.append(f"  {key.replace('_', ' ')} {metrics[key]}")
    lines += summary.structure_lines(metrics)
    for k, row in (metrics.get("at_k") or {}).items():
        lines.append(f"  precision@{k} {row['precision']}  recall@{k} {row['recall']}")
    for label, row in summary.label_scores(metrics).items():
        lines.append(
            f"  {label:<16} P {row.get('precision')}  R {row.get('recall')}  F1 {row.get('f1')}"
            + (f" [{row.get('low')}, {row.get('high')}]" if row.get("low") is not None else "")
        )
    if "leak" in metrics:
        lines.append(f"  leak rate {metrics['leak']['leak_rate']}")
    return "\n".join(lines)
