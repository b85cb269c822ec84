"""One row per patient from the document-level oncology results, and the patient's timeline.

Each affirmed entity of an ``oncology_extraction`` record and each ``oncology_response``
label becomes a :class:`Fact` dated by its document's ``created_at`` (pseudonymised dates,
shifted per patient, so consistent within a patient). Entities flagged negated, hypothetical
or family never count as the patient's facts: "pas d'indication à une radiothérapie", "un
traitement par osimertinib pourra être discuté", "mère traitée pour un cancer du sein".

A :class:`Patient` then reads:

* site, histology, grade and TNM **at diagnosis**: the earliest document stating one;
* the diagnosis date: the earliest document stating a histology or a tumour site;
* ``metastatic`` from the M of the TNM stages (``M1``, ``M1a``... -> True, ``M0`` -> False,
  no M stage -> unknown); any M1 stated makes the patient metastatic, even when the TNM at
  diagnosis was M0 (a metastatic relapse is what a trial's "métastatique" asks about);
* each biomarker's **latest** status (a later report may settle "HER2 score 2+, ISH en cours");
* the treatments (first mention of each, by date) and the responses (by date).

Every value keeps its evidence (``doc_id``, ``start``, ``end``); the table holds no document
text besides the extracted entity values themselves.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from curation.io import InputError
from curation.schema import Record
from curation.usecases.oncology_extraction import FLAGS

#: Entity label -> patient field stated at diagnosis.
DIAGNOSIS_FIELDS: dict[str, str] = {
    "TUMOR_SITE": "site",
    "HISTOLOGY": "histology",
    "GRADE": "grade",
    "TNM": "tnm",
}
TEXT_FIELDS: tuple[str, ...] = tuple(DIAGNOSIS_FIELDS.values())
_M_STAGE = re.compile(r"M\s*([01xX])", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")

Canonical = Callable[[str], str | None]


def fold(text: str) -> str:
    """Text folded for comparison: case, accents and white space.

    >>> fold("  Carcinome   Canalaire infiltrant ")
    'carcinome canalaire infiltrant'
    >>> fold("Récepteurs aux œstrogènes")
    'recepteurs aux œstrogenes'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def metastatic_from_tnm(tnm: str) -> bool | None:
    """``True`` for M1 (M1a, M1b, M1c), ``False`` for M0, ``None`` without an M stage (or MX).

    >>> metastatic_from_tnm("cT2aN2M1b"), metastatic_from_tnm("pT2N1aM0")
    (True, False)
    >>> metastatic_from_tnm("ypT1bN0") is None
    True
    """
    match = _M_STAGE.search(tnm)
    if match is None or match.group(1) in "xX":
        return None
    return match.group(1) == "1"


def marker_key(name: str, canonical: Canonical) -> str | None:
    """Column-safe canonical name of a biomarker mention ("RE" -> "ER", "PD-L1" -> "PDL1").

    A mention the canonicaliser does not know keeps its own letters and digits, upper-cased,
    so that an unexpected marker is shown rather than dropped.
    """
    key = canonical(name) or name
    return _NOT_ALNUM.sub("", fold(key).upper()) or None


@dataclass(frozen=True, slots=True)
class Fact:
    """One affirmed statement of a report, with its evidence.

    ``value`` is the entity text ("carcinome canalaire infiltrant"), the canonical marker name
    for a biomarker (with ``result`` "score 3+" and ``status`` "positive"; offsets are the
    result's), or the response label ("partial_response", offsets of its evidence sentence).
    """

    kind: str  # site | histology | grade | tnm | biomarker | treatment | response
    value: str
    doc_id: str
    start: int | None
    end: int | None
    date: dt.date | None
    status: str | None = None
    result: str | None = None

    @property
    def order(self) -> tuple[dt.date, str, int]:
        """Timeline order: date (undated last), then document, then position."""
        return (self.date or dt.date.max, self.doc_id, self.start or 0)

    def evidence(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "start": self.start, "end": self.end}


@dataclass(slots=True)
class Patient:
    """A patient's oncology facts, and the fields of their row in the patient table."""

    patient_id: str
    facts: list[Fact]
    documents: list[str] = field(default_factory=list)
    diagnosis: Fact | None = None
    site: Fact | None = None
    histology: Fact | None = None
    grade: Fact | None = None
    tnm: Fact | None = None
    stage: Fact | None = None  # the TNM that decides ``metastatic``
    biomarkers: dict[str, Fact] = field(default_factory=dict)
    treatments: list[Fact] = field(default_factory=list)
    responses: list[Fact] = field(default_factory=list)

    @classmethod
    def from_facts(
        cls, patient_id: str, facts: Iterable[Fact], documents: Iterable[str]
    ) -> Patient:
        ordered = sorted(facts, key=lambda f: f.order)
        patient = cls(patient_id, ordered, sorted(set(documents)))
        for name in TEXT_FIELDS:
            setattr(patient, name, next((f for f in ordered if f.kind == name), None))
        patient.diagnosis = next((f for f in ordered if f.kind in ("site", "histology")), None)
        staged = [
            f for f in ordered if f.kind == "tnm" and metastatic_from_tnm(f.value) is not None
        ]
        metastases = [f for f in staged if metastatic_from_tnm(f.value)]
        patient.stage = metastases[0] if metastases else staged[-1] if staged else None
        seen: set[str] = set()
        for fact in ordered:
            if fact.kind == "biomarker":
                patient.biomarkers[fact.value] = fact  # later facts overwrite: latest wins
            elif fact.kind == "treatment" and fold(fact.value) not in seen:
                seen.add(fold(fact.value))
                patient.treatments.append(fact)
            elif fact.kind == "response":
                patient.responses.append(fact)
        return patient

    @property
    def metastatic(self) -> bool | None:
        return None if self.stage is None else metastatic_from_tnm(self.stage.value)

    @property
    def last_response(self) -> Fact | None:
        return self.responses[-1] if self.responses else None


@dataclass(slots=True)
class BuildReport:
    """What the builder read and what it set aside (nothing is dropped silently)."""

    records: int = 0
    unmatched_records: int = 0  # doc_id not in the document table
    without_patient: int = 0  # document without patient_id
    flagged_entities: int = 0  # negated, hypothetical or family: not the patient's facts
    unlinked_results: int = 0  # BIOMARKER_RESULT without a has_result relation
    results_without_status: int = 0
    unknown_markers: int = 0  # mentions the canonicaliser does not know (kept as written)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What the builder needs of a document: its patient and its date (never its text)."""

    patient_id: str | None
    created_at: dt.date | None


def parse_date(value: str | None) -> dt.date | None:
    """The date of an ISO ``created_at`` ("2024-03-02" or "2024-03-02T08:30:00")."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _flagged(attributes: Mapping[int, Mapping[str, Any]], index: int) -> bool:
    attrs = attributes.get(index, {})
    return any(bool(attrs.get(flag)) for flag in FLAGS)


def extraction_facts(
    record: Record, when: dt.date | None, canonical: Canonical, report: BuildReport
) -> Iterator[Fact]:
    """Affirmed facts of one ``oncology_extraction`` record.

    Raises ``InputError`` naming the ``doc_id`` when a relation points outside the spans.
    """
    spans = record.spans
    attributes = {int(a["span"]): a for a in record.attributes if "span" in a}
    result_of: dict[int, int] = {}
    for k, relation in enumerate(record.relations):
        if relation.get("type", "has_result") != "has_result":
            continue
        head, tail = relation.get("from"), relation.get("to")
        if not (isinstance(head, int) and isinstance(tail, int)) or not (
            0 <= head < len(spans) and 0 <= tail < len(spans)
        ):
            raise InputError(
                f"doc_id {record.doc_id}: relation {k} does not point at two of its "
                f"{len(spans)} spans; fix the record (validate it with `curation validate`)"
            )
        result_of[tail] = head
    for i, span in enumerate(spans):
        if _flagged(attributes, i):
            report.flagged_entities += 1
            continue
        if span.label in DIAGNOSIS_FIELDS:
            kind = DIAGNOSIS_FIELDS[span.label]
            yield Fact(kind, span.text, record.doc_id, span.start, span.end, when)
        elif span.label == "TREATMENT":
            yield Fact("treatment", span.text, record.doc_id, span.start, span.end, when)
        elif span.label == "BIOMARKER_RESULT":
            head = result_of.get(i)
            if head is None:
                report.unlinked_results += 1
                continue
            if _flagged(attributes, head):  # counted with the marker's own span
                continue
            status = attributes.get(i, {}).get("status")
            if not status:
                report.results_without_status += 1
                continue
            mention = spans[head].text
            if canonical(mention) is None:
                report.unknown_markers += 1
            key = marker_key(mention, canonical)
            if key is None:
                continue
            yield Fact(
                "biomarker",
                key,
                record.doc_id,
                span.start,
                span.end,
                when,
                status=str(status),
                result=span.text,
            )


def response_facts(record: Record, when: dt.date | None) -> Iterator[Fact]:
    """The response of one ``oncology_response`` record, with its evidence sentence."""
    if not record.labels:
        return
    label = record.labels[0]
    evidence = next((s for s in record.spans if s.label == label), None)
    if evidence is None and record.spans:
        evidence = record.spans[0]
    start = evidence.start if evidence else None
    end = evidence.end if evidence else None
    yield Fact("response", label, record.doc_id, start, end, when)


def build_patients(
    extractions: Iterable[Record],
    responses: Iterable[Record],
    documents: Mapping[str, DocumentInfo],
    canonical: Canonical,
) -> tuple[list[Patient], BuildReport]:
    """Patients with at least one affirmed oncology fact, sorted by ``patient_id``.

    ``documents`` maps ``doc_id`` to the document's patient and date (the pseudonymised
    table); records of documents absent from it, or without a patient, are counted in the
    :class:`BuildReport`, not used.
    """
    report = BuildReport()
    facts: dict[str, list[Fact]] = defaultdict(list)
    docs: dict[str, set[str]] = defaultdict(set)
    sources: list[tuple[Iterable[Record], bool]] = [(extractions, True), (responses, False)]
    for records, is_extraction in sources:
        for record in records:
            report.records += 1
            info = documents.get(record.doc_id)
            if info is None:
                report.unmatched_records += 1
                continue
            if not info.patient_id:
                report.without_patient += 1
                continue
            found = list(
                extraction_facts(record, info.created_at, canonical, report)
                if is_extraction
                else response_facts(record, info.created_at)
            )
            if found:
                facts[info.patient_id].extend(found)
                docs[info.patient_id].add(record.doc_id)
    patients = [Patient.from_facts(pid, facts[pid], docs[pid]) for pid in sorted(facts)]
    return patients, report


# -- the patient table and the timeline, as rows -------------------------------------------

_EVENT = [
    ("date", pa.date32()),
    ("doc_id", pa.string()),
    ("start", pa.int32()),
    ("end", pa.int32()),
]

TIMELINE_SCHEMA = pa.schema(
    [
        ("patient_id", pa.string()),
        ("date", pa.date32()),
        ("doc_id", pa.string()),
        ("kind", pa.string()),
        ("value", pa.string()),
        ("status", pa.string()),
        ("result", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
    ]
)


def markers_of(patients: Iterable[Patient]) -> list[str]:
    """Canonical names of every biomarker with a status, sorted (one column group each)."""
    return sorted({name for p in patients for name in p.biomarkers})


def table_schema(markers: Sequence[str]) -> pa.Schema:
    """Arrow schema of the patient table: scalar fields with their evidence columns."""
    columns: list[tuple[str, pa.DataType]] = [
        ("patient_id", pa.string()),
        ("documents", pa.list_(pa.string())),
        ("diagnosis_date", pa.date32()),
        ("diagnosis_doc_id", pa.string()),
    ]
    for name in TEXT_FIELDS:
        columns += [(name, pa.string())] + [(f"{name}_{k}", t) for k, t in _EVENT]
    columns += [("metastatic", pa.bool_())] + [(f"metastatic_{k}", t) for k, t in _EVENT]
    for marker in markers:
        prefix = f"biomarker_{marker}"
        columns += [(f"{prefix}_status", pa.string()), (f"{prefix}_result", pa.string())]
        columns += [(f"{prefix}_{k}", t) for k, t in _EVENT]
    for name, key in (("treatments", "treatment"), ("responses", "response")):
        columns.append((name, pa.list_(pa.struct([(key, pa.string()), *_EVENT]))))
    columns += [
        ("last_response", pa.string()),
        ("last_response_date", pa.date32()),
        ("last_response_doc_id", pa.string()),
    ]
    return pa.schema(columns)


def _event(fact: Fact | None) -> dict[str, Any]:
    if fact is None:
        return {"date": None, "doc_id": None, "start": None, "end": None}
    return {"date": fact.date, "doc_id": fact.doc_id, "start": fact.start, "end": fact.end}


def patient_row(patient: Patient, markers: Sequence[str]) -> dict[str, Any]:
    """The patient's row of the table (:func:`table_schema`)."""
    diagnosis = patient.diagnosis
    row: dict[str, Any] = {
        "patient_id": patient.patient_id,
        "documents": patient.documents,
        "diagnosis_date": diagnosis.date if diagnosis else None,
        "diagnosis_doc_id": diagnosis.doc_id if diagnosis else None,
    }
    for name in TEXT_FIELDS:
        fact: Fact | None = getattr(patient, name)
        row[name] = fact.value if fact else None
        row.update({f"{name}_{k}": v for k, v in _event(fact).items()})
    row["metastatic"] = patient.metastatic
    row.update({f"metastatic_{k}": v for k, v in _event(patient.stage).items()})
    for marker in markers:
        fact = patient.biomarkers.get(marker)
        prefix = f"biomarker_{marker}"
        row[f"{prefix}_status"] = fact.status if fact else None
        row[f"{prefix}_result"] = fact.result if fact else None
        row.update({f"{prefix}_{k}": v for k, v in _event(fact).items()})
    row["treatments"] = [{"treatment": f.value, **_event(f)} for f in patient.treatments]
    row["responses"] = [{"response": f.value, **_event(f)} for f in patient.responses]
    last = patient.last_response
    row["last_response"] = last.value if last else None
    row["last_response_date"] = last.date if last else None
    row["last_response_doc_id"] = last.doc_id if last else None
    return row


def timeline_rows(patients: Iterable[Patient]) -> Iterator[dict[str, Any]]:
    """One row per fact (every mention, not only the first or the latest), in time order."""
    for patient in patients:
        for fact in patient.facts:
            yield {
                "patient_id": patient.patient_id,
                "kind": fact.kind,
                "value": fact.value,
                "status": fact.status,
                "result": fact.result,
                **_event(fact),
            }
