"""The treatment response predictor: RECIST rules, classifier, combination, model folder.

A small classifier is trained once per module on a few hundred synthetic follow-up reports
(seconds on a CPU); held-out reports come from another generator seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.io import InputError
from curation.metrics.response import response_metrics
from curation.models.response import (
    ResponsePredictor,
    ResponseTrainReport,
    build_classifier,
    train,
)
from curation.models.response.predictor import CLASSIFIER, RULES, RULES_VERSION
from curation.models.response.rules import find_cues, find_response, sentences
from curation.models.response.store import META_FILE, load
from curation.schema import Record
from curation.settings import (
    GenerateSettings,
    PreannotateSettings,
    ResponseSettings,
    SyntheticTrainingCorpus,
    TrainUseCaseSettings,
)
from curation.sources.synthetic.corpus import generate_documents
from curation.stages.train import render
from curation.studio.converters import record_to_task
from curation.usecases.oncology_response import RESPONSES, USE_CASE

FOLLOW_UP_TYPES = ["cr_imagerie", "cr_consultation"]


def settings(n_documents: int, seed: int = 5, validation: float = 0.2) -> TrainUseCaseSettings:
    corpus = SyntheticTrainingCorpus(
        seed=seed, n_documents=n_documents, n_sites=10, doc_types=FOLLOW_UP_TYPES
    )
    return TrainUseCaseSettings(
        synthetic=corpus, response=ResponseSettings(validation_share=validation)
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[ResponseTrainReport, Path]:
    folder = tmp_path_factory.mktemp("response")
    return train(USE_CASE, settings(600), folder, progress=False), folder


@pytest.fixture(scope="module")
def predictor(trained: tuple[ResponseTrainReport, Path]) -> ResponsePredictor:
    return build_classifier(USE_CASE, PreannotateSettings(), trained[1])


@pytest.fixture(scope="module")
def held_out() -> list[tuple[str, str, Record]]:
    """Follow-up reports of another seed than training: (doc_id, text, gold record)."""
    generated = generate_documents(
        GenerateSettings(seed=77, n_documents=600, sites=["chu-test"], doc_types=FOLLOW_UP_TYPES)
    )
    return [
        (g.document.doc_id, g.document.text, g.records[USE_CASE.id])
        for g in generated
        if USE_CASE.id in g.records
    ]


def predict_one(predictor: ResponsePredictor, text: str) -> Record:
    return next(iter(predictor.predict([("d1", text)])))


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("text", "label", "evidence"),
    [
        (
            "Conclusion : réponse complète avec disparition de toutes les lésions cibles.",
            "complete_response",
            "réponse complète avec disparition de toutes les lésions cibles",
        ),
        (
            "CONCLUSION : Réponse métabolique complète.",
            "complete_response",
            "Réponse métabolique complète",
        ),
        (
            "Au total : rémission complète, poursuite de la surveillance.",
            "complete_response",
            "rémission complète, poursuite de la surveillance",
        ),
        (
            "Conclusion : réponse partielle selon RECIST 1.1 avec diminution de 42 % de la "
            "somme des diamètres.",
            "partial_response",
            "réponse partielle selon RECIST 1.1 avec diminution de 42 % de la somme des diamètres",
        ),
        ("Conclusion : maladie stable selon RECIST 1.1.", "stable_disease", None),
        ("Conclusion : stabilité des lésions cibles.", "stable_disease", None),
        (
            "Conclusion : progression de la maladie avec apparition de nouvelles lésions.",
            "progression",
            None,
        ),
        (
            "Conclusion : progression selon RECIST 1.1 (+ 28 % de la somme des diamètres).",
            "progression",
            "progression selon RECIST 1.1 (+ 28 % de la somme des diamètres)",
        ),
        ("Conclusion : apparition d'une nouvelle lésion hépatique.", "progression", None),
        (
            "Conclusion : réponse non évaluable selon RECIST, lésions non mesurables.",
            "not_evaluable",
            None,
        ),
        (
            "Conclusion : examen non évaluable du fait d'artefacts.",
            "not_evaluable",
            "examen non évaluable du fait d'artefacts",
        ),
    ],
)
def test_each_response_and_its_evidence(text: str, label: str, evidence: str | None) -> None:
    answer = find_response("Indication : Évaluation sous FOLFOX.\n" + text + "\n\nDr Martin")
    assert answer is not None and answer.label == label and not answer.ambiguous
    expected = evidence or text.removeprefix("Conclusion : ").removesuffix(".")
    assert answer.evidence.text == expected
    assert answer.in_conclusion


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Conclusion : pas de progression, maladie stable.", "stable_disease"),
        (
            "Conclusion : absence de nouvelle lésion. Stabilité des lésions cibles.",
            "stable_disease",
        ),
        ("Conclusion : absence de progression et stabilité des lésions cibles.", "stable_disease"),
        ("Conclusion : maladie stable sans nouvelle lésion.", "stable_disease"),
        (
            "Conclusion : pas d'argument en faveur d'une progression. Réponse partielle.",
            "partial_response",
        ),
        (
            "Conclusion : réponse partielle, pas de nouvelle lésion ni de progression.",
            "partial_response",
        ),
        ("Conclusion : réponse complète. Pas d'artefact.", "complete_response"),
    ],
)
def test_negated_cues_do_not_count(text: str, label: str) -> None:
    answer = find_response(text)
    assert answer is not None and (answer.label, answer.ambiguous) == (label, False)


@pytest.mark.parametrize(
    "text",
    [
        "Conclusion : absence de nouvelle lésion et de progression.",
        "Conclusion : pas de progression.",
        "Conclusion : suspicion de progression, à recontrôler.",
        "Conclusion : nouvelle lésion à confirmer par IRM.",
        "Conclusion : aspect de pseudo-progression.",
        "Indication : Évaluation sous FOLFOX. Examen comparé au précédent.",
    ],
)
def test_nothing_affirmed_gives_no_answer(text: str) -> None:
    assert find_response(text) is None


def test_negation_and_hypothesis_flags() -> None:
    text = "Absence de nouvelle lésion et de progression, suspicion de progression osseuse."
    flags = [(c.label, c.negated, c.hypothetical) for c in find_cues(text, 0, len(text))]
    assert flags == [
        ("progression", True, False),
        ("progression", True, False),
        ("progression", False, True),
    ]


def test_the_conclusion_wins_over_the_results() -> None:
    text = (
        "Résultats :\nProgression de la lésion hépatique de segment IV.\n"
        "Conclusion : maladie stable selon RECIST 1.1.\n\nDr Martin"
    )
    answer = find_response(text)
    assert answer is not None and answer.label == "stable_disease" and answer.in_conclusion
    assert answer.evidence.text == "maladie stable selon RECIST 1.1"
    body = find_response(text.replace("Conclusion : maladie stable selon RECIST 1.1.", ""))
    assert body is not None and body.label == "progression" and not body.in_conclusion
    assert body.evidence.text == "Progression de la lésion hépatique de segment IV"


def test_a_title_alone_opens_the_conclusion() -> None:
    text = "Résultats : réponse partielle.\nCONCLUSION\nMaladie stable.\n\nDr Martin"
    answer = find_response(text)
    assert answer is not None and answer.label == "stable_disease"
    assert answer.evidence.text == "Maladie stable"


def test_progression_wins_over_other_affirmed_responses() -> None:
    text = (
        "Conclusion : réponse partielle des lésions cibles. "
        "Apparition d'une nouvelle lésion hépatique."
    )
    answer = find_response(text)
    assert answer is not None and (answer.label, answer.ambiguous) == ("progression", False)
    assert answer.evidence.text == "Apparition d'une nouvelle lésion hépatique"
    assert answer.labels == ("partial_response", "progression")


def test_conflicting_responses_are_ambiguous_and_least_favourable() -> None:
    answer = find_response("Conclusion : réponse partielle, maladie stable.")
    assert answer is not None and answer.ambiguous and answer.label == "stable_disease"
    assert answer.labels == ("partial_response", "stable_disease")


def test_weak_cues_yield_to_strong_ones() -> None:
    answer = find_response("Conclusion : maladie stable, lésions non mesurables inchangées.")
    assert answer is not None and (answer.label, answer.ambiguous) == ("stable_disease", False)
    alone = find_response("Conclusion : examen limité par des artefacts de mouvement.")
    assert alone is not None and alone.label == "not_evaluable"


@pytest.mark.parametrize(
    ("phrase", "label"),
    [
        ("diminution de 42 % de la somme des diamètres", "partial_response"),
        ("diminution de 30 % de la somme des diamètres", "partial_response"),
        ("diminution de 29 % de la somme des diamètres", "stable_disease"),
        ("baisse de 29,5% de la somme des diamètres", "stable_disease"),
        ("somme des diamètres à - 35 %", "partial_response"),
        ("diminution de 100 % de la somme des diamètres", "complete_response"),
        ("augmentation de 20 % de la somme des diamètres", "progression"),
        ("+ 28 % de la somme des diamètres", "progression"),
        ("augmentation de 19,5 % de la somme des diamètres", "stable_disease"),
        ("progression de 10 % de la somme des diamètres", "stable_disease"),
    ],
)
def test_recist_percentage_thresholds(phrase: str, label: str) -> None:
    answer = find_response(f"Conclusion : {phrase}.")
    assert answer is not None and answer.label == label


def test_evidence_offsets_slice_the_text() -> None:
    texts = [
        "Conclusion : réponse partielle franche.",
        "  - Conclusion: maladie stable.\n",
        "Résultats : lésion de 12 mm, diminution de 35 %. Pas de nouvelle lésion.\nFin",
        "Conclusion :\n\nProgression osseuse.",
    ]
    for text in texts:
        answer = find_response(text)
        assert answer is not None
        for evidence in answer.evidences.values():
            assert text[evidence.start : evidence.end] == evidence.text
            assert evidence.text == evidence.text.strip() and not evidence.text.endswith(".")


def test_sentences_keep_recist_versions_whole() -> None:
    text = "Conclusion : maladie stable selon RECIST 1.1. Pas de nouvelle lésion.\nDr X"
    assert [text[a:b] for a, b in sentences(text)] == [
        "Conclusion : maladie stable selon RECIST 1.1.",
        "Pas de nouvelle lésion.",
        "Dr X",
    ]


def test_rules_match_the_synthetic_answer_key(held_out: list[tuple[str, str, Record]]) -> None:
    assert len(held_out) >= 100
    for doc_id, text, gold in held_out:
        answer = find_response(text)
        assert answer is not None, doc_id
        assert answer.label == gold.labels[0], doc_id
        span = gold.spans[0]
        assert (answer.evidence.start, answer.evidence.end) == (span.start, span.end), doc_id


# --------------------------------------------------------------------------- training


def test_training_report_and_model_folder(trained: tuple[ResponseTrainReport, Path]) -> None:
    report, folder = trained
    assert report.documents >= 100 and report.source == "synthetic"
    assert sum(report.responses.values()) == report.documents
    assert set(report.responses) == set(RESPONSES)
    assert report.model_version.startswith("oncology_response-tfidf-lr-")
    validation = report.validation
    assert validation["documents"] == int(report.documents * 0.2)
    for name in ("rules", "classifier", "combined"):
        assert validation[name]["accuracy"] >= 0.9, name
    line = render(report).splitlines()[0]
    assert line.startswith(f"trained {folder}") and "combined accuracy" in line
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    assert meta["model_version"] == report.model_version and meta["data_sha256"]
    assert meta["settings"]["rule_score"] == 0.9 and meta["rules_version"] == RULES_VERSION
    assert set(load(folder).classifier.learnt) == set(RESPONSES)


def test_same_data_same_model_version(tmp_path: Path) -> None:
    first = train(USE_CASE, settings(150, validation=0.0), tmp_path / "a", progress=False)
    again = train(USE_CASE, settings(150, validation=0.0), tmp_path / "b", progress=False)
    other = train(USE_CASE, settings(150, seed=6, validation=0.0), tmp_path / "c", progress=False)
    assert first.model_version == again.model_version != other.model_version
    assert first.validation == {}


def test_trains_on_expert_gold(tmp_path: Path) -> None:
    generated = generate_documents(
        GenerateSettings(seed=8, n_documents=200, sites=["chu-nord"], doc_types=FOLLOW_UP_TYPES)
    )
    items = [g for g in generated if USE_CASE.id in g.records]
    gold, documents = tmp_path / "gold.jsonl", tmp_path / "documents.jsonl"
    gold.write_text("".join(g.records[USE_CASE.id].to_json() + "\n" for g in items))
    documents.write_text(
        "".join(
            json.dumps({"doc_id": g.document.doc_id, "text": g.document.text}) + "\n" for g in items
        )
    )
    expert = TrainUseCaseSettings(gold=str(gold), documents=str(documents))
    report = train(USE_CASE, expert, tmp_path / "model", progress=False)
    assert report.source == "gold" and report.documents == len(items)

    wrong = items[0].records[USE_CASE.id]
    wrong.labels = ["réponse partielle"]
    gold.write_text(wrong.to_json() + "\n")
    with pytest.raises(InputError, match=rf"{wrong.doc_id}.*réponse partielle"):
        train(USE_CASE, expert, tmp_path / "model", progress=False)


def test_training_needs_two_responses(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"train\.oncology_response"):
        train(USE_CASE, settings(3), tmp_path, progress=False)


# --------------------------------------------------------------------------- predictor


def test_held_out_synthetic(
    predictor: ResponsePredictor, held_out: list[tuple[str, str, Record]]
) -> None:
    docs = [(doc_id, text) for doc_id, text, _ in held_out]
    gold = [record for _, _, record in held_out]
    alone = ResponsePredictor(USE_CASE, predictor.model, use_rules=False)
    for system, bound in ((predictor, 0.98), (alone, 0.9)):
        scores = response_metrics(gold, list(system.predict(docs)), USE_CASE, n_resamples=50)
        assert scores["accuracy"] >= bound and scores["macro_f1"] >= bound
        assert scores["evidence"]["overlap_rate"] >= 0.9


def test_record_shape_and_label_studio_task(predictor: ResponsePredictor) -> None:
    text = (
        "Indication : Évaluation sous pembrolizumab.\n"
        "Conclusion : réponse partielle franche.\n\nDr Martin"
    )
    record = predict_one(predictor, text)
    assert record.labels == ["partial_response"] and record.use_case == USE_CASE.id
    (span,) = record.spans
    assert span.label == "partial_response" and text[span.start : span.end] == span.text
    provenance = record.provenance
    assert provenance["source"] == RULES and span.score == provenance["score"] >= 0.9
    suggestions = provenance["suggestions"]
    assert suggestions[0]["code"] == "partial_response"
    assert {s["code"] for s in suggestions} == set(RESPONSES)
    assert sum(s["score"] for s in suggestions) == pytest.approx(1.0, abs=1e-3)
    assert sum(s["probability"] for s in suggestions) == pytest.approx(1.0, abs=1e-3)
    assert RULES in suggestions[0]["sources"] and CLASSIFIER in suggestions[0]["sources"]
    task = record_to_task(USE_CASE, {"doc_id": "d1", "text": text}, record, model_version="v")
    assert task["predictions"][0]["score"] == span.score


def test_the_classifier_answers_when_the_rules_find_nothing(predictor: ResponsePredictor) -> None:
    text = (
        "Indication : Évaluation sous FOLFOX.\nRésultats :\nPas de lésion cible résiduelle "
        "visible.\nConclusion : aspect superposable à l'examen antérieur.\n\nDr Martin"
    )
    record = predict_one(predictor, text)
    assert record.provenance["source"] == CLASSIFIER and len(record.labels) == 1
    assert record.labels[0] in RESPONSES
    (span,) = record.spans
    assert span.text == "aspect superposable à l'examen antérieur"
    best = record.provenance["suggestions"][0]
    assert best["code"] == record.labels[0] and best["score"] == record.provenance["score"]


def test_ambiguous_rules_defer_to_the_classifier(predictor: ResponsePredictor) -> None:
    text = "Conclusion : réponse partielle, maladie stable.\n"
    record = predict_one(predictor, text)
    assert record.provenance["ambiguous"] is True
    assert record.provenance["source"] == CLASSIFIER
    rules_only = predict_one(ResponsePredictor(USE_CASE, None), text)
    assert rules_only.labels == ["stable_disease"] and rules_only.provenance["ambiguous"]
    assert rules_only.spans[0].score == ResponseSettings().ambiguous_score


def test_rules_only_mode(tmp_path: Path) -> None:
    rules = build_classifier(USE_CASE, PreannotateSettings(use_model=False), tmp_path)
    assert rules.model is None and rules.origin == f"response:{RULES_VERSION}"
    record = predict_one(rules, "Conclusion : progression osseuse.")
    assert record.labels == ["progression"] and record.spans[0].text == "progression osseuse"
    assert record.provenance["suggestions"] == [
        {"code": "progression", "score": 0.9, "sources": [RULES]}
    ]
    empty = predict_one(rules, "Conclusion : examen comparé au précédent.")
    assert empty.labels == [] and empty.spans == [] and empty.provenance["score"] == 0.0
    with pytest.raises(ValueError, match="rules, the classifier or both"):
        ResponsePredictor(USE_CASE, None, use_rules=False)


def test_deterministic_predictions(
    trained: tuple[ResponseTrainReport, Path], held_out: list[tuple[str, str, Record]]
) -> None:
    docs = [(doc_id, text) for doc_id, text, _ in held_out[:40]]
    first = [
        r.to_json()
        for r in build_classifier(USE_CASE, PreannotateSettings(), trained[1]).predict(docs)
    ]
    again = [
        r.to_json()
        for r in build_classifier(USE_CASE, PreannotateSettings(), trained[1]).predict(docs)
    ]
    assert first == again and len(first) == 40


def test_missing_or_foreign_model_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="curation train oncology_response"):
        build_classifier(USE_CASE, PreannotateSettings(), tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="use_model: false"):
        build_classifier(USE_CASE, PreannotateSettings(), None)


def test_a_model_of_another_format_is_refused(
    trained: tuple[ResponseTrainReport, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in trained[1].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    (folder / META_FILE).write_text(json.dumps(meta | {"format": "icd10-coder.v2"}))
    with pytest.raises(ValueError, match="retrain with `curation train oncology_response`"):
        load(folder)
