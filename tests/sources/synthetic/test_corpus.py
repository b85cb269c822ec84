"""The synthetic corpus: determinism, exact offsets for every label, hard cases, structure."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.cim10 import code_list
from curation.french import nir_key
from curation.schema import DOC_TYPES
from curation.settings import GenerateSettings, NoiseSettings
from curation.sources.synthetic.corpus import Generated, generate_documents
from curation.sources.synthetic.vocab import COMMON_WORD_SURNAMES, EPONYM_SENTENCES
from curation.usecases import REGISTRY
from curation.usecases.clinical_summary import SECTIONS
from curation.usecases.oncology_extraction import STATUSES
from curation.usecases.oncology_response import RESPONSES

NOISY = NoiseSettings(
    typo_rate=0.2, case_rate=0.3, ocr_rate=0.2, missing_section_rate=0.3, lowercase_name_rate=0.3
)


@pytest.fixture(scope="module")
def corpus() -> list[Generated]:
    """Three thousand documents with heavy noise: offsets must hold all the same."""
    return list(generate_documents(GenerateSettings(seed=7, n_documents=3000, noise=NOISY)))


def check_offsets(items: list[Generated]) -> int:
    """Every span of every answer key is exact; returns how many spans were checked."""
    checked = 0
    for item in items:
        text = item.document.text
        for use_case, record in item.records.items():
            assert record.doc_id == item.document.doc_id
            for span in record.spans:
                assert 0 <= span.start < span.end <= len(text), (use_case, record.doc_id)
                assert text[span.start : span.end] == span.text, (use_case, record.doc_id)
                checked += 1
    return checked


def test_every_span_of_every_use_case_matches_the_text(corpus: list[Generated]) -> None:
    assert check_offsets(corpus) > 50_000


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    typo=st.floats(0, 1),
    case=st.floats(0, 1),
    ocr=st.floats(0, 1),
    missing=st.floats(0, 1),
)
def test_offsets_hold_for_any_seed_and_noise(
    seed: int, typo: float, case: float, ocr: float, missing: float
) -> None:
    noise = NoiseSettings(
        typo_rate=typo, case_rate=case, ocr_rate=ocr, missing_section_rate=missing
    )
    items = list(generate_documents(GenerateSettings(seed=seed, n_documents=40, noise=noise)))
    assert len(items) == 40
    assert check_offsets(items) > 0


def test_text_is_already_in_the_form_ingest_stores(corpus: list[Generated]) -> None:
    """NFC and \\n only: ingest's normalisation must leave the text, hence the offsets, as is."""
    for item in corpus:
        text = item.document.text
        assert unicodedata.normalize("NFC", text) == text
        assert "\r" not in text


def test_same_seed_same_corpus_other_seed_other_corpus() -> None:
    def dump(seed: int) -> list[str]:
        items = generate_documents(GenerateSettings(seed=seed, n_documents=150, noise=NOISY))
        return [
            item.document.text + "".join(r.to_json() for r in item.records.values())
            for item in items
        ]

    assert dump(3) == dump(3)
    assert dump(3) != dump(4)


def test_a_patient_does_not_depend_on_the_corpus_size() -> None:
    small = list(generate_documents(GenerateSettings(n_documents=20)))
    large = list(generate_documents(GenerateSettings(n_documents=200)))
    assert [g.document.text for g in small] == [g.document.text for g in large[:20]]


def test_span_labels_are_in_each_use_case_label_set(corpus: list[Generated]) -> None:
    for item in corpus:
        for use_case, record in item.records.items():
            declared = REGISTRY[use_case]
            if declared.kind == "spans":
                assert {s.label for s in record.spans} <= set(declared.labels)


def test_all_thirteen_pseudonymisation_labels_occur(corpus: list[Generated]) -> None:
    seen = Counter(s.label for item in corpus for s in item.records["pseudonymisation"].spans)
    assert set(seen) == set(REGISTRY["pseudonymisation"].labels)
    assert min(seen.values()) >= 20


def test_pseudonymisation_spans_never_overlap(corpus: list[Generated]) -> None:
    for item in corpus:
        spans = sorted(item.records["pseudonymisation"].spans, key=lambda s: s.start)
        for left, right in itertools.pairwise(spans):
            assert left.end <= right.start, item.document.doc_id


def test_every_document_has_a_pseudonymisation_key(corpus: list[Generated]) -> None:
    assert all("pseudonymisation" in item.records for item in corpus)


def test_structure_types_patients_stays_sites(corpus: list[Generated]) -> None:
    docs = [item.document for item in corpus]
    assert {d.doc_type for d in docs} == set(DOC_TYPES) - {"autre"}
    assert len({d.site for d in docs}) == 3
    per_patient: dict[str, set[str]] = defaultdict(set)
    for d in docs:
        per_patient[str(d.patient_id)].add(str(d.stay_id))
    assert sum(len(stays) > 1 for stays in per_patient.values()) > len(per_patient) / 3
    assert len({d.doc_id for d in docs}) == len(docs)


class TestHardCases:
    def test_common_word_surnames_are_names(self, corpus: list[Generated]) -> None:
        names = {
            s.text.lower()
            for item in corpus
            for s in item.records["pseudonymisation"].spans
            if s.label == "NOM"
        }
        assert len(names & {n.lower() for n in COMMON_WORD_SURNAMES}) >= 10

    def test_lower_case_names(self, corpus: list[Generated]) -> None:
        lower = [
            s
            for item in corpus
            for s in item.records["pseudonymisation"].spans
            if s.label == "NOM" and s.text.islower()
        ]
        assert len(lower) > 50

    def test_names_inside_email_addresses(self, corpus: list[Generated]) -> None:
        found = 0
        for item in corpus:
            spans = item.records["pseudonymisation"].spans
            surnames = {s.text.lower() for s in spans if s.label == "NOM"}
            for mail in (s for s in spans if s.label == "MAIL"):
                local = mail.text.split("@")[0]
                found += any(len(n) > 3 and n.replace(" ", "-") in local for n in surnames)
        assert found > 50

    def test_eponyms_are_in_text_and_not_identifying(self, corpus: list[Generated]) -> None:
        eponyms = 0
        for item in corpus:
            text = item.document.text
            spans = item.records["pseudonymisation"].spans
            for sentence in EPONYM_SENTENCES:
                for match in re.finditer(re.escape(sentence), text):
                    eponyms += 1
                    assert not any(s.start < match.end() and match.start() < s.end for s in spans)
        assert eponyms > 100

    def test_nir_keys_are_valid_spaced_or_not(self, corpus: list[Generated]) -> None:
        spaced = compact = 0
        for item in corpus:
            for s in item.records["pseudonymisation"].spans:
                if s.label == "SECU":
                    digits = s.text.replace(" ", "")
                    assert len(digits) == 15
                    assert nir_key(digits[:13]) == digits[13:]
                    spaced += " " in s.text
                    compact += " " not in s.text
        assert spaced > 10 and compact > 10

    def test_phone_formats(self, corpus: list[Generated]) -> None:
        phones = [
            s.text
            for item in corpus
            for s in item.records["pseudonymisation"].spans
            if s.label == "TEL"
        ]
        assert any(p.startswith("+33") for p in phones)
        assert any(re.fullmatch(r"0\d(\.\d\d){4}", p) for p in phones)
        assert any(re.fullmatch(r"0\d( \d\d){4}", p) for p in phones)


def test_nir_key_known_values() -> None:
    assert nir_key("1850575123456") == f"{97 - 1850575123456 % 97:02d}"
    # Corsica: 2A is read as 19, 2B as 18 for the key
    assert nir_key("285052A123456") == f"{97 - 2850519123456 % 97:02d}"
    assert nir_key("285052B123456") == f"{97 - 2850518123456 % 97:02d}"


def test_icd10_codes_are_real_and_usable(corpus: list[Generated]) -> None:
    codes = code_list()
    records = [item.records["icd10_coding"] for item in corpus if "icd10_coding" in item.records]
    assert len(records) > 300
    for record in records:
        assert record.labels and len(set(record.labels)) == len(record.labels)
        for code in record.labels:
            assert codes[code].pmsi_type == "0", code
        assert {s.label for s in record.spans} <= set(record.labels)
        principal = [s for s in record.spans if s.label == record.labels[0]]
        assert principal, "the principal diagnosis has evidence in the text"


def test_negated_comorbidities_are_not_coded(corpus: list[Generated]) -> None:
    for item in corpus:
        record = item.records.get("icd10_coding")
        if record is not None and "Pas de diabète." in item.document.text:
            assert "E1198" not in record.labels


def test_oncology_relations_and_attributes(corpus: list[Generated]) -> None:
    records = [
        i.records["oncology_extraction"] for i in corpus if "oncology_extraction" in i.records
    ]
    assert len(records) > 300
    flags: Counter[str] = Counter()
    for record in records:
        assert len(record.attributes) == len(record.spans)
        for rel in record.relations:
            assert record.spans[rel["from"]].label == "BIOMARKER"
            assert record.spans[rel["to"]].label == "BIOMARKER_RESULT"
        for attrs, span in zip(record.attributes, record.spans, strict=True):
            if span.label == "BIOMARKER_RESULT":
                assert attrs["status"] in STATUSES
            flags.update(k for k in ("negated", "hypothetical", "family") if attrs[k])
    assert all(flags[k] > 10 for k in ("negated", "hypothetical", "family"))


def test_response_summary_and_mcq_keys(corpus: list[Generated]) -> None:
    responses = [i.records["oncology_response"] for i in corpus if "oncology_response" in i.records]
    assert {r.labels[0] for r in responses} == set(RESPONSES)
    assert all(len(r.spans) == 1 and r.spans[0].label == r.labels[0] for r in responses)
    for item in corpus:
        if "clinical_summary" in item.records:
            assert tuple(item.records["clinical_summary"].sections) == SECTIONS
        if "mcq_generation" in item.records:
            (question,) = item.records["mcq_generation"].items
            options = list(question["options"].values())
            assert len(set(options)) == 5
            assert question["answers"] and set(question["answers"]) <= set("ABCDE")


def test_a_template_subset_writes_only_those_document_types() -> None:
    items = generate_documents(
        GenerateSettings(n_documents=80, doc_types=["ordonnance", "cr_anapath"])
    )
    assert {item.document.doc_type for item in items} == {"ordonnance", "cr_anapath"}
