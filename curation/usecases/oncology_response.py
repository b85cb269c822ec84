"""Treatment response (RECIST-style) of a follow-up report, with its evidence span."""

from curation.usecases.base import UseCase

RESPONSES = (
    "complete_response",
    "partial_response",
    "stable_disease",
    "progression",
    "not_evaluable",
)

USE_CASE = UseCase(
    id="oncology_response",
    version="v1",
    kind="labels",
    labels=RESPONSES,
    description="RECIST-style treatment response of an imaging or consultation report.",
)
