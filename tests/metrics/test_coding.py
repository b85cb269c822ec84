"""CIM-10 coding metrics: hand-computed values on three small stays, edge cases, bootstrap.

The three stays (gold DP first; predictions ranked, the first is the predicted DP):

- ``d1`` diabète de type 2 avec HTA et insuffisance rénale chronique:
  gold ``E119, I10, N185``; predicted ``E11.8, i10, Z951`` (wrong subcode of the DP, HTA found,
  an extra code);
- ``d2`` pneumopathie avec insuffisance respiratoire aiguë: gold ``J189, J961``; predicted
  ``J189, J969`` (DP found, a wrong subcode of J96);
- ``d3`` appendicite aiguë: gold ``K359``; no prediction record.

A prediction for ``d9``, absent from gold, is ignored.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from curation.metrics.coding import coding_metrics, normalise_code
from curation.schema import Record
from curation.usecases.icd10_coding import USE_CASE

GOLD = {"d1": ["E119", "I10", "N185"], "d2": ["J189", "J961"], "d3": ["K359"]}
PRED = {"d1": ["E11.8", "i10", "Z951"], "d2": ["J189", "J969"], "d9": ["I10"]}


def records(codes: dict[str, list[str]], origin: str) -> list[Record]:
    return [Record(doc_id, "icd10_coding", origin, labels=c) for doc_id, c in codes.items()]


def score(gold: dict[str, list[str]], pred: dict[str, list[str]], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("n_resamples", 200)
    return coding_metrics(records(gold, "gold"), records(pred, "llm"), USE_CASE, **kwargs)


@pytest.fixture(scope="module")
def scores() -> dict[str, Any]:
    return score(GOLD, PRED, ks=(1, 2, 5))


def test_micro_counts_document_code_pairs(scores: dict[str, Any]) -> None:
    # d1: tp 1 (I10), fp 2 (E118, Z951), fn 2 (E119, N185)
    # d2: tp 1 (J189), fp 1 (J969), fn 1 (J961);  d3: fn 1 (K359)
    # tp 2, fp 3, fn 4: P = 2/5, R = 2/6, F1 = 2*2 / (2*2 + 3 + 4) = 4/11
    assert scores["micro"] == {
        "precision": 0.4,
        "recall": 0.3333,
        "f1": 0.3636,
        "tp": 2,
        "fp": 3,
        "fn": 4,
    }


def test_macro_averages_the_codes_present_in_gold(scores: dict[str, Any]) -> None:
    # Gold codes E119 0, I10 1, N185 0, J189 1, J961 0, K359 0: (1 + 1) / 6 = 0.3333,
    # below micro (0.3636); over the 9 codes with the predicted-only ones it would be 2/9.
    assert scores["macro"] == {"f1": 0.3333, "codes": 6}
    per_code = scores["per_code"]
    assert set(per_code) == {"E119", "I10", "N185", "J189", "J961", "K359", "E118", "Z951", "J969"}
    assert list(per_code)[:6] == ["E119", "I10", "J189", "J961", "K359", "N185"]  # by support
    assert per_code["I10"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 1,
        "fp": 0,
        "fn": 0,
        "support": 1,
    }
    assert per_code["E118"]["support"] == 0 and per_code["E118"]["f1"] == 0.0
    assert per_code["E118"]["precision"] == 0.0


def test_category_credits_a_wrong_subcode(scores: dict[str, Any]) -> None:
    # d1: gold {E11, I10, N18}, pred {E11, I10, Z95}: tp 2, fp 1, fn 1
    # d2: gold {J18, J96}, pred {J18, J96}: tp 2;  d3: fn 1 (K35)
    # tp 4, fp 1, fn 2: P = 4/5, R = 4/6, F1 = 8 / (8 + 1 + 2) = 8/11
    assert scores["category"] == {
        "precision": 0.8,
        "recall": 0.6667,
        "f1": 0.7273,
        "tp": 4,
        "fp": 1,
        "fn": 2,
    }


def test_dp_accuracy(scores: dict[str, Any]) -> None:
    # DP: d1 E118 != E119, d2 J189 == J189, d3 nothing predicted: 1/3
    # category: d1 E11 == E11, d2 J18 == J18, d3 wrong: 2/3
    assert scores["dp_accuracy"] == 0.3333
    assert scores["dp_category_accuracy"] == 0.6667


def test_precision_and_recall_at_k(scores: dict[str, Any]) -> None:
    # 3 documents with gold codes, 6 gold codes.
    # k=1: hits d1 0 (E118), d2 1 (J189), d3 0: P = 1 / (1*3), R = 1/6
    # k=2: hits d1 1 (I10), d2 1, d3 0: P = 2 / (2*3), R = 2/6
    # k=5: d1 has 3 predictions, d2 2, d3 none; still divided by k: P = 2 / (5*3), R = 2/6
    assert scores["at_k"] == {
        "1": {"precision": 0.3333, "recall": 0.1667},
        "2": {"precision": 0.3333, "recall": 0.3333},
        "5": {"precision": 0.1333, "recall": 0.3333},
    }


def test_documents_missing_and_unknown(scores: dict[str, Any]) -> None:
    assert scores["documents"] == {
        "gold": 3,
        "with_gold_codes": 3,
        "missing_doc_ids": 1,  # d3
        "unknown_doc_ids": 1,  # d9
    }
    assert "by_group" not in scores


def test_by_group_micro() -> None:
    groups = {"d1": "crh", "d2": "crh"}  # d3 is not named: "unknown"
    by_group = score(GOLD, PRED, groups=groups)["by_group"]
    # crh: tp 2, fp 3, fn 3: F1 = 4 / (4 + 3 + 3) = 0.4;  unknown (d3): fn 1, F1 0.0
    assert by_group["crh"]["f1"] == 0.4 and by_group["crh"]["documents"] == 2
    assert by_group["unknown"]["f1"] == 0.0 and by_group["unknown"]["recall"] == 0.0


@pytest.mark.parametrize("code", ["E11.9", "e119", " e11.9 ", "E11 9", "E119"])
def test_normalisation(code: str) -> None:
    assert normalise_code(code) == "E119"
    result = score({"d1": ["E119"]}, {"d1": [code, "e11.9"]})  # a repeat counts once
    assert result["micro"]["f1"] == 1.0 and result["micro"]["fp"] == 0
    assert result["dp_accuracy"] == 1.0 and result["at_k"]["1"]["precision"] == 1.0


def test_nothing_on_either_side_is_undefined() -> None:
    result = score({"d1": [], "d2": []}, {"d1": []})
    for block in ("micro", "category"):
        assert result[block]["f1"] is None and result[block]["precision"] is None
    assert result["macro"] == {"f1": None, "codes": 0}
    assert result["per_code"] == {}
    assert result["dp_accuracy"] is None and result["dp_category_accuracy"] is None
    assert result["at_k"]["5"] == {"precision": None, "recall": None}
    assert result["bootstrap"]["micro_f1"] == {"value": None, "low": None, "high": None}
    json.dumps(result, allow_nan=False)


def test_one_side_only_scores_zero() -> None:
    # Predictions on a stay without gold codes: fp 1, F1 0; nothing to rank, so P@k undefined.
    invented = score({"d1": []}, {"d1": ["I10"]})
    assert invented["micro"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "tp": 0,
        "fp": 1,
        "fn": 0,
    }
    assert invented["dp_accuracy"] is None and invented["at_k"]["1"]["precision"] is None
    # Gold codes without any prediction: fn 1, F1 0, DP wrong.
    silent = score({"d1": ["I10"]}, {})
    assert silent["micro"]["f1"] == 0.0 and silent["micro"]["precision"] == 0.0
    assert silent["dp_accuracy"] == 0.0 and silent["at_k"]["1"] == {"precision": 0.0, "recall": 0.0}


def test_documents_without_gold_code_leave_dp_and_precision_at_k() -> None:
    # d1 right (DP I10, 1 hit in top 1); d2 has no gold code: out of the DP and P@k denominators.
    result = score({"d1": ["I10"], "d2": []}, {"d1": ["I10"], "d2": ["R05"]}, ks=(1,))
    assert result["dp_accuracy"] == 1.0 and result["at_k"]["1"]["precision"] == 1.0
    assert result["micro"]["precision"] == 0.5  # R05 is still a false positive
    assert result["documents"]["with_gold_codes"] == 1


def test_no_document_at_all() -> None:
    result = coding_metrics([], [], USE_CASE, n_resamples=10)
    assert result["micro"]["f1"] is None and result["documents"]["gold"] == 0
    json.dumps(result, allow_nan=False)


def test_output_is_strict_json(scores: dict[str, Any]) -> None:
    text = json.dumps(score(GOLD, PRED, groups={"d1": "crh"}), allow_nan=False)
    assert json.loads(text)["micro"]["f1"] == scores["micro"]["f1"]


# --------------------------------------------------------------------------- bootstrap

# Ten copies of the three stays: the same point estimates, enough documents for an interval.
GOLD_30 = {f"{d}-{i}": c for i in range(10) for d, c in GOLD.items()}
PRED_30 = {f"{d}-{i}": c for i in range(10) for d, c in PRED.items() if d in GOLD}


def test_bootstrap_contains_the_point_and_is_reproducible(scores: dict[str, Any]) -> None:
    first = score(GOLD_30, PRED_30, ks=(1, 2, 5), n_resamples=500, seed=3)
    boot = first["bootstrap"]
    assert set(boot) == {
        "confidence",
        "n_resamples",
        "seed",
        "micro_f1",
        "category_f1",
        "dp_accuracy",
        "recall@1",
        "recall@2",
        "recall@5",
    }
    assert boot["micro_f1"]["value"] == scores["micro"]["f1"] == first["micro"]["f1"]
    assert boot["category_f1"]["value"] == scores["category"]["f1"]
    assert boot["dp_accuracy"]["value"] == scores["dp_accuracy"]
    assert boot["recall@5"]["value"] == scores["at_k"]["5"]["recall"]
    for name in ("micro_f1", "category_f1", "dp_accuracy", "recall@1", "recall@2", "recall@5"):
        interval = boot[name]
        assert interval["low"] <= interval["value"] <= interval["high"], name
        assert interval["low"] < interval["high"], name
    again = score(GOLD_30, PRED_30, ks=(1, 2, 5), n_resamples=500, seed=3)
    assert again["bootstrap"] == boot


def test_bootstrap_resample_equals_scoring_the_drawn_documents() -> None:
    # One resample: its weighted sum of per-document counts must equal scoring the drawn
    # documents themselves (same generator, same draws as the module).
    doc_ids = list(GOLD_30)
    draws = np.random.default_rng(11).integers(0, len(doc_ids), size=(1, len(doc_ids)))[0]
    drawn = [doc_ids[i] for i in draws]
    gold = {f"{d}#{n}": GOLD_30[d] for n, d in enumerate(drawn)}
    pred = {f"{d}#{n}": PRED_30[d] for n, d in enumerate(drawn) if d in PRED_30}
    direct = score(gold, pred, ks=(2,))
    boot = score(GOLD_30, PRED_30, ks=(2,), n_resamples=1, seed=11)["bootstrap"]
    assert boot["micro_f1"]["low"] == boot["micro_f1"]["high"] == direct["micro"]["f1"]
    assert boot["category_f1"]["low"] == direct["category"]["f1"]
    assert boot["dp_accuracy"]["low"] == direct["dp_accuracy"]
    assert boot["recall@2"]["low"] == direct["at_k"]["2"]["recall"]


def test_invalid_inputs_are_refused() -> None:
    twice = records({"d1": ["I10"]}, "gold") * 2
    with pytest.raises(ValueError, match="'d1' appears twice"):
        coding_metrics(twice, [], USE_CASE)
    with pytest.raises(ValueError, match="ks"):
        score(GOLD, PRED, ks=(0, 5))
    with pytest.raises(ValueError, match="n_resamples"):
        score(GOLD, PRED, n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        score(GOLD, PRED, confidence=1.0)
