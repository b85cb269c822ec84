"""Each annotator's agreement with the consensus (gold), and who is flagged for feedback."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from curation.metrics.alignment import rounded
from curation.metrics.spans import score_spans
from curation.quality.annotations import Annotated
from curation.schema import Record

#: An annotator is flagged when their F1 with the consensus is below the median minus this.
FLAG_MARGIN = 0.1


def _latest_by_annotator(
    annotations: Sequence[Annotated], consensus: Mapping[str, Record]
) -> dict[str, dict[str, Record]]:
    """annotator -> doc_id -> record (last annotation kept; cancelled, review, no consensus out)."""
    out: dict[str, dict[str, Record]] = defaultdict(dict)
    for annotation in annotations:
        if annotation.cancelled or annotation.review or annotation.doc_id not in consensus:
            continue
        out[annotation.annotator][annotation.doc_id] = annotation.record
    return dict(sorted(out.items()))


def _span_entry(
    records: Mapping[str, Record], consensus: Mapping[str, Record], labels: Sequence[str]
) -> tuple[dict[str, Any], float | None]:
    """One annotator's span agreement with the consensus, and the F1 their flag reads."""
    scores = score_spans([consensus[d] for d in records], records.values(), labels)
    entry = {
        "documents": len(records),
        "exact_f1": rounded(scores.strict.micro.f1),
        "overlap_f1": rounded(scores.partial.micro.f1),
        "exact_precision": rounded(scores.strict.micro.precision),
        "exact_recall": rounded(scores.strict.micro.recall),
    }
    return entry, scores.strict.micro.f1


def _label_entry(
    records: Mapping[str, Record], consensus: Mapping[str, Record]
) -> tuple[dict[str, Any], float | None]:
    """One annotator's label-set agreement with the consensus, and the F1 their flag reads."""
    tp = fp = fn = exact = 0
    for doc_id, record in records.items():
        given, expected = set(record.labels), set(consensus[doc_id].labels)
        tp += len(given & expected)
        fp += len(given - expected)
        fn += len(expected - given)
        exact += given == expected
    total = 2 * tp + fp + fn
    f1 = 2 * tp / total if total else None
    entry = {
        "documents": len(records),
        "f1": rounded(f1),
        "exact_set_accuracy": rounded(exact / len(records)),
    }
    return entry, f1


def annotator_agreement(
    annotations: Sequence[Annotated],
    consensus: Mapping[str, Record],
    kind: str,
    labels: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Each annotator's agreement with the consensus, and a flag for who needs feedback.

    Each annotator is scored on the documents they annotated that have a consensus record
    (their last annotation of a document; cancelled and review annotations left out), the
    consensus serving as gold. ``kind == "spans"``: exact and overlap micro F1 (with exact
    precision and recall: below-median recall means missed spans); ``kind == "labels"``:
    micro F1 over label sets and the share of documents whose label set equals the
    consensus.

    Flag rule: with ``f`` the exact F1 (spans) or label F1 (labels), an annotator is flagged
    when ``f < median(f over annotators) - FLAG_MARGIN`` (0.1). Annotators whose F1 is
    undefined are neither flagged nor counted in the median; ``flag_threshold`` is the
    median minus the margin.

    Raises
    ------
    ValueError
        ``kind`` is neither ``"spans"`` nor ``"labels"``.
    """
    if kind not in ("spans", "labels"):
        raise ValueError(f"kind must be 'spans' or 'labels', got {kind!r}")
    by_annotator = _latest_by_annotator(annotations, consensus)
    scored = {
        name: _span_entry(records, consensus, labels)
        if kind == "spans"
        else _label_entry(records, consensus)
        for name, records in by_annotator.items()
    }
    values = [f1 for _, f1 in scored.values() if f1 is not None]
    threshold = statistics.median(values) - FLAG_MARGIN if values else None
    out = {}
    for name, (entry, f1) in scored.items():
        flag = threshold is not None and f1 is not None and f1 < threshold
        out[name] = entry | {"flag_threshold": rounded(threshold), "flag": flag}
    return out
