"""Data contracts: documents hash their text, records round-trip through JSON."""

from __future__ import annotations

import json

from curation.schema import DOCUMENT_FIELDS, DOCUMENT_SCHEMA, Document, Record, Span, text_sha256


def test_document_hash_and_row() -> None:
    doc = Document(doc_id="d1", text="Patient suivi pour HTA.")
    assert doc.sha256 == text_sha256("Patient suivi pour HTA.")
    assert list(doc.to_row()) == list(DOCUMENT_FIELDS) == DOCUMENT_SCHEMA.names


def test_record_json_round_trip_and_omits_empty_fields() -> None:
    record = Record(
        doc_id="d1",
        use_case="pseudonymisation",
        origin="annotator:7",
        spans=[Span(10, 16, "NOM", "Dupont", 0.9)],
    )
    data = json.loads(record.to_json())
    assert set(data) == {"doc_id", "use_case", "origin", "spans"}
    assert Record.from_dict(data) == record
