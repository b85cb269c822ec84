"""The pseudonymisation detector: rules and model merged into one record per document."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.models.engine import InferenceEngine
from curation.models.phi import PhiDetector, build_detector
from curation.models.rules import PhiRules
from curation.settings import EngineSettings, PreannotateSettings
from curation.usecases import get

USE_CASE = get("pseudonymisation")
TEXT = (
    "Patiente : Mme Jeanne PETIT, née le 12/03/1950, IPP : 8012345678\n"
    "Tél : +33 6 12 34 56 78 - jeanne.petit@orange.fr\n"
    "Suivie pour une maladie de Crohn. Revue le 3 avril 2024."
)


def test_rules_only_detector_finds_the_structured_identifiers() -> None:
    detector = PhiDetector(USE_CASE, PhiRules())
    [record] = list(detector.predict([("d1", TEXT)]))
    assert record.use_case == "pseudonymisation" and record.origin == "phi-detector:rules"
    found = {(s.label, s.text) for s in record.spans}
    assert {
        ("DATE_NAISSANCE", "12/03/1950"),
        ("IPP", "8012345678"),
        ("TEL", "+33 6 12 34 56 78"),
        ("MAIL", "jeanne.petit@orange.fr"),
        ("DATE", "3 avril 2024"),
    } <= found
    assert not any("Crohn" in s.text for s in record.spans)


def test_model_and_rules_merge_without_overlap(tiny_model: Path) -> None:
    engine = InferenceEngine(tiny_model, EngineSettings())
    detector = PhiDetector(USE_CASE, PhiRules(), engine)
    assert detector.origin.startswith("phi-detector:rules+model:pseudonymisation@")
    docs = [(f"d{i}", TEXT * (i + 1)) for i in range(5)] + [("empty", "")]
    records = list(detector.predict(docs))
    assert [r.doc_id for r in records] == [d for d, _ in docs]
    for (_, text), record in zip(docs, records, strict=True):
        spans = sorted(record.spans, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
        assert all(text[s.start : s.end] == s.text and s.origin for s in spans)
        assert set(s.label for s in spans) <= set(USE_CASE.labels)


def test_build_detector_refuses_an_untrained_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="curation train pseudonymisation"):
        build_detector(USE_CASE, PreannotateSettings(), tmp_path / "missing")
    rules_only = build_detector(USE_CASE, PreannotateSettings(use_model=False), None)
    assert rules_only.engine is None
