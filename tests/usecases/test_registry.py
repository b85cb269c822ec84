"""Contract test: every registered use case is declared the same way."""

from __future__ import annotations

import re

import pytest

from curation.metrics.summary import headline, main_scores
from curation.schema import DOC_TYPES, Record
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
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
    for reference in (use_case.preannotator, use_case.trainer, use_case.metric, use_case.selector):
        if reference is not None:
            assert callable(resolve(reference)), reference
    # relations and span attributes name declared labels only
    assert set(use_case.relations) == {kind for kind, _, _ in use_case.relation_ends}
    for _, head, tail in use_case.relation_ends:
        assert {head, tail} <= set(use_case.labels)
    for attribute in use_case.span_attributes:
        assert set(attribute.labels) <= set(use_case.labels), attribute.name
    if use_case.relations or use_case.span_attributes:
        assert use_case.kind == "spans"


@pytest.fixture(scope="module")
def answer_keys() -> dict[str, list[Record]]:
    """The generator's answer-key records of every use case (120 oncology-rich documents)."""
    out: dict[str, list[Record]] = {}
    for item in generate_documents(GenerateSettings(n_documents=120, oncology_share=0.7)):
        for use_case, record in item.records.items():
            out.setdefault(use_case, []).append(record)
    return out


@pytest.mark.parametrize(
    "use_case",
    [u for u in REGISTRY.values() if u.metric],
    ids=[u.id for u in REGISTRY.values() if u.metric],
)
def test_metric_of_gold_against_itself_is_perfect_and_nothing_scores_zero(
    use_case: UseCase, answer_keys: dict[str, list[Record]]
) -> None:
    assert use_case.metric is not None
    metric = resolve(use_case.metric)
    gold = answer_keys[use_case.id]
    assert gold, f"the generator wrote no {use_case.id} record"
    perfect = main_scores(metric(gold, gold, use_case))
    assert perfect["f1"] == 1.0, headline(metric(gold, gold, use_case))
    empty = [Record(r.doc_id, r.use_case, "nothing") for r in gold]
    assert main_scores(metric(gold, empty, use_case))["f1"] in (0.0, None)


@pytest.mark.parametrize(
    "use_case",
    [u for u in REGISTRY.values() if u.selector],
    ids=[u.id for u in REGISTRY.values() if u.selector],
)
def test_selector_keeps_every_document_with_an_answer_key(use_case: UseCase) -> None:
    selects = use_case.selects()
    assert selects is not None
    kept = dropped = 0
    for item in generate_documents(GenerateSettings(n_documents=200, oncology_share=1.0)):
        if item.document.doc_type not in use_case.doc_types:
            continue
        chosen = selects(item.document.text)
        assert chosen == (use_case.id in item.records), item.document.doc_id
        kept, dropped = kept + chosen, dropped + (not chosen)
    assert kept and dropped  # it selects, and it leaves some out


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


def test_oncology_declares_relations_statuses_and_flags() -> None:
    extraction = get("oncology_extraction")
    assert extraction.relation_ends == (("has_result", "BIOMARKER", "BIOMARKER_RESULT"),)
    attributes = {a.name: a for a in extraction.span_attributes}
    assert {"negated", "hypothetical", "family", "status"} <= set(attributes)
    assert attributes["status"].labels == ("BIOMARKER_RESULT",)
    assert set(attributes["status"].values) == {"positive", "negative", "equivocal", "not_assessed"}
    response = get("oncology_response")
    assert response.kind == "labels" and len(response.labels) == 5 and response.selector
