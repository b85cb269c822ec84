"""Contract test: every registered use case is declared the same way."""

from __future__ import annotations

import re

import pytest

from curation.schema import DOC_TYPES
from curation.studio.layout import CONFIG_DIR
from curation.usecases import REGISTRY, UseCase, get
from curation.usecases.base import resolve


@pytest.mark.parametrize("use_case", list(REGISTRY.values()), ids=list(REGISTRY))
def test_declaration(use_case: UseCase) -> None:
    assert re.fullmatch(r"[a-z0-9_]+", use_case.id)
    assert re.fullmatch(r"v\d+", use_case.version)
    assert use_case.kind in ("spans", "labels", "sections", "items")
    assert len(set(use_case.labels)) == len(use_case.labels)
    # a closed label set, or an open vocabulary named by reference (CIM-10 codes)
    assert bool(use_case.labels) != bool(use_case.vocabulary)
    assert use_case.label_set() and all(isinstance(x, str) for x in use_case.label_set())
    assert use_case.config_name == f"{use_case.id}.{use_case.version}.xml"
    assert (CONFIG_DIR / use_case.config_name).is_file()
    assert use_case.description
    assert set(use_case.doc_types) <= set(DOC_TYPES)
    assert len(set(use_case.roles)) == len(use_case.roles) != 1
    for reference in (use_case.preannotator, use_case.trainer, use_case.metric):
        if reference is not None:
            assert callable(resolve(reference)), reference


def test_coding_declares_the_atih_vocabulary_roles_and_coded_documents() -> None:
    coding = get("icd10_coding")
    assert coding.kind == "labels" and coding.roles == ("DP", "DAS")
    assert len(coding.label_set()) == 42_886 and "E119" in coding.label_set()
    assert set(coding.doc_types) == {"crh", "lettre_liaison"}
    assert coding.preannotator and coding.trainer and coding.metric


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
