"""The ingest rules applied to raw records (curation.sources.checks)."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from curation.schema import Document, text_sha256
from curation.settings import IngestSettings, SourceSettings
from curation.sources.base import Problem, RawRecord, Reason
from curation.sources.checks import RecordChecker, Rejection

CRH = "Compte rendu d'hospitalisation : pneumopathie traitée par amoxicilline, évolution favorable."
CR_ANAPATH = "Carcinome canalaire infiltrant, grade II, récepteurs hormonaux positifs."


def _checker(**overrides: Any) -> RecordChecker:
    settings = IngestSettings(source=SourceSettings(kind="jsonl", path="x.jsonl"), **overrides)
    return RecordChecker(settings)


def _record(doc_id: Any = "d1", text: str | None = CRH, **fields: Any) -> RawRecord:
    return RawRecord(
        location="x.jsonl:line 1", log_ref="line 1", fields={"doc_id": doc_id, **fields}, text=text
    )


def _reason(outcome: Document | Rejection) -> Reason:
    assert isinstance(outcome, Rejection), outcome
    return outcome.problem.reason


def test_good_record_becomes_a_document() -> None:
    document = _checker(default_site="chu-nord").check(
        _record(patient_id=42, stay_id=9001.0, doc_type="crh", specialty="pneumologie")
    )
    assert isinstance(document, Document)
    assert document.doc_id == "d1"
    assert document.patient_id == "42"
    assert document.stay_id == "9001"  # a float id from a pandas export loses its ".0"
    assert document.site == "chu-nord"
    assert document.doc_type == "crh"
    assert document.source == "jsonl"
    assert document.sha256 == text_sha256(CRH)


def test_source_problem_is_kept_with_the_doc_id() -> None:
    record = _record()
    record.problem = Problem(Reason.MISSING_COLUMN, "required field text not found")
    outcome = _checker().check(record)
    assert isinstance(outcome, Rejection)
    assert outcome.doc_id == "d1"
    assert outcome.problem.reason is Reason.MISSING_COLUMN


@pytest.mark.parametrize("doc_id", [None, "", "   "])
def test_blank_doc_id_is_missing_doc_id(doc_id: Any) -> None:
    assert _reason(_checker().check(_record(doc_id=doc_id))) is Reason.MISSING_DOC_ID


@pytest.mark.parametrize("text", [None, "", " \n\t\r\n "])
def test_empty_or_blank_text(text: str | None) -> None:
    assert _reason(_checker().check(_record(text=text))) is Reason.EMPTY_TEXT


def test_raw_bytes_are_decoded_and_counted() -> None:
    checker = _checker()
    record = _record(text=None)
    record.raw = CRH.encode("cp1252")
    document = checker.check(record)
    assert isinstance(document, Document) and document.text == CRH
    assert checker.encodings_used == {"cp1252": 1}


def test_undecodable_bytes() -> None:
    record = _record(text=None)
    record.raw = b"Bilan \x81\x8d"
    assert _reason(_checker().check(record)) is Reason.UNDECODABLE


def test_unpaired_surrogate_is_undecodable() -> None:
    assert _reason(_checker().check(_record(text="Bilan \ud800 normal"))) is Reason.UNDECODABLE


def test_binary_content() -> None:
    assert _reason(_checker().check(_record(text="PK\x03\x04\x00\x00"))) is Reason.BINARY_CONTENT
    mostly_controls = "ab" + "\x1b" * 3
    assert _reason(_checker(binary_ratio=0.5).check(_record(text=mostly_controls))) is (
        Reason.BINARY_CONTENT
    )


def test_too_large_counts_characters_after_normalisation() -> None:
    checker = _checker(max_chars=10)
    assert _reason(checker.check(_record(doc_id="a", text="x" * 11))) is Reason.TOO_LARGE
    # 11 code points as received, 9 characters once composed (NFC) and with \n for \r\n
    assert isinstance(checker.check(_record(doc_id="b", text="e\u0301tat sta\r\n")), Document)


def test_hash_of_the_text_as_received_or_normalised_is_accepted() -> None:
    received = "Fie\u0300vre\r\nà 39"
    normalised = "Fièvre\nà 39"
    checker = _checker()
    assert isinstance(checker.check(_record("a", received, sha256=text_sha256(received))), Document)
    checker = _checker()
    document = checker.check(_record("a", received, sha256=text_sha256(normalised).upper()))
    assert isinstance(document, Document)
    assert document.sha256 == text_sha256(normalised)  # stored hash: of the stored text


def test_hash_of_the_source_bytes_is_accepted() -> None:
    raw = CRH.encode("cp1252")
    record = _record(text=None, sha256=hashlib.sha256(raw).hexdigest())
    record.raw = raw
    assert isinstance(_checker().check(record), Document)


def test_hash_mismatch() -> None:
    outcome = _checker().check(_record(sha256=text_sha256(CRH[:-1])))
    assert _reason(outcome) is Reason.HASH_MISMATCH


def test_duplicate_id_with_another_text_is_a_conflict() -> None:
    checker = _checker()
    assert isinstance(checker.check(_record("d1", CRH)), Document)
    outcome = checker.check(_record("d1", CR_ANAPATH))
    assert _reason(outcome) is Reason.DUPLICATE_ID_CONFLICT
    assert isinstance(outcome, Rejection) and outcome.doc_id == "d1"


def test_duplicate_text_names_the_kept_document() -> None:
    checker = _checker()
    assert isinstance(checker.check(_record("d1", CRH)), Document)
    outcome = checker.check(_record("d2", CRH))
    assert _reason(outcome) is Reason.DUPLICATE_TEXT
    assert isinstance(outcome, Rejection) and "d1" in outcome.problem.message
    # the same document delivered twice is a duplicate text too
    assert _reason(checker.check(_record("d1", CRH))) is Reason.DUPLICATE_TEXT


def test_duplicates_compare_normalised_text() -> None:
    checker = _checker()
    assert isinstance(checker.check(_record("d1", "Opérée.\n")), Document)
    decomposed = unicodedata.normalize("NFD", "Opérée.\r\n")
    assert _reason(checker.check(_record("d2", decomposed))) is Reason.DUPLICATE_TEXT


def test_rejected_record_does_not_shadow_a_later_one() -> None:
    checker = _checker(max_chars=100)
    assert _reason(checker.check(_record("d1", "x" * 101))) is Reason.TOO_LARGE
    assert isinstance(checker.check(_record("d1", CRH[:100])), Document)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-12", "2024-03-12"),
        ("2024-03-12 14:30", "2024-03-12T14:30:00"),
        ("2024-03-12T14:30:00+01:00", "2024-03-12T14:30:00+01:00"),
        ("12/03/2024", "2024-03-12"),
        ("12/03/2024 14:30", "2024-03-12T14:30:00"),
        (b"12/03/2024", "2024-03-12"),
        (date(2024, 3, 12), "2024-03-12"),
        (
            datetime(2024, 3, 12, 14, 30, tzinfo=timezone(timedelta(hours=1))),
            "2024-03-12T14:30:00+01:00",
        ),
        ("  ", None),
    ],
)
def test_created_at_is_stored_as_iso_8601(value: Any, expected: str | None) -> None:
    document = _checker().check(_record(created_at=value))
    assert isinstance(document, Document)
    assert document.created_at == expected


@pytest.mark.parametrize("value", ["mardi dernier", "31/02/2024", 1710250200])
def test_created_at_that_is_no_date_is_invalid(value: Any) -> None:
    outcome = _checker().check(_record(created_at=value))
    assert _reason(outcome) is Reason.INVALID_RECORD
    assert isinstance(outcome, Rejection) and "created_at" in outcome.problem.message


def test_field_of_the_wrong_type_is_invalid() -> None:
    outcome = _checker().check(_record(patient_id=["P1", "P2"]))
    assert _reason(outcome) is Reason.INVALID_RECORD


@pytest.mark.parametrize(
    ("declared", "stored"),
    [
        ("cr_anapath", "cr_anapath"),
        (" CRH ", "crh"),
        ("Compte rendu opératoire", "cr_operatoire"),
        ("Courrier de sortie", "autre"),
        (None, "autre"),
    ],
)
def test_doc_type_outside_the_closed_set_becomes_autre(declared: Any, stored: str) -> None:
    document = _checker().check(_record(doc_type=declared))
    assert isinstance(document, Document)
    assert document.doc_type == stored


def test_source_name_and_site() -> None:
    settings = IngestSettings(
        source=SourceSettings(kind="csv", path="x.csv", name="dwh-chu-nord"),
        default_site="chu-nord",
    )
    checker = RecordChecker(settings)
    first = checker.check(_record("d1", CRH))
    second = checker.check(_record("d2", CR_ANAPATH, site="clcc-ouest"))
    assert isinstance(first, Document) and isinstance(second, Document)
    assert (first.source, first.site) == ("dwh-chu-nord", "chu-nord")
    assert second.site == "clcc-ouest"
