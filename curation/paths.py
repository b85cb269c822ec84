"""Where stages exchange files (the layout of DESIGN.md, "Files and formats").

Entry points (``generate.output``, ``ingest.output``) are set in ``params.yaml``; the files
that stages hand to one another per use case follow this fixed layout, so that ``dvc.yaml``,
the stages and the evaluators agree on them without repeating paths.
"""

from pathlib import Path

DATA = Path("data")
MODELS = Path("models")
REPORTS = Path("reports")
PSEUDONYMISED_DOCUMENTS = DATA / "pseudonymised" / "documents.parquet"


def answer_key(use_case: str, root: Path = DATA / "raw" / "answer_key") -> Path:
    """The synthetic generator's own gold for ``use_case``."""
    return root / f"{use_case}.jsonl"


def preannotations(use_case: str) -> Path:
    return DATA / "preannotations" / f"{use_case}.jsonl"


def annotations(use_case: str) -> Path:
    return DATA / "annotations" / f"{use_case}.jsonl"


def gold(use_case: str) -> Path:
    return DATA / "gold" / f"{use_case}.jsonl"


def model_dir(use_case: str) -> Path:
    return MODELS / use_case


def report_dir(use_case: str) -> Path:
    return REPORTS / use_case


def conflicts(use_case: str) -> Path:
    """Documents adjudication could not settle, with the competing versions (for review)."""
    return DATA / "conflicts" / f"{use_case}.jsonl"


def quality_dir(use_case: str) -> Path:
    """Validation results, agreement, adjudication and label-noise reports of a use case."""
    return REPORTS / "quality" / use_case


def benchmark_dir(use_case: str) -> Path:
    return Path("benchmarks") / use_case
