"""The dataset card of a released benchmark: ``README.md`` with Hugging Face YAML front matter.

The front matter follows the Hugging Face dataset card conventions (``pretty_name``,
``language``, ``license``, ``task_categories``, ``size_categories``, ``tags`` and ``configs``
pointing at the Parquet file of each split), so that ``datasets.load_dataset`` and the Hub
read the folder as is. The body says what a reader must know before trusting a score: the
use case and version, labels and counts per split, agreement between annotators, the quality
gates, provenance and known limitations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from curation.usecases.base import UseCase

#: Hugging Face task category of each kind of result.
TASKS: dict[str, tuple[str, str | None]] = {
    "spans": ("token-classification", "named-entity-recognition"),
    "labels": ("text-classification", "multi-label-classification"),
    "sections": ("summarization", None),
    "items": ("text-generation", None),
}


@dataclass(slots=True)
class CardData:
    """What the card says; every count comes from the released files."""

    use_case: UseCase
    version: str
    splits: dict[str, int]
    label_counts: dict[str, dict[str, int]]
    annotators: int
    agreement: dict[str, Any] | None
    quality: dict[str, bool]
    provenance: dict[str, Any]
    license: str
    baselines: dict[str, float | None] = field(default_factory=dict)
    headline: str = "micro F1"
    limitations: list[str] = field(default_factory=list)
    changelog: str = ""


def _size_category(n: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < bound:
            return name
    return "100K<n<1M"


def front_matter(data: CardData) -> dict[str, Any]:
    """The YAML header (Hugging Face dataset card metadata)."""
    category, task_id = TASKS[data.use_case.kind]
    meta: dict[str, Any] = {
        "pretty_name": f"{data.use_case.id} benchmark v{data.version}",
        "language": ["fr"],
        "license": data.license,
        "task_categories": [category],
        "size_categories": [_size_category(sum(data.splits.values()))],
        "tags": ["clinical", "french", "medical", data.use_case.id],
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": f"data/{split}.parquet"} for split in data.splits
                ],
            }
        ],
    }
    if task_id:
        meta["task_ids"] = [task_id]
    return meta


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join("-" if v is None else str(v) for v in row) + " |" for row in rows]
    return lines


def _labels(data: CardData) -> list[str]:
    splits = list(data.splits)
    labels = sorted({lb for counts in data.label_counts.values() for lb in counts})
    rows = [[lb, *(data.label_counts.get(s, {}).get(lb, 0) for s in splits)] for lb in labels]
    return _table(["label", *splits], rows)


def _agreement(agreement: Mapping[str, Any] | None) -> list[str]:
    if not agreement:
        return ["No document was annotated by several experts: agreement is unknown."]
    lines = [f"Documents annotated by several experts: {agreement.get('overlapped_documents')}."]
    spans = agreement.get("spans")
    if spans:
        for mode in ("exact", "overlap"):
            micro = spans["pooled"][mode]["micro"]
            lines.append(
                f"- span F1 ({mode}): {micro.get('f1')} "
                f"[{micro.get('low')}, {micro.get('high')}] (95 % bootstrap interval)"
            )
    pooled = (agreement.get("labels") or {}).get("__all__")
    if pooled:
        kappa = pooled["fleiss_kappa"]
        lines.append(
            f"- Fleiss' kappa (every document x label pair, pooled): {kappa['value']} "
            f"[{kappa.get('low')}, {kappa.get('high')}]"
        )
    principal = agreement.get("principal")
    if principal:
        lines.append(f"- Fleiss' kappa (principal label): {principal['fleiss_kappa']['value']}")
    return lines


def render(data: CardData) -> str:
    """The whole ``README.md``."""
    uc = data.use_case
    head = yaml.safe_dump(front_matter(data), sort_keys=False, allow_unicode=True)
    total = sum(data.splits.values())
    lines = [
        "---",
        head.rstrip(),
        "---",
        "",
        f"# {uc.id} v{data.version}",
        "",
        uc.description,
        "",
        f"Use case `{uc.id}` (declaration {uc.version}, result kind `{uc.kind}`), "
        f"{total} documents, annotated by {data.annotators} experts in Label Studio, "
        "adjudicated into gold and validated by the platform's quality gates.",
        "",
        "## Splits and labels",
        "",
        *_table(["split", "documents"], [[s, n] for s, n in data.splits.items()]),
        "",
        "Splits are grouped by patient (no patient is in two splits), stratified on the labels, "
        "and stable across versions: a document never moves between splits.",
        "",
        _label_set(uc),
        "",
        *_labels(data),
        "",
        "## Agreement",
        "",
        *_agreement(data.agreement),
        "",
        "## Quality gates (Great Expectations)",
        "",
        *_table(
            ["validation", "passed"], [[k, "yes" if v else "no"] for k, v in data.quality.items()]
        ),
        "",
        "## Baselines (test split)",
        "",
        *_table(["baseline", data.headline], [[k, v] for k, v in data.baselines.items()]),
        "",
        "## Provenance",
        "",
        *_table(["", ""], [[k, f"`{v}`"] for k, v in data.provenance.items()]),
        "",
        "## Files",
        "",
        "`data/<split>.parquet` (Hugging Face `datasets`), `data/<split>.jsonl` (the platform's "
        "record format), and for span use cases `data/brat/<split>/` (BRAT standoff) and "
        "`data/conll/<split>.conll` (BIO). `manifest.json` holds the SHA-256 of every data file; "
        "`report/index.html` is the release report.",
        "",
        "## License",
        "",
        f"`{data.license}`.",
        "",
        "## Known limitations",
        "",
        *[f"- {item}" for item in data.limitations],
        "",
    ]
    if data.changelog:
        lines += ["## Changes since the previous version", "", data.changelog, ""]
    return "\n".join(lines)


def _label_set(uc: UseCase) -> str:
    """The card's sentence on labels: the closed set, or the named vocabulary and roles."""
    if uc.vocabulary is None:
        return f"Label set: {', '.join(f'`{lb}`' for lb in uc.labels)}."
    roles = (
        f" Roles: {', '.join(f'`{r}`' for r in uc.roles)} (the first is principal)."
        if uc.roles
        else ""
    )
    return (
        f"Label set: the {len(uc.label_set()):,} labels of the vocabulary `{uc.vocabulary}` "
        f"(open set; the distribution below lists those used).{roles}"
    )
