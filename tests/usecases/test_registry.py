"""Contract test: every registered use case is declared the same way."""

from __future__ import annotations

import re

import pytest

from curation.usecases import REGISTRY, UseCase, get


@pytest.mark.parametrize("use_case", list(REGISTRY.values()), ids=list(REGISTRY))
def test_declaration(use_case: UseCase) -> None:
    assert re.fullmatch(r"[a-z0-9_]+", use_case.id)
    assert re.fullmatch(r"v\d+", use_case.version)
    assert use_case.kind in ("spans", "labels", "sections", "items")
    assert use_case.labels and len(set(use_case.labels)) == len(use_case.labels)
    assert use_case.config_name == f"{use_case.id}.{use_case.version}.xml"
    assert use_case.description


def test_the_six_use_cases_of_the_platform() -> None:
    assert set(REGISTRY) == {
        "pseudonymisation",
        "icd10_coding",
        "oncology_extraction",
        "oncology_response",
        "clinical_summary",
        "mcq_generation",
    }
    assert len(REGISTRY["pseudonymisation"].labels) == 13


def test_unknown_use_case_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="pseudonymisation"):
        get("ner")
