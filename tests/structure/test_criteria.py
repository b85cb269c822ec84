"""Eligibility criteria: the grammar (checked at load, errors naming the criterion) and the
three-valued evaluation with evidence."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from curation.models.oncology.biomarkers import canonical_marker
from curation.settings import ParamsError, load_params
from curation.structure.criteria import Clause, Criterion, Screener
from curation.structure.patients import Fact, Patient

DAY = date(2024, 3, 1)


def fact(kind: str, value: str, doc_id: str, **extra: Any) -> Fact:
    return Fact(kind, value, doc_id, 0, len(value), extra.pop("when", DAY), **extra)


def patient(patient_id: str, *facts: Fact) -> Patient:
    return Patient.from_facts(patient_id, facts, {f.doc_id for f in facts})


HER2_CRITERION = Criterion.model_validate(
    {
        "description": "HER2 positif, métastatique, sans anti-HER2 antérieur",
        "all": [
            {"field": "biomarker.HER2", "equals": "positive"},
            {"field": "metastatic", "equals": True},
            {"not": {"field": "treatments", "contains_any": ["trastuzumab", "T-DM1"]}},
        ],
    }
)
ELIGIBLE = patient(
    "pat-1",
    fact("site", "sein gauche", "d1"),
    fact("tnm", "pT2N1aM1b", "d2"),
    fact("biomarker", "HER2", "d1", status="positive", result="score 3+"),
    fact("treatment", "chimiothérapie par paclitaxel", "d2"),
)
TREATED = patient(
    "pat-2",
    fact("tnm", "cT2N0M1a", "d3"),
    fact("biomarker", "HER2", "d3", status="positive", result="score 3+"),
    fact("treatment", "Trastuzumab et pertuzumab", "d4"),
)
NO_HER2 = patient(
    "pat-3", fact("site", "lobe supérieur droit", "d5"), fact("tnm", "cT4N3M1c", "d5")
)
NO_M_STAGE = patient(
    "pat-4",
    fact("tnm", "ypT1bN0", "d6"),
    fact("biomarker", "HER2", "d6", status="positive", result="score 2+, ISH amplifié"),
)


def screen(criterion: Criterion, *patients: Patient) -> dict[str, Any]:
    return Screener(canonical_marker).screen("c", criterion, list(patients))


def test_candidate_with_evidence_of_every_clause() -> None:
    out = screen(HER2_CRITERION, ELIGIBLE)
    assert out["counts"] == {"candidates": 1, "differs": 0, "unknown": 0}
    clauses = out["candidates"][0]["clauses"]
    assert [c["clause"] for c in clauses] == [
        "biomarker.HER2 equals positive",
        "metastatic equals true",
        "not(treatments contains_any [trastuzumab, T-DM1])",
    ]
    her2 = clauses[0]["evidence"][0]
    assert her2 == {
        "field": "biomarker.HER2",
        "value": "positive",
        "result": "score 3+",
        "doc_id": "d1",
        "start": 0,
        "end": 4,
    }
    assert clauses[1]["evidence"][0]["value"] == "pT2N1aM1b"


def test_excluded_by_the_first_failing_clause_with_why() -> None:
    out = screen(HER2_CRITERION, TREATED, NO_HER2, NO_M_STAGE)
    excluded = {e["patient_id"]: e for e in out["excluded"]}
    treated = excluded["pat-2"]
    assert (treated["clause_index"], treated["why"]) == (2, "differs")
    assert treated["evidence"][0]["doc_id"] == "d4"  # the anti-HER2 found, case folded
    no_her2 = excluded["pat-3"]
    assert (no_her2["clause_index"], no_her2["why"]) == (0, "unknown")
    assert no_her2["reason"] == "HER2 status unknown (no evidence)"
    no_m = excluded["pat-4"]
    assert (no_m["clause_index"], no_m["why"]) == (1, "unknown")
    assert "TNM without M stage" in no_m["reason"]
    assert out["counts"] == {"candidates": 0, "differs": 1, "unknown": 2}


def clause(data: dict[str, Any]) -> Clause:
    return TypeAdapter(Clause).validate_python(data)


def outcome(data: dict[str, Any], p: Patient) -> str:
    return Screener(canonical_marker).clause(clause(data), p).outcome


def test_three_valued_logic() -> None:
    er_pos = {"field": "biomarker.RE", "equals": "positive"}  # "RE" as written, "ER" canonical
    her2_pos = {"field": "biomarker.HER2", "equals": "positive"}
    assert outcome({"not": er_pos}, ELIGIBLE) == "unknown"  # not(unknown) stays unknown
    assert outcome({"any": [er_pos, her2_pos]}, ELIGIBLE) == "true"
    assert outcome({"any": [er_pos, {"field": "site", "equals": "sein droit"}]}, ELIGIBLE) == (
        "unknown"
    )
    assert outcome({"all": [er_pos, {"field": "site", "equals": "poumon"}]}, ELIGIBLE) == "false"
    assert outcome({"all": [her2_pos, {"field": "site", "equals": "SEIN  gauche"}]}, ELIGIBLE) == (
        "true"
    )


def test_operators() -> None:
    responded = patient(
        "pat-5",
        fact("site", "côlon sigmoïde", "d7"),
        fact("response", "partial_response", "d8", when=date(2024, 6, 1)),
        fact("response", "progression", "d9", when=date(2024, 9, 1)),
    )
    assert outcome({"field": "last_response", "in": ["progression"]}, responded) == "true"
    assert outcome({"field": "responses", "contains_any": ["partial"]}, responded) == "true"
    assert outcome({"field": "site", "contains_any": ["colon"]}, responded) == "true"  # accents
    assert outcome({"field": "biomarker.MSI", "exists": False}, responded) == "true"
    assert outcome({"field": "treatments", "exists": True}, responded) == "false"
    assert outcome({"field": "grade", "equals": "bien différencié"}, responded) == "unknown"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field": "biomarker.HER2", "equals": "positif"}, "is a status, one of positive"),
        ({"field": "sites", "equals": "sein"}, "unknown field 'sites'"),
        ({"field": "site", "equals": "sein", "in": ["poumon"]}, "exactly one operator"),
        ({"field": "site"}, "exactly one operator"),
        ({"field": "metastatic", "equals": "oui"}, "true or false"),
        ({"field": "treatments", "equals": "trastuzumab"}, "is a list"),
        ({"field": "biomarker.HER2", "contains_any": ["pos"]}, "contains_any applies to"),
        ({"field": "last_response", "equals": "progressive"}, "last_response is one of"),
        ({"feild": "site", "equals": "sein"}, "a clause is"),
        ({"all": []}, "at least 1 item"),
    ],
)
def test_grammar_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        clause(data)


def test_errors_name_the_criterion_at_load(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "structure:\n  oncology:\n    criteria:\n      egfr_lung:\n        all:\n"
        "          - {field: biomarker.EGFR, equals: mutated}\n",
        encoding="utf-8",
    )
    with pytest.raises(ParamsError, match=r"structure\.oncology\.criteria\.egfr_lung\.all\.0"):
        load_params(path)
    path.write_text(
        "structure:\n  oncology:\n    criteria:\n      empty:\n        description: rien\n"
    )
    with pytest.raises(ParamsError, match=r"criteria\.empty: .*exactly one of all, any, not"):
        load_params(path)


def test_unknown_marker_is_refused_naming_the_criterion() -> None:
    bad = Criterion.model_validate({"all": [{"field": "biomarker.HRE2", "exists": True}]})
    with pytest.raises(ValueError, match="criterion her2_typo: unknown biomarker 'HRE2'"):
        Screener(canonical_marker).check_markers({"her2_typo": bad})


def test_repository_criteria_load() -> None:
    params = load_params(Path(__file__).parents[2] / "params.yaml")
    criteria = params.structure["oncology"].criteria
    assert "her2_metastatic_no_anti_her2" in criteria
    Screener(canonical_marker).check_markers(criteria)
