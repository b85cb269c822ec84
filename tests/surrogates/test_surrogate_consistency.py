"""Surrogates are consistent within a patient, differ between patients, depend on the key only."""

from __future__ import annotations

import re

import pytest

from curation.schema import Span
from curation.surrogates import Pseudonymiser, SpanError, SurrogateConfig

KEY = b"cle-de-test-coherence-0123456789"
DOCS = [
    ("d1", "Mme Sophie DUPONT, née le 12/03/1961, IPP 8009297173, vue à Lyon le 02/04/2024."),
    ("d2", "Courrier pour Mme Dupont (Sophie), IPP 8009297173. Prochain RDV le 12 mai 2024."),
    ("d3", "dupont sophie, tél. 06 12 34 56 78, 12 rue des Lilas, 69003 LYON."),
]
PATTERNS = {
    "NOM": r"(?i)\bdupont\b",
    "PRENOM": r"(?i)\bsophie\b",
    "DATE": r"\d\d/\d\d/\d{4}|\d+ mai \d{4}",
    "IPP": r"\b80\d{8}\b",
    "VILLE": r"(?i)\blyon\b",
    "TEL": r"06 12 34 56 78",
    "ADRESSE": r"12 rue des Lilas",
    "ZIP": r"\b69003\b",
}


def spans(text: str) -> list[Span]:
    out = []
    for label, pattern in PATTERNS.items():
        for m in re.finditer(pattern, text):
            out.append(Span(m.start(), m.end(), label, m.group()))
    return out


def surrogates(
    pseudo: Pseudonymiser, docs: list[tuple[str, str]], patient: str | None = "p1"
) -> dict[tuple[str, str], set[str]]:
    """(label, folded original) -> the surrogates it got, over all documents."""
    found: dict[tuple[str, str], set[str]] = {}
    for doc_id, text in docs:
        out = pseudo.pseudonymise(text, spans(text), doc_id=doc_id, patient_id=patient)
        assert all(out.text[s.start : s.end] == s.text for s in out.spans)
        for r in out.replacements:
            found.setdefault((r.label, r.original.lower()), set()).add(r.surrogate.lower())
    return found


def test_same_value_same_surrogate_in_every_document_of_a_patient() -> None:
    found = surrogates(Pseudonymiser(KEY), DOCS)
    assert found[("NOM", "dupont")] and len(found[("NOM", "dupont")]) == 1
    assert len(found[("PRENOM", "sophie")]) == 1
    assert len(found[("IPP", "8009297173")]) == 1
    assert len(found[("VILLE", "lyon")]) == 1


def test_document_order_does_not_matter() -> None:
    forward = surrogates(Pseudonymiser(KEY), DOCS)
    backward = surrogates(Pseudonymiser(KEY), DOCS[::-1])
    assert forward == backward


def test_other_patients_and_other_keys_get_other_surrogates() -> None:
    pseudo = Pseudonymiser(KEY)
    names = set()
    for i in range(40):
        out = pseudo.pseudonymise(
            "M. Dupont", [Span(3, 9, "NOM", "Dupont")], doc_id=f"d{i}", patient_id=f"pat-{i}"
        )
        names.add(out.spans[0].text)
    assert len(names) >= 25
    offsets = {pseudo.patient(f"d{i}", f"pat-{i}").date_offset for i in range(40)}
    assert len(offsets) >= 30
    other_key = surrogates(Pseudonymiser(b"une-autre-cle-secrete-0123"), DOCS)
    assert other_key != surrogates(Pseudonymiser(KEY), DOCS)


def test_a_document_without_patient_is_its_own_patient() -> None:
    pseudo = Pseudonymiser(KEY)
    offsets = {pseudo.patient(f"doc-{i}", None).date_offset for i in range(20)}
    assert len(offsets) > 10


def test_date_offset_is_never_zero_and_within_range() -> None:
    pseudo = Pseudonymiser(KEY, SurrogateConfig(date_shift_min_days=1, date_shift_max_days=3))
    offsets = [pseudo.patient(f"d{i}", f"p{i}").date_offset for i in range(300)]
    assert set(offsets) == {-3, -2, -1, 1, 2, 3}


def test_bad_spans_are_refused_without_their_text() -> None:
    pseudo = Pseudonymiser(KEY)
    text = "Mme Dupont"
    with pytest.raises(SpanError, match="doc_id 'd1', span 4:10") as info:
        pseudo.pseudonymise(text, [Span(4, 10, "NOM", "Durand")], doc_id="d1")
    assert "Dupont" not in str(info.value) and "Durand" not in str(info.value)
    with pytest.raises(SpanError, match="unknown label"):
        pseudo.pseudonymise(text, [Span(4, 10, "PERSON", "Dupont")], doc_id="d1")
    with pytest.raises(SpanError, match="outside"):
        pseudo.pseudonymise(text, [Span(4, 12, "NOM", "Dupont")], doc_id="d1")


def test_overlapping_predictions_are_merged_and_counted() -> None:
    text = "Dr Jean Dupont"
    out = Pseudonymiser(KEY).pseudonymise(
        text, [Span(3, 14, "NOM", "Jean Dupont"), Span(8, 14, "NOM", "Dupont")], doc_id="d1"
    )
    assert out.merged_overlaps == 1 and len(out.spans) == 1
    assert "Dupont" not in out.text and out.text.startswith("Dr ")
