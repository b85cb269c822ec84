"""Column mapping and raw records shared by every source (curation.sources.base)."""

from __future__ import annotations

import pytest

from curation.sources.base import (
    READABLE_FIELDS,
    Reason,
    SourceError,
    missing_required,
    record_from_row,
    resolve_columns,
)


def test_fields_left_out_read_the_column_of_the_same_name() -> None:
    mapping = resolve_columns({"text": "texte", "doc_id": "id_document"})
    assert mapping["text"] == "texte"
    assert mapping["doc_id"] == "id_document"
    assert mapping["patient_id"] == "patient_id"
    assert set(mapping) == set(READABLE_FIELDS)


def test_kind_defaults_are_overridden_by_the_settings() -> None:
    mapping = resolve_columns({"doc_id": "id"}, {"doc_id": "note_id", "text": "note_text"})
    assert mapping["doc_id"] == "id"
    assert mapping["text"] == "note_text"


def test_unknown_mapping_key_is_a_source_error() -> None:
    with pytest.raises(SourceError, match=r"unknown field\(s\) texte") as info:
        resolve_columns({"texte": "texte"})
    assert "params.yaml" in str(info.value)


def test_missing_required_names_the_field_and_column() -> None:
    mapping = resolve_columns({"text": "texte"})
    problem = missing_required(mapping, ["doc_id", "ipp"])
    assert problem is not None
    assert problem.reason is Reason.MISSING_COLUMN
    assert "text (column 'texte')" in problem.message
    assert "ingest.source.columns.text" in problem.message
    assert missing_required(mapping, ["doc_id", "texte"]) is None


def test_record_from_row_routes_text_by_type() -> None:
    mapping = resolve_columns({})
    as_text = record_from_row(
        {"doc_id": "a1", "text": "Suites simples.", "site": None},
        mapping,
        location="x:row 1",
        log_ref="row 1",
    )
    assert as_text.text == "Suites simples."
    assert as_text.raw is None
    assert as_text.fields == {"doc_id": "a1"}  # None values are left out

    as_bytes = record_from_row(
        {"doc_id": "a2", "text": "Opérée.".encode("cp1252")}, mapping, location="x", log_ref="r"
    )
    assert as_bytes.raw == "Opérée.".encode("cp1252")
    assert as_bytes.text is None

    wrong = record_from_row({"doc_id": "a3", "text": 42}, mapping, location="x", log_ref="r")
    assert wrong.problem is not None
    assert wrong.problem.reason is Reason.INVALID_RECORD
    assert "int" in wrong.problem.message
