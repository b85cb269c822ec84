"""QRM metrics on hand-computed cases: answering (Hamming score, EMR) and drafting
(acceptance rate, edit similarity)."""

from __future__ import annotations

from typing import Any

import pytest

from curation.metrics import summary
from curation.metrics.mcq import answer_set, generation_metrics, is_rejected, mcq_metrics
from curation.schema import Record
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.studio.converters import annotation_to_record, record_to_task
from curation.usecases.mcq_generation import USE_CASE

OPTIONS = {
    "A": "Pneumopathie franche lobaire aiguë",
    "B": "Embolie pulmonaire",
    "C": "Pneumothorax",
    "D": "Péricardite aiguë",
    "E": "Insuffisance cardiaque",
}


def item(answers: list[str], **extra: Any) -> dict[str, Any]:
    base = {
        "stem": "Homme de 67 ans, fièvre à 39,5 °C et toux productive. Diagnostic ?",
        "options": dict(OPTIONS),
        "answers": answers,
        "explanation": "Opacité alvéolaire systématisée : pneumopathie lobaire.",
    }
    return base | extra


def gold(*answer_lists: list[str], **extra: Any) -> list[Record]:
    return [
        Record(f"d{i}", USE_CASE.id, "gold", items=[item(a, **extra)])
        for i, a in enumerate(answer_lists)
    ]


def answered(*answer_lists: list[str] | None) -> list[Record]:
    return [
        Record(f"d{i}", USE_CASE.id, "llm", items=[{"answers": a}] if a is not None else [])
        for i, a in enumerate(answer_lists)
    ]


# --- answering ---------------------------------------------------------------------------------


def test_perfect_answers() -> None:
    scores = mcq_metrics(gold(["A"], ["A", "C"]), answered(["A"], ["C", "A"]), USE_CASE)
    assert (scores["hamming_score"], scores["emr"]) == (1.0, 1.0)
    assert scores["bootstrap"]["hamming_score"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    assert scores["by_answers"]["multiple"] == {"hamming_score": 1.0, "emr": 1.0, "questions": 1}


def test_all_wrong_answers() -> None:
    scores = mcq_metrics(gold(["A"], ["B", "D"]), answered(["B"], ["A", "C", "E"]), USE_CASE)
    assert (scores["hamming_score"], scores["emr"]) == (0.0, 0.0)


def test_partial_answers_computed_by_hand() -> None:
    truth = gold(["A", "C"], ["B"], ["A", "B", "C"], ["D"])
    guess = answered(["A"], ["B", "D"], ["A", "B", "C"], ["E"])
    scores = mcq_metrics(truth, guess, USE_CASE, n_resamples=50)
    # |P ∩ G| / |P ∪ G|: {A}/{A,C} 1/2, {B}/{B,D} 1/2, 3/3, 0/2; exact: only the third
    assert scores["hamming_score"] == (0.5 + 0.5 + 1 + 0) / 4 == 0.5
    assert scores["emr"] == 0.25
    assert scores["by_answers"]["single"] == {"hamming_score": 0.25, "emr": 0.0, "questions": 2}
    assert scores["by_answers"]["multiple"] == {"hamming_score": 0.75, "emr": 0.5, "questions": 2}
    low, high = scores["bootstrap"]["hamming_score"]["low"], scores["bootstrap"]["emr"]["high"]
    assert 0.0 <= low <= 0.5 and 0.25 <= high <= 1.0


def test_missing_predictions_empty_inputs_and_letter_forms() -> None:
    scores = mcq_metrics(gold(["A"], ["B", "C"], ["E"]), answered(["a"], None), USE_CASE)
    # d1 has an empty record, d2 none: both score 0
    assert scores["hamming_score"] == round(1 / 3, 4) and scores["emr"] == round(1 / 3, 4)
    assert scores["documents"] == {"gold": 3, "missing_doc_ids": 1, "unknown_doc_ids": 0}
    empty = mcq_metrics([], [], USE_CASE, n_resamples=10)
    assert (empty["hamming_score"], empty["emr"]) == (None, None)
    assert empty["bootstrap"]["emr"] == {"value": None, "low": None, "high": None}
    assert answer_set({"answers": "a|C"}) == {"A", "C"} and answer_set({}) == frozenset()


def test_rejected_and_unanswered_gold_items_are_not_questions() -> None:
    truth = [
        Record("d0", USE_CASE.id, "gold", items=[item(["A"], verdict="rejected"), item(["B"])]),
        Record("d1", USE_CASE.id, "gold", items=[item([])]),
    ]
    guess = [Record("d0", USE_CASE.id, "llm", items=[{"answers": ["C"]}, {"answers": ["B"]}])]
    scores = mcq_metrics(truth, guess, USE_CASE, n_resamples=10)
    assert scores["questions"] == {"scored": 1, "not_scored": 2}
    assert scores["hamming_score"] == 1.0  # the second item is paired with the second answer


def test_per_type_and_per_group() -> None:
    truth = [
        Record("d0", USE_CASE.id, "gold", items=[item(["A"], type="diagnostic")]),
        Record("d1", USE_CASE.id, "gold", items=[item(["B", "C"], type="traitement")]),
    ]
    scores = mcq_metrics(truth, answered(["A"], ["B"]), USE_CASE, {"d0": "crh"})
    assert scores["by_type"]["diagnostic"]["hamming_score"] == 1.0
    assert scores["by_type"]["traitement"] == {"hamming_score": 0.5, "emr": 0.0, "questions": 1}
    assert scores["by_group"]["unknown"]["hamming_score"] == 0.5
    assert summary.label_scores(scores)["traitement"]["f1"] == 0.5


def test_answer_key_against_itself_is_perfect() -> None:
    keys = [
        r.records["mcq_generation"]
        for r in generate_documents(GenerateSettings(n_documents=30))
        if "mcq_generation" in r.records
    ]
    assert keys
    scores = mcq_metrics(keys, keys, USE_CASE, n_resamples=50)
    assert (scores["hamming_score"], scores["emr"]) == (1.0, 1.0)
    assert summary.main_scores(scores)["f1"] == 1.0
    assert summary.headline(scores) == "Hamming score over questions"
    nothing = [Record(r.doc_id, r.use_case, "nothing") for r in keys]
    assert summary.main_scores(mcq_metrics(keys, nothing, USE_CASE))["f1"] == 0.0
    drafted = generation_metrics(keys, keys, USE_CASE, n_resamples=50)
    assert drafted["acceptance_rate"] == drafted["edit_similarity"]["overall"] == 1.0


def test_duplicate_doc_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="predicted record 2: doc_id 'd0' appears twice"):
        mcq_metrics(gold(["A"]), answered(["A"]) * 2, USE_CASE)


# --- drafting ----------------------------------------------------------------------------------


def test_rejection_from_label_studio_verdict() -> None:
    draft = Record("d1", USE_CASE.id, "templates", items=[item(["A"])])
    row = {"doc_id": "d1", "text": "Patient de 67 ans."}
    task = record_to_task(USE_CASE, row, draft, model_version="templates-1")
    verdict = {"id": "v", "from_name": "verdict", "to_name": "text", "type": "choices"}
    result = [*task["predictions"][0]["result"], verdict | {"value": {"choices": ["rejected"]}}]
    reviewed = annotation_to_record(USE_CASE, task, {"completed_by": 3, "result": result})
    assert reviewed.items[0]["verdict"] == "rejected" and is_rejected(reviewed.items[0])
    assert not is_rejected(item(["A"])) and is_rejected({"rejected": True})
    assert is_rejected({"verdict": ["Rejeter cette question"]})


def test_generation_computed_by_hand() -> None:
    stem = "Homme de 67 ans. Diagnostic ?"
    drafts = [
        Record("d0", USE_CASE.id, "tmpl", items=[item(["A"], stem=stem)]),
        Record("d1", USE_CASE.id, "tmpl", items=[item(["A"])]),
        Record("d2", USE_CASE.id, "tmpl", items=[item(["A"])]),
        Record("d3", USE_CASE.id, "tmpl", items=[item(["A"])]),  # never reviewed
    ]
    accepted = item(["A", "C"], stem="Homme de 68 ans. Diagnostic ?", relevance=4, difficulty=2)
    reviewed = [
        Record("d0", USE_CASE.id, "gold", items=[accepted]),
        Record("d1", USE_CASE.id, "gold", items=[item(["A"], verdict="rejected")]),
        Record("d2", USE_CASE.id, "gold"),  # no item left: rejected
    ]
    scores = generation_metrics(reviewed, drafts, USE_CASE, {"d0": "crh"}, n_resamples=50)
    assert scores["acceptance_rate"] == round(1 / 3, 4)
    assert scores["drafts"] == {"reviewed": 3, "accepted": 1, "rejected": 2, "unreviewed": 1}
    # stem: "67" -> "68", one character of 29; options and explanation untouched
    assert len(stem) == 29
    assert scores["edit_similarity"]["stem"] == round(1 - 1 / 29, 4)
    assert scores["edit_similarity"]["options"] == scores["edit_similarity"]["explanation"] == 1.0
    options = len("\n".join(f"{k}: {v}" for k, v in OPTIONS.items()))
    explanation = len(accepted["explanation"])
    total = 29 + options + explanation
    assert scores["edit_similarity"]["overall"] == round(1 - 1 / total, 4)
    assert scores["answers_kept"] == 0.0  # the teacher added C
    assert scores["ratings"] == {"relevance": 4.0, "difficulty": 2.0}
    assert scores["by_group"]["crh"] == {"acceptance_rate": 1.0, "drafts": 1}
    assert scores["bootstrap"]["acceptance_rate"]["value"] == round(1 / 3, 4)
    main = summary.main_scores(scores)
    assert summary.headline(scores) == "acceptance rate of drafts"
    assert (main["f1"], main["edit_similarity"]) == (round(1 / 3, 4), round(1 - 1 / total, 4))


def test_generation_without_drafts_or_reviews() -> None:
    scores = generation_metrics([], [], USE_CASE, n_resamples=10)
    assert scores["acceptance_rate"] is None and scores["edit_similarity"]["overall"] is None
    assert scores["answers_kept"] is None and scores["ratings"] == {}
