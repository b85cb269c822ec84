"""Registry of use cases: each is one module that declares a :class:`UseCase`."""

from __future__ import annotations

from curation.usecases import (
    clinical_summary,
    icd10_coding,
    mcq_generation,
    oncology_extraction,
    oncology_response,
    pseudonymisation,
)
from curation.usecases.base import UseCase

REGISTRY: dict[str, UseCase] = {
    module.USE_CASE.id: module.USE_CASE
    for module in (
        pseudonymisation,
        icd10_coding,
        oncology_extraction,
        oncology_response,
        clinical_summary,
        mcq_generation,
    )
}


def get(use_case_id: str) -> UseCase:
    """The registered use case ``use_case_id``; a clear error lists the known ones."""
    try:
        return REGISTRY[use_case_id]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown use case {use_case_id!r}; known use cases: {known}") from None


__all__ = ["REGISTRY", "UseCase", "get"]
