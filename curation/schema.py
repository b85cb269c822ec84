"""Data contracts shared by every stage: documents, spans and result records.

A :class:`Document` is stored once, at ingest, and its ``text`` is immutable from then on:
every offset in the platform (answer keys, predictions, annotations, gold) refers to it.
Answer keys, predictions, annotations and gold share one JSONL record shape,
:class:`Record`, so one scorer serves the pipeline and the evaluators.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

#: Document types the synthetic generator writes and ingest recognises; anything else a
#: source declares is stored as ``autre`` (other) so that the set stays closed for validation.
DOC_TYPES: dict[str, str] = {
    "crh": "compte rendu d'hospitalisation",
    "lettre_liaison": "lettre de liaison / de sortie",
    "cr_operatoire": "compte rendu opératoire",
    "cr_anapath": "compte rendu anatomo-pathologique",
    "fiche_rcp": "fiche de réunion de concertation pluridisciplinaire (RCP)",
    "cr_consultation": "compte rendu de consultation",
    "cr_imagerie": "compte rendu d'imagerie",
    "ordonnance": "ordonnance",
    "autre": "autre document",
}

DOCUMENT_FIELDS: tuple[str, ...] = (
    "doc_id",
    "patient_id",
    "stay_id",
    "site",
    "doc_type",
    "specialty",
    "created_at",
    "text",
    "source",
    "sha256",
)

#: Arrow schema of ``data/raw/documents.parquet`` (and of the generator's output).
DOCUMENT_SCHEMA = pa.schema([(name, pa.string()) for name in DOCUMENT_FIELDS])


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 bytes of ``text`` (the document's content hash)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class Document:
    """One clinical document, as stored after ingest."""

    doc_id: str
    text: str
    patient_id: str | None = None
    stay_id: str | None = None
    site: str | None = None
    doc_type: str = "autre"
    specialty: str | None = None
    created_at: str | None = None
    source: str | None = None
    sha256: str = ""

    def __post_init__(self) -> None:
        if not self.sha256:
            self.sha256 = text_sha256(self.text)

    def to_row(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in DOCUMENT_FIELDS}


@dataclass(slots=True)
class Span:
    """A labelled character span: ``text`` equals ``document.text[start:end]``.

    ``origin`` says which rule, model (name and version) or annotator produced it, when that
    differs between the spans of one record (merged predictions); it is omitted otherwise.
    """

    start: int
    end: int
    label: str
    text: str
    score: float = 1.0
    origin: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.origin is None:
            del out["origin"]
        return out


@dataclass(slots=True)
class Record:
    """One result for one document: an answer key, a prediction, an annotation or gold.

    Only the fields that a use case uses are written: ``spans`` for span use cases,
    ``labels`` (ordered, principal first) for document-level ones, ``relations`` and
    ``attributes`` where the use case has them, ``sections`` or ``items`` for generated text.
    Gold records add ``provenance``: which annotations, which adjudication rule, agreement.
    """

    doc_id: str
    use_case: str
    origin: str
    spans: list[Span] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    relations: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "doc_id": self.doc_id,
            "use_case": self.use_case,
            "origin": self.origin,
        }
        if self.spans:
            out["spans"] = [s.to_dict() for s in self.spans]
        for name in ("labels", "relations", "attributes", "sections", "items", "provenance"):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(
            doc_id=str(data["doc_id"]),
            use_case=str(data["use_case"]),
            origin=str(data.get("origin", "")),
            spans=[Span(**s) for s in data.get("spans", [])],
            labels=list(data.get("labels", [])),
            relations=list(data.get("relations", [])),
            attributes=list(data.get("attributes", [])),
            sections=dict(data.get("sections", {})),
            items=list(data.get("items", [])),
            provenance=dict(data.get("provenance", {})),
        )
