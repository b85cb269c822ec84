"""Treatment response metrics on hand-computed cases, and every reader of their summary."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from curation.metrics import summary
from curation.metrics.response import CLASSES, NONE, _accuracy_kappa, _macro_f1, response_metrics
from curation.release.baselines import per_label_rows, score_baseline, write_reports
from curation.release.report import ReportData, render_report
from curation.schema import Record, Span
from curation.stages import evaluate
from curation.usecases.oncology_response import RESPONSES, USE_CASE

CR, PR, SD, PD, NE = RESPONSES


def gold(*labels: str) -> list[Record]:
    return [Record(f"d{i}", USE_CASE.id, "gold", labels=[x]) for i, x in enumerate(labels)]


def predicted(*labels: str | None) -> list[Record]:
    return [
        Record(f"d{i}", USE_CASE.id, "model", labels=[x] if x else []) for i, x in enumerate(labels)
    ]


def test_perfect_predictions() -> None:
    labels = (CR, PR, SD, PD, NE, SD)
    scores = response_metrics(gold(*labels), predicted(*labels), USE_CASE, n_resamples=50)
    assert (scores["accuracy"], scores["macro_f1"], scores["kappa"]) == (1.0, 1.0, 1.0)
    assert scores["per_label"][SD] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 2,
        "fp": 0,
        "fn": 0,
        "support": 2,
    }
    for name in ("accuracy", "macro_f1", "kappa"):
        assert scores["bootstrap"][name] == {"value": 1.0, "low": 1.0, "high": 1.0}
    assert scores["confusion"]["labels"] == list(CLASSES)
    assert np.trace(np.array(scores["confusion"]["matrix"])) == 6


def test_all_wrong() -> None:
    scores = response_metrics(gold(CR, PR), predicted(PR, CR), USE_CASE, n_resamples=20)
    # observed agreement 0, chance agreement (1 * 1 + 1 * 1) / 4 = 0.5: kappa -1
    assert (scores["accuracy"], scores["macro_f1"], scores["kappa"]) == (0.0, 0.0, -1.0)
    assert scores["per_label"][CR]["recall"] == 0.0 and scores["per_label"][SD]["f1"] is None


def test_kappa_and_macro_f1_by_hand() -> None:
    truth = (CR, CR, PR, SD, PD, PD)
    guess = (CR, PR, PR, SD, PD, SD)
    scores = response_metrics(gold(*truth), predicted(*guess), USE_CASE, n_resamples=20)
    # p_o = 4/6; gold margins CR 2, PR 1, SD 1, PD 2 and predicted CR 1, PR 2, SD 2, PD 1:
    # p_e = (2 + 2 + 2 + 2) / 36 = 2/9, kappa = (2/3 - 2/9) / (1 - 2/9) = 4/7
    assert scores["kappa"] == round(4 / 7, 4) == 0.5714
    # each of the four responses has tp 1 and one error: F1 2/3; not_evaluable is undefined
    assert scores["macro_f1"] == 0.6667 and scores["accuracy"] == 0.6667
    assert scores["per_label"][NE] == {
        "precision": None,
        "recall": None,
        "f1": None,
        "tp": 0,
        "fp": 0,
        "fn": 0,
        "support": 0,
    }
    assert scores["confusion"]["matrix"][CLASSES.index(PD)][CLASSES.index(SD)] == 1


def test_missing_and_unknown_predictions_are_wrong() -> None:
    preds = [*predicted(SD, None), Record("d2", USE_CASE.id, "model", labels=["RP"])]
    preds.append(Record("other", USE_CASE.id, "model", labels=[SD]))
    scores = response_metrics(gold(SD, PD, PR, CR), preds, USE_CASE, n_resamples=20)
    assert scores["accuracy"] == 0.25
    documents = scores["documents"]
    assert (documents["gold"], documents["scored"], documents["missing_doc_ids"]) == (4, 4, 1)
    assert documents["unknown_doc_ids"] == 1
    none = CLASSES.index(NONE)
    assert [row[none] for row in scores["confusion"]["matrix"]][:4] == [1, 1, 0, 1]
    assert scores["per_label"][PD]["recall"] == 0.0 and scores["per_label"][PD]["fn"] == 1


def test_the_first_span_stands_for_missing_labels() -> None:
    spans = [Span(0, 14, PD, "progression")]
    preds = [Record("d0", USE_CASE.id, "model", spans=spans)]
    scores = response_metrics(gold(PD), preds, USE_CASE, n_resamples=5)
    assert scores["accuracy"] == 1.0 and scores["kappa"] is None  # one response everywhere


def test_empty_inputs() -> None:
    scores = response_metrics([], [], USE_CASE, n_resamples=5)
    assert scores["accuracy"] is scores["macro_f1"] is scores["kappa"] is None
    assert scores["bootstrap"]["macro_f1"] == {"value": None, "low": None, "high": None}
    assert scores["evidence"] == {"overlap_rate": None, "exact_rate": None, "documents": 0}
    assert scores["documents"]["gold"] == 0 and scores["per_label"][CR]["support"] == 0
    json.dumps(scores)


def test_gold_without_response_is_left_out() -> None:
    records = [*gold(SD), Record("empty", USE_CASE.id, "gold")]
    scores = response_metrics(records, predicted(SD), USE_CASE, n_resamples=5)
    assert scores["documents"]["without_gold_response"] == 1 and scores["accuracy"] == 1.0


def test_evidence_overlap_of_correct_documents() -> None:
    text = "Conclusion : maladie stable selon RECIST 1.1."
    evidence = Span(13, 44, SD, text[13:44])
    golds = [
        Record(f"d{i}", USE_CASE.id, "gold", labels=[x], spans=[replace(evidence, label=x)])
        for i, x in enumerate((SD, SD, SD, PD))
    ]
    preds = [
        Record("d0", USE_CASE.id, "m", labels=[SD], spans=[evidence]),  # exact
        Record("d1", USE_CASE.id, "m", labels=[SD], spans=[Span(13, 27, SD, "maladie stable")]),
        Record("d2", USE_CASE.id, "m", labels=[SD], spans=[Span(0, 10, SD, "Conclusion")]),
        Record("d3", USE_CASE.id, "m", labels=[SD], spans=[evidence]),  # wrong label: left out
    ]
    scores = response_metrics(golds, preds, USE_CASE, n_resamples=5)
    assert scores["evidence"] == {"overlap_rate": 0.6667, "exact_rate": 0.3333, "documents": 3}


def test_groups_bootstrap_and_errors() -> None:
    truth, guess = (SD, PD, PR, SD, CR, NE), (SD, PD, SD, SD, CR, PD)
    groups = {"d0": "cr_imagerie", "d1": "cr_imagerie", "d2": "cr_consultation"}
    scores = response_metrics(gold(*truth), predicted(*guess), USE_CASE, groups, seed=3)
    assert scores["by_group"]["cr_imagerie"] == {"accuracy": 1.0, "macro_f1": 1.0, "documents": 2}
    assert scores["by_group"]["unknown"]["documents"] == 3
    interval = scores["bootstrap"]["macro_f1"]
    assert interval["low"] <= interval["value"] <= interval["high"]
    again = response_metrics(gold(*truth), predicted(*guess), USE_CASE, groups, seed=3)
    assert again == scores
    with pytest.raises(ValueError, match="doc_id 'd0' appears twice"):
        response_metrics(gold(SD) + gold(PD), [], USE_CASE)
    with pytest.raises(ValueError, match="'d0': response 'RC'"):
        response_metrics(gold("RC"), [], USE_CASE)
    with pytest.raises(ValueError, match="n_resamples"):
        response_metrics([], [], USE_CASE, n_resamples=0)


def test_resample_formulas_equal_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = [CLASSES[i] for i in rng.integers(0, len(RESPONSES), size=30)]
        guess = [CLASSES[i] for i in rng.integers(0, len(CLASSES), size=30)]
        matrix = np.zeros((len(CLASSES), len(CLASSES)))
        for t, g in zip(truth, guess, strict=True):
            matrix[CLASSES.index(t), CLASSES.index(g)] += 1
        accuracy, kappa = _accuracy_kappa(matrix)
        expected_f1 = f1_score(
            truth, guess, labels=list(RESPONSES), average="macro", zero_division=np.nan
        )
        assert float(_macro_f1(matrix)) == pytest.approx(expected_f1)
        assert float(kappa) == pytest.approx(cohen_kappa_score(truth, guess, labels=list(CLASSES)))
        assert float(accuracy) == pytest.approx(
            np.mean([t == g for t, g in zip(truth, guess, strict=True)])
        )


# --------------------------------------------------------------------------- readers


@pytest.fixture
def metrics() -> dict[str, Any]:
    truth, guess = (SD, PD, PR, SD, CR, NE), (SD, PD, SD, SD, CR, None)
    scored, _ = score_baseline(USE_CASE, gold(*truth), predicted(*guess), "preannotator")
    return scored


def test_summary_of_response_metrics(metrics: dict[str, Any]) -> None:
    assert summary.is_class_metrics(metrics) and not summary.is_span_metrics(metrics)
    assert summary.headline(metrics) == "macro F1 over responses"
    main = summary.main_scores(metrics)
    assert main["f1"] == metrics["macro_f1"] == summary.macro_f1(metrics)
    assert (main["accuracy"], main["kappa"]) == (metrics["accuracy"], metrics["kappa"])
    assert main["low"] == metrics["bootstrap"]["macro_f1"]["low"] and main["high"] is not None
    rows = summary.label_scores(metrics)
    assert list(rows) == list(RESPONSES) and rows[PD]["f1"] == 1.0
    assert [r["label"] for r in per_label_rows(metrics)] == list(RESPONSES)


def test_release_files_and_report_render(metrics: dict[str, Any], tmp_path: Path) -> None:
    write_reports(tmp_path, {"preannotator": metrics})
    cells = json.loads((tmp_path / "baselines" / "preannotator_confusion.json").read_text())
    assert len(cells) == 6 and {"actual": NE, "predicted": NONE} in cells
    data = ReportData(
        use_case=USE_CASE.id,
        version="1.0.0",
        description=USE_CASE.description,
        provenance={},
        splits={"train": 10, "dev": 2, "test": 6},
        label_counts={"test": {SD: 2}},
        agreement=None,
        quality={},
        baselines={"preannotator": metrics},
        errors=[],
        changelog=None,
        limitations=[],
    )
    page = render_report(data, tmp_path / "report").read_text(encoding="utf-8")
    assert "Macro F1 over responses" in page and "<td>stable_disease</td>" in page
    assert page.count("<svg") >= 2  # F1 per response and the confusion matrix


def test_evaluate_renders_response_metrics(metrics: dict[str, Any]) -> None:
    bench = {"use_case": USE_CASE.id, "version": "1.0.0", "split": "test", "rev": None}
    text = evaluate.render(metrics | {"benchmark": bench | {"documents": 6}, "system": "x"})
    assert f"macro F1 over responses: P {metrics['macro_precision']}" in text
    assert "stable_disease" in text
