"""Label-noise flags: planted defects in synthetic gold are found, clean gold stays quiet.

Gold comes from the synthetic generator (no real text); defects are planted by hand: a
``NOM`` relabelled ``VILLE``, a gold span deleted, a common word tagged ``NOM``, a CIM-10
code added to or removed from a letter. Each test runs in a few seconds on a CPU.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass

import pytest

from curation.quality.noise import (
    LABEL_KINDS,
    SPAN_KINDS,
    NoiseFlag,
    effective_folds,
    label_noise,
    noise_report,
    span_noise,
)
from curation.schema import Record, Span
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases.pseudonymisation import LABELS

PSEUDO = "pseudonymisation"
ICD = "icd10_coding"


@dataclass(frozen=True, slots=True)
class Planted:
    """A defect planted in gold and the flag kind expected for it."""

    kind: str
    doc_id: str
    start: int | None = None
    end: int | None = None
    label: str | None = None


@dataclass(slots=True)
class Corpus:
    texts: dict[str, str]
    gold: list[Record]


#: Noisy gold and the defects planted in it.
Planting = tuple[list[Record], list[Planted]]


def _corpus(use_case: str, n: int, doc_types: list[str] | None = None) -> Corpus:
    settings = GenerateSettings(seed=7, n_documents=n, doc_types=doc_types)
    items = [i for i in generate_documents(settings) if use_case in i.records]
    return Corpus(
        texts={i.document.doc_id: i.document.text for i in items},
        gold=[i.records[use_case] for i in items],
    )


def _copy(record: Record) -> Record:
    return Record(
        record.doc_id, record.use_case, record.origin, list(record.spans), list(record.labels)
    )


def _plant_spans(
    corpus: Corpus, per_kind: int, seed: int = 0
) -> tuple[list[Record], list[Planted]]:
    """Gold with ``per_kind`` relabelled, deleted and spurious spans, each in its own document."""
    rng = random.Random(seed)
    noisy = [_copy(r) for r in corpus.gold]
    planted: list[Planted] = []
    for k, record in enumerate(rng.sample(noisy, 3 * per_kind)):
        spans = record.spans
        if k < per_kind:
            i = rng.choice([i for i, s in enumerate(spans) if s.label == "NOM"])
            s = spans[i]
            spans[i] = Span(s.start, s.end, "VILLE", s.text)
            planted.append(Planted("relabel", record.doc_id, s.start, s.end))
        elif k < 2 * per_kind:
            s = spans.pop(
                rng.choice([i for i, s in enumerate(spans) if s.label in ("NOM", "DATE")])
            )
            planted.append(Planted("missed", record.doc_id, s.start, s.end))
        else:
            text = corpus.texts[record.doc_id]
            words = [
                m
                for m in re.finditer(r"\b[a-zé]{6,}\b", text)
                if not any(s.start < m.end() and s.end > m.start() for s in spans)
            ]
            m = rng.choice(words)
            spans.append(Span(m.start(), m.end(), "NOM", m.group()))
            planted.append(Planted("spurious", record.doc_id, m.start(), m.end()))
    return noisy, planted


def _span_found(p: Planted, flags: list[NoiseFlag]) -> bool:
    assert p.start is not None and p.end is not None
    return any(
        f.doc_id == p.doc_id
        and f.kind == p.kind
        and f.start is not None
        and f.end is not None
        and f.start < p.end
        and f.end > p.start
        for f in flags
    )


def _recall(planted: list[Planted], found: list[bool]) -> dict[str, float]:
    total = Counter(p.kind for p in planted)
    hits = Counter(p.kind for p, ok in zip(planted, found, strict=True) if ok)
    return {kind: hits[kind] / total[kind] for kind in total}


@pytest.fixture(scope="module")
def phi_corpus() -> Corpus:
    return _corpus(PSEUDO, 200)


@pytest.fixture(scope="module")
def planted_spans(phi_corpus: Corpus) -> tuple[list[Record], list[Planted], list[NoiseFlag]]:
    noisy, planted = _plant_spans(phi_corpus, per_kind=15)
    return noisy, planted, span_noise(noisy, phi_corpus.texts, LABELS)


def test_span_noise_finds_planted_defects(
    planted_spans: tuple[list[Record], list[Planted], list[NoiseFlag]],
) -> None:
    _, planted, flags = planted_spans
    recall = _recall(planted, [_span_found(p, flags) for p in planted])
    assert set(recall) == {"relabel", "missed", "spurious"}
    assert all(r >= 0.6 for r in recall.values()), recall
    relabels = [f for f in flags if f.kind == "relabel" and f.gold == "VILLE"]
    assert relabels and all(f.suggested == "NOM" for f in relabels)


def test_span_noise_is_quiet_on_clean_gold(phi_corpus: Corpus) -> None:
    flags = span_noise(phi_corpus.gold, phi_corpus.texts, LABELS)
    n_spans = sum(len(r.spans) for r in phi_corpus.gold)
    assert len(flags) / n_spans < 0.05


def test_span_flags_are_well_formed(
    phi_corpus: Corpus, planted_spans: tuple[list[Record], list[Planted], list[NoiseFlag]]
) -> None:
    _, _, flags = planted_spans
    assert flags
    confidences = [f.confidence for f in flags]
    assert confidences == sorted(confidences, reverse=True)
    for f in flags:
        assert f.kind in SPAN_KINDS
        assert 0.9 <= f.confidence <= 1 and round(f.confidence, 4) == f.confidence
        assert f.start is not None and f.end is not None
        assert 0 <= f.start < f.end <= len(phi_corpus.texts[f.doc_id])
        assert (f.gold is None) == (f.kind == "missed")
        assert (f.suggested is None) == (f.kind == "spurious")


def test_report_holds_no_document_text(
    phi_corpus: Corpus, planted_spans: tuple[list[Record], list[Planted], list[NoiseFlag]]
) -> None:
    noisy, _, flags = planted_spans
    report = noise_report(flags, n_documents=len(noisy), folds=5, threshold=0.9)
    dumped = json.dumps(report, ensure_ascii=False)
    flagged = [phi_corpus.texts[f.doc_id][f.start : f.end] for f in flags]
    words = {w for text in flagged for w in re.findall(r"[^\W\d_]{4,}", text)}
    assert words
    assert not [w for w in words if w in dumped]
    assert report["n_flags"] == len(flags) == len(report["flags"])
    assert sum(report["by_kind"].values()) == len(flags)
    assert sum(sum(c.values()) for c in report["by_label"].values()) == len(flags)
    assert report["settings"] == {"folds": 5, "threshold": 0.9}
    assert 0 < report["flagged_document_rate"] <= 1


def test_flag_dict_is_json_ready() -> None:
    flag = NoiseFlag("doc-1", 3, 9, "NOM", None, 0.9812, "spurious")
    assert json.loads(json.dumps(flag.to_dict())) == {
        "doc_id": "doc-1",
        "start": 3,
        "end": 9,
        "gold": "NOM",
        "suggested": None,
        "confidence": 0.9812,
        "kind": "spurious",
    }


def test_few_documents(phi_corpus: Corpus) -> None:
    texts = phi_corpus.texts
    assert span_noise([], texts, LABELS) == []
    assert span_noise(phi_corpus.gold[:1], texts, LABELS) == []
    assert label_noise(phi_corpus.gold[:1], texts, LABELS) == []
    assert effective_folds(3, 5) == 3
    flags = span_noise(phi_corpus.gold[:3], texts, LABELS, folds=5)
    assert all(f.kind in SPAN_KINDS for f in flags)


def test_span_noise_errors_name_the_document(phi_corpus: Corpus) -> None:
    record = _copy(phi_corpus.gold[0])
    span = record.spans[0]
    record.spans[0] = Span(span.start, span.end, "PATIENT", span.text)
    with pytest.raises(ValueError, match=record.doc_id) as error:
        span_noise([record, *phi_corpus.gold[1:3]], phi_corpus.texts, LABELS)
    assert span.text not in str(error.value)
    with pytest.raises(ValueError, match="no document text"):
        span_noise(phi_corpus.gold[:3], {}, LABELS)


# --- document labels -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def icd_corpus() -> Corpus:
    return _corpus(ICD, 300, doc_types=["crh", "lettre_liaison"])


def _plant_labels(
    corpus: Corpus, per_kind: int, seed: int = 0
) -> tuple[list[Record], list[Planted]]:
    """Gold with ``per_kind`` codes removed (expect ``label_missing``) and ``per_kind`` wrong
    codes added (expect ``label_absent``), among codes of at least 10 documents."""
    counts = Counter(code for r in corpus.gold for code in r.labels)
    common = sorted(code for code, n in counts.items() if n >= 10)
    rng = random.Random(seed)
    noisy = [_copy(r) for r in corpus.gold]
    planted: list[Planted] = []
    for k, record in enumerate(rng.sample(noisy, 2 * per_kind)):
        if k < per_kind:
            code = rng.choice([c for c in record.labels if c in common] or record.labels)
            record.labels.remove(code)
            planted.append(Planted("label_missing", record.doc_id, label=code))
        else:
            code = rng.choice([c for c in common if c not in record.labels])
            record.labels.append(code)
            planted.append(Planted("label_absent", record.doc_id, label=code))
    return noisy, planted


def _label_found(p: Planted, flags: list[NoiseFlag]) -> bool:
    return any(
        f.doc_id == p.doc_id and f.kind == p.kind and p.label in (f.gold, f.suggested)
        for f in flags
    )


def test_label_noise_finds_planted_codes(icd_corpus: Corpus) -> None:
    noisy, planted = _plant_labels(icd_corpus, per_kind=10)
    flags = label_noise(noisy, icd_corpus.texts, [])
    found = [_label_found(p, flags) for p in planted]
    recall = _recall(planted, found)
    # A wrong code is easy to spot; a removed comorbidity code much less so (its words also
    # appear negated, "Pas de SAOS", in other letters), hence the lower overall bar.
    assert recall["label_absent"] >= 0.6, recall
    assert sum(found) / len(found) >= 0.5, recall
    assert all(f.kind in LABEL_KINDS and f.start is None and f.end is None for f in flags)
    assert all(f.confidence >= 0.9 for f in flags)


def test_label_noise_is_quiet_on_clean_gold(icd_corpus: Corpus) -> None:
    flags = label_noise(icd_corpus.gold, icd_corpus.texts, [])
    n_labels = sum(len(r.labels) for r in icd_corpus.gold)
    assert len(flags) / n_labels < 0.05


def test_label_noise_checks_only_the_given_labels_with_enough_positives(
    icd_corpus: Corpus,
) -> None:
    noisy = [_copy(r) for r in icd_corpus.gold]
    for record in noisy[:4]:  # fewer positives than folds: never judged
        record.labels.append("Z999")
    for record in [r for r in noisy if "E039" not in r.labels][:3]:  # wrong codes
        record.labels.append("E039")
    flags = label_noise(noisy, icd_corpus.texts, ["Z999", "E039"])
    assert {f.gold or f.suggested for f in flags} == {"E039"}
    assert label_noise(noisy, icd_corpus.texts, ["Z999"]) == []
