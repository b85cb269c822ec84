"""Baselines of a release: metrics, confusion matrix and error examples, without text.

A baseline is a predictions file in the shared record format, scored on a benchmark split
with the use case's metric (:mod:`curation.metrics.scoring`, bootstrap intervals included).
For span use cases it adds a confusion matrix over labels (``O``: no span) and error examples
identified by ``doc_id`` and offsets:

``wrong label``   same offsets, another label;
``boundary``      same label, overlapping offsets;
``missed``        a gold span no prediction overlaps with its label;
``spurious``      a prediction no gold span overlaps with its label.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from curation.io import read_records
from curation.metrics.summary import label_scores
from curation.schema import Record, Span
from curation.usecases.base import UseCase, resolve

NONE = "O"


def _pairs(
    gold: Sequence[Span], predicted: Sequence[Span]
) -> list[tuple[Span | None, Span | None]]:
    """Gold and predicted spans paired: exact offsets first, then overlaps; others alone."""
    left, right = list(gold), list(predicted)
    pairs: list[tuple[Span | None, Span | None]] = []
    for g in list(left):
        same = next((p for p in right if (p.start, p.end) == (g.start, g.end)), None)
        if same is not None:
            pairs.append((g, same))
            left.remove(g)
            right.remove(same)
    for g in list(left):
        near = next(
            (p for p in right if p.label == g.label and p.start < g.end and g.start < p.end), None
        )
        if near is not None:
            pairs.append((g, near))
            left.remove(g)
            right.remove(near)
    return pairs + [(g, None) for g in left] + [(None, p) for p in right]


def _kind(g: Span | None, p: Span | None) -> str | None:
    if g is None:
        return "spurious"
    if p is None:
        return "missed"
    if (g.start, g.end) == (p.start, p.end):
        return None if g.label == p.label else "wrong label"
    return "boundary"


def span_errors(
    gold: Sequence[Record], predicted: Sequence[Record], labels: Sequence[str], baseline: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The confusion matrix (gold rows, predicted columns) and the error examples.

    >>> jean, tel = Span(0, 4, "NOM", "Jean"), Span(9, 13, "TEL", "0612")
    >>> g = [Record("d", "u", "gold", spans=[jean, tel])]
    >>> p = [Record("d", "u", "model", spans=[Span(0, 4, "PRENOM", "Jean")])]
    >>> matrix, errors = span_errors(g, p, ["NOM", "PRENOM", "TEL"], "model")
    >>> matrix["matrix"][0], [e["kind"] for e in errors]
    ([0, 1, 0, 0], ['wrong label', 'missed'])
    """
    order = [*labels, NONE]
    counts: Counter[tuple[str, str]] = Counter()
    errors: list[dict[str, Any]] = []
    by_doc = {r.doc_id: r.spans for r in predicted}
    for record in gold:
        for g, p in _pairs(record.spans, by_doc.get(record.doc_id, [])):
            counts[(g.label if g else NONE, p.label if p else NONE)] += 1
            kind = _kind(g, p)
            if kind is None:
                continue
            where = g or p
            assert where is not None
            errors.append(
                {
                    "baseline": baseline,
                    "doc_id": record.doc_id,
                    "start": where.start,
                    "end": where.end,
                    "gold": g.label if g else None,
                    "predicted": p.label if p else None,
                    "kind": kind,
                }
            )
    matrix = [[counts[(a, b)] for b in order] for a in order]
    return {"labels": order, "matrix": matrix}, errors


def score_baseline(
    use_case: UseCase,
    gold: Sequence[Record],
    predicted: Sequence[Record],
    name: str,
    groups: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Metrics of one baseline on ``gold`` (with a confusion matrix for spans) and its errors."""
    if use_case.metric is None:
        raise ValueError(f"use case {use_case.id} declares no metric")
    wanted = {r.doc_id for r in gold}
    mine = [r for r in predicted if r.doc_id in wanted]
    metrics: dict[str, Any] = resolve(use_case.metric)(gold, mine, use_case, groups)
    metrics["documents"] = len(gold)
    metrics["predicted_documents"] = len(mine)
    errors: list[dict[str, Any]] = []
    if use_case.kind == "spans":
        metrics["confusion"], errors = span_errors(gold, mine, use_case.labels, name)
    return metrics, errors


def per_label_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{label, precision, recall, f1}`` rows (strict span scores, or per code), for DVC plots."""
    per_label = label_scores(metrics)
    return [
        {"label": label, **{k: row.get(k) for k in ("precision", "recall", "f1")}}
        for label, row in per_label.items()
    ]


def score_files(
    use_case: UseCase, test: list[Record], files: dict[str, Path], data: Path
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    scored: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    wanted = {r.doc_id for r in test}
    for name, path in files.items():
        if not path.exists() or not test:
            continue
        predicted = [r for r in read_records(path) if r.doc_id in wanted]
        target = data / "baselines" / f"{name}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(r.to_json() + "\n" for r in predicted), encoding="utf-8")
        scored[name], found = score_baseline(use_case, test, predicted, name)
        errors += found
    return scored, errors


def write_reports(folder: Path, scored: dict[str, dict[str, Any]]) -> None:
    out = folder / "baselines"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, metrics in scored.items():
        (out / f"{name}.json").write_text(json.dumps(metrics, indent=2) + "\n")
        rows = per_label_rows(metrics)
        (out / f"{name}_per_label.json").write_text(json.dumps(rows, indent=2) + "\n")
        if "confusion" in metrics:
            labels, matrix = metrics["confusion"]["labels"], metrics["confusion"]["matrix"]
            cells = [
                {"actual": a, "predicted": p}
                for i, a in enumerate(labels)
                for j, p in enumerate(labels)
                for _ in range(matrix[i][j])
            ]
            (out / f"{name}_confusion.json").write_text(json.dumps(cells) + "\n")
