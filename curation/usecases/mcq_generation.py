"""QRM-style multiple-choice questions (five options A-E) written from a clinical case."""

from curation.usecases.base import UseCase

OPTIONS = ("A", "B", "C", "D", "E")

USE_CASE = UseCase(
    id="mcq_generation",
    version="v1",
    kind="items",
    labels=OPTIONS,
    description="French medical exam style questions (QRM) from a clinical case.",
)
