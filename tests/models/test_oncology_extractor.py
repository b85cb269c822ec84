"""The oncology pre-annotator: entities, qualifiers, biomarker relations and statuses.

Gold is written inline: ``<ent label=BIOMARKER id=h>HER2</ent> : <ent
label=BIOMARKER_RESULT of=h status=positive>score 3+</ent>`` is a marker, its result
(linked by ``of``) and the result's status; ``negated``, ``hypothetical`` and ``family`` set
a flag. Every text is synthetic.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from curation.metrics.spans import score_spans
from curation.models.oncology import build_extractor, train
from curation.models.oncology.extractor import OncologyExtractor
from curation.schema import Record, Span
from curation.settings import (
    EngineSettings,
    GenerateSettings,
    PreannotateSettings,
    SyntheticTrainingCorpus,
    TokenClassifierSettings,
    TrainUseCaseSettings,
)
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases import get

USE_CASE = get("oncology_extraction")
FLAGS = ("negated", "hypothetical", "family")
#: Rules alone reach 1.0 strict micro F1 on this held-out set (seed 7, 200 documents, the
#: generator's answer key); the bound leaves room for new generator wordings.
HELD_OUT_MIN_F1 = 0.97


@dataclass
class Gold:
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    attrs: list[dict[str, Any]] = field(default_factory=list)
    relations: set[tuple[int, int]] = field(default_factory=set)


def parse(marked: str) -> Gold:
    """Text and gold of an inline-annotated string."""
    gold = Gold("")
    ids: dict[str, int] = {}
    links: list[tuple[int, str]] = []
    pos = 0
    for match in re.finditer(r"<ent ([^>]*)>(.*?)</ent>", marked):
        gold.text += marked[pos : match.start()]
        options = {
            part.partition("=")[0]: part.partition("=")[2] for part in match.group(1).split()
        }
        start = len(gold.text)
        gold.text += match.group(2)
        gold.spans.append((start, len(gold.text), options["label"]))
        attrs: dict[str, Any] = {flag: flag in options for flag in FLAGS}
        if "status" in options:
            attrs["status"] = options["status"]
        gold.attrs.append(attrs)
        if "id" in options:
            ids[options["id"]] = len(gold.spans) - 1
        if "of" in options:
            links.append((len(gold.spans) - 1, options["of"]))
        pos = match.end()
    gold.text += marked[pos:]
    gold.relations = {(ids[of], result) for result, of in links}
    return gold


CASES = [
    "<ent label=HISTOLOGY>Carcinome canalaire infiltrant</ent> <ent label=GRADE>grade SBR II"
    "</ent> du <ent label=TUMOR_SITE>quadrant supéro-externe du sein gauche</ent>, "
    "<ent label=TNM>pT2N1aM0</ent>.",
    "<ent label=HISTOLOGY>Carcinome lobulaire infiltrant</ent> <ent label=GRADE>grade de Elston "
    "et Ellis 2</ent> du <ent label=TUMOR_SITE>sein droit</ent>, <ent label=TNM>ypT1bN0</ent>.",
    "<ent label=HISTOLOGY>Carcinome infiltrant de type non spécifique</ent> <ent label=GRADE>"
    "grade EE 3</ent> de l'<ent label=TUMOR_SITE>union des quadrants externes du sein droit"
    "</ent>.",
    "<ent label=HISTOLOGY>Adénocarcinome lieberkühnien</ent> <ent label=GRADE>moyennement "
    "différencié</ent> du <ent label=TUMOR_SITE>côlon sigmoïde</ent>, <ent label=TNM>pT3N1bM0"
    "</ent>.",
    "<ent label=HISTOLOGY>Adénocarcinome mucineux</ent> <ent label=GRADE>de bas grade</ent> du "
    "<ent label=TUMOR_SITE>côlon transverse</ent>.",
    "Masse du <ent label=TUMOR_SITE>lobe inférieur gauche</ent> : <ent label=HISTOLOGY>"
    "carcinome épidermoïde</ent> <ent label=GRADE>peu différencié</ent>, <ent label=TNM>"
    "cT4N3M1c</ent>.",
    "Décision : <ent label=TREATMENT>chimiothérapie adjuvante par FOLFOX</ent> puis "
    "<ent label=TREATMENT>radiothérapie stéréotaxique</ent>.",
    "- <ent label=TREATMENT>chimiothérapie adjuvante par 4 EC puis 12 paclitaxel "
    "hebdomadaire</ent>\n- <ent label=TREATMENT>hormonothérapie par létrozole</ent>",
    "- thérapie ciblée par <ent label=TREATMENT>trastuzumab et pertuzumab</ent>",
    "<ent label=TREATMENT>Tumorectomie avec ganglion sentinelle</ent> le 3 mars, puis "
    "<ent label=TREATMENT>immunothérapie par pembrolizumab</ent>.",
    "<ent label=TREATMENT>Colectomie segmentaire</ent> puis <ent label=TREATMENT>chimiothérapie "
    "par FOLFIRI et bévacizumab</ent>.",
    "- <ent label=BIOMARKER id=h>HER2</ent> : <ent label=BIOMARKER_RESULT of=h status=positive>"
    "score 3+</ent>.\n- <ent label=BIOMARKER id=r>RE</ent> : <ent label=BIOMARKER_RESULT of=r "
    "status=positive>positifs à 90 %</ent>.",
    "<ent label=BIOMARKER id=k>KRAS</ent> : <ent label=BIOMARKER_RESULT of=k status=negative>"
    "non muté</ent>.\n<ent label=BIOMARKER id=b>BRAF</ent> = <ent label=BIOMARKER_RESULT of=b "
    "status=positive>mutation V600E</ent>.",
    "<ent label=BIOMARKER_RESULT of=e status=negative>Absence de mutation</ent> de <ent "
    "label=BIOMARKER id=e>EGFR</ent>.",
    "<ent label=BIOMARKER id=p>PD-L1</ent> : <ent label=BIOMARKER_RESULT of=p "
    "status=not_assessed>non évaluable</ent>.\n<ent label=BIOMARKER id=h>HER2</ent> : <ent "
    "label=BIOMARKER_RESULT of=h status=equivocal>score 2+, ISH en cours</ent>.",
    # qualifiers, each with its affirmed counterpart
    "Pas d'indication à une <ent label=TREATMENT negated>radiothérapie</ent>.",
    "Indication à une <ent label=TREATMENT>radiothérapie adjuvante</ent>.",
    "En cas de positivité de <ent label=BIOMARKER hypothetical>EGFR</ent> sur un nouveau "
    "prélèvement, un traitement par <ent label=TREATMENT hypothetical>osimertinib</ent> pourra "
    "être discuté.",
    "Traitement par <ent label=TREATMENT>osimertinib</ent> débuté le 2 mai.",
    "ATCD familiaux : mère traitée pour un cancer du <ent label=TUMOR_SITE family>sein</ent>.",
    "Patiente traitée pour un cancer du <ent label=TUMOR_SITE>sein</ent> en 2019.",
    # no entity: a section title, the reason for a biopsy
    "FICHE RCP - ONCOLOGIE SEIN\nSuspicion de néoplasie du sein, biopsies.",
]


@pytest.fixture(scope="module")
def extractor() -> OncologyExtractor:
    """Rules only; the edsnlp pipeline is built once per process."""
    return build_extractor(USE_CASE, PreannotateSettings(use_model=False), None)


def check_record(text: str, record: Record) -> None:
    """Invariants of every record: exact text, sorted, no overlap, one attributes entry each."""
    spans = record.spans
    assert all(text[s.start : s.end] == s.text and s.end > s.start for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert {s.label for s in spans} <= set(USE_CASE.labels)
    assert [a["span"] for a in record.attributes] == list(range(len(spans)))
    for attrs, span in zip(record.attributes, spans, strict=True):
        assert all(isinstance(attrs[flag], bool) for flag in FLAGS)
        assert ("status" in attrs) == (span.label == "BIOMARKER_RESULT")
        if "status" in attrs:
            assert attrs["status"] in ("positive", "negative", "equivocal", "not_assessed")
            assert not attrs["negated"]  # a negative result is a status, never a negation
    for relation in record.relations:
        assert relation["type"] == "has_result"
        assert spans[relation["from"]].label == "BIOMARKER"
        assert spans[relation["to"]].label == "BIOMARKER_RESULT"


@pytest.mark.parametrize("marked", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_inline_gold(extractor: OncologyExtractor, marked: str) -> None:
    gold = parse(marked)
    [record] = list(extractor.predict([("d1", gold.text)]))
    check_record(gold.text, record)
    found = [(s.start, s.end, s.label) for s in record.spans]
    assert found == gold.spans, [s.text for s in record.spans]
    assert [{k: a[k] for k in a if k != "span"} for a in record.attributes] == gold.attrs
    assert {(r["from"], r["to"]) for r in record.relations} == gold.relations


def test_every_label_is_found(extractor: OncologyExtractor) -> None:
    labels = {label for marked in CASES for *_, label in parse(marked).spans}
    assert labels == set(USE_CASE.labels)


def test_rules_only_without_a_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, extractor: OncologyExtractor
) -> None:
    assert extractor.engine is None and extractor.origin == "oncology-extractor:rules"
    with caplog.at_level(logging.WARNING):
        fallback = build_extractor(USE_CASE, PreannotateSettings(), tmp_path / "missing")
    assert fallback.engine is None
    assert "curation train oncology_extraction" in caplog.text
    records = list(fallback.predict([("a", "Pas de lésion."), ("b", ""), ("c", CASES[0])]))
    assert [r.doc_id for r in records] == ["a", "b", "c"]
    assert records[0].spans == [] and records[1].spans == []
    assert all(r.origin == "oncology-extractor:rules" for r in records)


def test_streaming_is_deterministic(extractor: OncologyExtractor) -> None:
    docs = [(f"d{i}", parse(m).text) for i, m in enumerate(CASES)]
    first = [r.to_json() for r in extractor.predict(iter(docs))]
    again = [r.to_json() for r in extractor.predict(reversed(docs))]
    assert first == again[::-1]
    assert [json.loads(line)["doc_id"] for line in first] == [d for d, _ in docs]


class FakeEngine:
    """Stands for an InferenceEngine: fixed spans, whatever the text."""

    settings = EngineSettings(docs_per_chunk=2)
    origin = "model:fake@1"

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans

    def predict(self, docs: Any) -> Any:
        for doc_id, _ in docs:
            yield doc_id, [Span(s.start, s.end, s.label, s.text, s.score) for s in self.spans]


def test_model_spans_fill_gaps_and_are_qualified() -> None:
    text = "Pas de lésion du cardia. HER2 : score 3+. Pas d'indication à une radiothérapie."
    at = text.index
    model = [
        Span(at("cardia"), at("cardia") + 6, "TUMOR_SITE", "cardia", 0.93),  # rules miss it
        Span(at("HER2"), at("HER2") + 4, "BIOMARKER", "HER2", 0.97),  # agrees with the rules
        Span(at("score"), at("score") + 5, "BIOMARKER_RESULT", "score", 0.9),  # overlaps rules
        Span(at("une"), at("une") + 3, "TREATMENT", "une", 0.95),  # a function word
    ]
    extractor = OncologyExtractor(USE_CASE, FakeEngine(model))  # type: ignore[arg-type]
    assert extractor.origin == "oncology-extractor:rules+model:fake@1"
    records = list(extractor.predict([(f"d{i}", text) for i in range(3)]))
    for record in records:
        check_record(text, record)
        found = {
            (s.text, s.label): (s.origin, a)
            for s, a in zip(record.spans, record.attributes, strict=True)
        }
        assert set(found) == {
            ("cardia", "TUMOR_SITE"),
            ("HER2", "BIOMARKER"),
            ("score 3+", "BIOMARKER_RESULT"),
            ("radiothérapie", "TREATMENT"),
        }
        origin, attrs = found[("cardia", "TUMOR_SITE")]
        assert origin == "model:fake@1" and attrs["negated"]
        assert found[("HER2", "BIOMARKER")][0] == "rule:biomarkers+model:fake@1"
        assert found[("score 3+", "BIOMARKER_RESULT")][1]["status"] == "positive"
        assert record.relations == [{"from": 1, "to": 2, "type": "has_result"}]


def test_model_markers_and_results_are_linked() -> None:
    text = "Statut HRD : déficient."
    model = [
        Span(7, 10, "BIOMARKER", "HRD", 0.95),
        Span(13, 22, "BIOMARKER_RESULT", "déficient", 0.95),
    ]
    extractor = OncologyExtractor(USE_CASE, FakeEngine(model))  # type: ignore[arg-type]
    [record] = list(extractor.predict([("d", text)]))
    check_record(text, record)
    assert [s.text for s in record.spans] == ["HRD", "déficient"]
    assert record.relations == [{"from": 0, "to": 1, "type": "has_result"}]
    assert record.attributes[1]["status"] in ("positive", "negative", "equivocal", "not_assessed")


def test_held_out_synthetic_corpus(extractor: OncologyExtractor) -> None:
    settings = GenerateSettings(seed=7, n_documents=200, doc_types=["cr_anapath", "fiche_rcp"])
    items = [g for g in generate_documents(settings) if USE_CASE.id in g.records]
    gold = [g.records[USE_CASE.id] for g in items]
    predicted = list(extractor.predict((g.document.doc_id, g.document.text) for g in items))
    for item, record in zip(items, predicted, strict=True):
        check_record(item.document.text, record)
    scores = score_spans(gold, predicted, USE_CASE.labels)
    assert scores.strict.micro.f1 >= HELD_OUT_MIN_F1
    assert all((s.f1 or 0) >= 0.9 for s in scores.strict.per_label.values())
    agree = total = 0
    for g, p in zip(gold, predicted, strict=True):
        found = {(s.start, s.end, s.label): a for s, a in zip(p.spans, p.attributes, strict=True)}
        for s, a in zip(g.spans, g.attributes, strict=True):
            if (key := (s.start, s.end, s.label)) in found:
                total += 1
                agree += all(found[key].get(k) == a.get(k) for k in (*FLAGS, "status"))
    assert agree / total >= HELD_OUT_MIN_F1


def test_train_delegates_to_the_span_trainer(tmp_path: Path) -> None:
    settings = TrainUseCaseSettings(
        synthetic=SyntheticTrainingCorpus(
            seed=5, n_documents=12, n_sites=2, doc_types=["cr_anapath", "fiche_rcp"]
        ),
        model=TokenClassifierSettings(
            vocab_size=300,
            hidden_size=16,
            num_layers=1,
            num_heads=2,
            intermediate_size=32,
            max_length=64,
            stride=16,
            epochs=1,
            batch_size=16,
        ),
    )
    report = train(USE_CASE, settings, tmp_path / "model", progress=False)
    assert report.documents > 0 and (tmp_path / "model" / "config.json").exists()
    merged = build_extractor(USE_CASE, PreannotateSettings(), tmp_path / "model")
    assert merged.engine is not None and "+model:oncology_extraction@" in merged.origin
    text = parse(CASES[0]).text
    [record] = list(merged.predict([("d", text)]))
    check_record(text, record)
