"""The JSON summary of noise flags: counts per kind and per label, rates, the flags."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from curation.quality.noise.common import OUTSIDE, NoiseFlag


def _concerned(flag: NoiseFlag) -> str:
    """The label a flag is about: the gold one, else the suggested one."""
    return flag.gold or flag.suggested or OUTSIDE


def noise_report(
    flags: Sequence[NoiseFlag], n_documents: int, folds: int, threshold: float
) -> dict[str, Any]:
    """A JSON-ready summary of flags: counts per kind and per label, rates, the flags.

    Labels are counted under the gold label, or the suggested one for ``missed`` and
    ``label_missing``. The report holds offsets and labels, never document text.

    Examples
    --------
    >>> flags = [NoiseFlag("doc-1", 0, 6, "NOM", "VILLE", 0.95, "relabel")]
    >>> report = noise_report(flags, n_documents=4, folds=5, threshold=0.9)
    >>> report["by_kind"], report["flagged_document_rate"]
    ({'relabel': 1}, 0.25)
    """
    by_label: dict[str, Counter[str]] = defaultdict(Counter)
    for flag in flags:
        by_label[_concerned(flag)][flag.kind] += 1
    documents = len({flag.doc_id for flag in flags})
    return {
        "settings": {"folds": folds, "threshold": threshold},
        "n_documents": n_documents,
        "n_flags": len(flags),
        "flagged_documents": documents,
        "flagged_document_rate": round(documents / n_documents, 4) if n_documents else 0.0,
        "flags_per_document": round(len(flags) / n_documents, 4) if n_documents else 0.0,
        "by_kind": dict(Counter(flag.kind for flag in flags)),
        "by_label": {label: dict(counts) for label, counts in sorted(by_label.items())},
        "flags": [flag.to_dict() for flag in flags],
    }
