"""Trial pre-screening: eligibility criteria written in ``params.yaml``, checked on the patient
table with the evidence of every decision.

The grammar
-----------
A criterion has a ``description`` and one clause: ``all`` (every clause holds), ``any`` (one
clause holds) or ``not``. A leaf clause tests one ``field`` with exactly one operator:

``equals``
    the field's value ("positive", ``true``); text is compared folded (case, accents, spaces);
``in``
    one of a list of values;
``contains_any``
    a text field or one element of a list field contains one of the terms
    (``treatments contains_any [trastuzumab]`` matches "trastuzumab et pertuzumab");
``exists``
    ``true``: the field has a value (a list: at least one element); ``false``: it has none.

Fields: ``site``, ``histology``, ``grade``, ``tnm`` (text at diagnosis), ``metastatic``
(boolean), ``biomarker.<NAME>`` (the latest status: positive, negative, equivocal,
not_assessed; ``<NAME>`` as reports write it, "HER2", "RE", "PD-L1"), ``treatments`` (list),
``responses`` (list of response labels) and ``last_response``.

Unknown is not false
--------------------
A field without evidence (no HER2 result in any report) makes its clause *unknown*: the patient
is excluded as "HER2 status unknown", never silently. Logic is three-valued: ``not`` of
unknown is unknown; ``all`` is false if a clause is false, else unknown if one is unknown;
``any`` is true if a clause is true, else unknown if one is unknown. A patient is a candidate
only when the criterion is true; an excluded patient is reported with the first top-level
clause that is not true, and why (the value differs, or it is unknown).

Example (``params.yaml``)::

    her2_metastatic_no_anti_her2:
      description: HER2 positif, métastatique, sans anti-HER2 antérieur
      all:
        - {field: biomarker.HER2, equals: positive}
        - {field: metastatic, equals: true}
        - {not: {field: treatments, contains_any: [trastuzumab, pertuzumab, T-DM1]}}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from curation.structure.patients import Fact, Patient, fold, marker_key
from curation.usecases.oncology_extraction import STATUSES
from curation.usecases.oncology_response import RESPONSES

TEXT = ("site", "histology", "grade", "tnm")
LISTS = ("treatments", "responses")
FIELDS = (*TEXT, "metastatic", "biomarker.<NAME>", *LISTS, "last_response")
OPERATORS = ("equals", "in", "contains_any", "exists")

Outcome = Literal["true", "false", "unknown"]
_NEGATION: dict[Outcome, Outcome] = {"true": "false", "false": "true", "unknown": "unknown"}
Value = str | bool


class _Grammar(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _check_value(name: str, value: Value) -> None:
    """A value ``equals`` / ``in`` may compare ``name`` with, or a ``ValueError``."""
    if name == "metastatic":
        if not isinstance(value, bool):
            raise ValueError(f"metastatic compares with true or false, not {value!r}")
    elif isinstance(value, bool):
        raise ValueError(f"{name} compares with text, not {value!r}")
    elif name.startswith("biomarker.") and value not in STATUSES:
        raise ValueError(f"{name} is a status, one of {', '.join(STATUSES)}; not {value!r}")
    elif name == "last_response" and value not in RESPONSES:
        raise ValueError(f"last_response is one of {', '.join(RESPONSES)}; not {value!r}")


class Condition(_Grammar):
    """A test on one field: ``{field: biomarker.HER2, equals: positive}``."""

    field: str
    equals: Value | None = None
    in_: list[Value] | None = Field(None, alias="in", min_length=1)
    contains_any: list[str] | None = Field(None, min_length=1)
    exists: bool | None = None

    @model_validator(mode="after")
    def _valid(self) -> Condition:
        name = self.field
        marker = name.removeprefix("biomarker.") if name.startswith("biomarker.") else None
        if marker is not None and not marker.strip():
            raise ValueError("biomarker.<NAME> needs a marker name (biomarker.HER2)")
        if marker is None and name not in FIELDS:
            raise ValueError(f"unknown field {name!r}; fields: {', '.join(FIELDS)}")
        given = [op for op in OPERATORS if self.operand(op) is not None]
        if len(given) != 1:
            raise ValueError(
                f"field {name} needs exactly one operator of {', '.join(OPERATORS)} "
                f"(got {', '.join(given) or 'none'})"
            )
        op = given[0]
        if op in ("equals", "in") and name in LISTS:
            raise ValueError(f"{name} is a list: test it with contains_any or exists")
        if op == "contains_any" and name not in (*TEXT, *LISTS):
            raise ValueError(f"contains_any applies to {', '.join((*TEXT, *LISTS))}, not {name}")
        if op in ("equals", "in"):
            values = [self.equals] if self.equals is not None else list(self.in_ or [])
            for value in values:
                _check_value(name, value)
        return self

    @property
    def operator(self) -> str:
        return next(op for op in OPERATORS if self.operand(op) is not None)

    def operand(self, op: str) -> Any:
        return self.in_ if op == "in" else getattr(self, op)

    def describe(self) -> str:
        value = self.operand(self.operator)
        shown = (
            "[" + ", ".join(str(v) for v in value) + "]"
            if isinstance(value, list)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        return f"{self.field} {self.operator} {shown}"


class AllOf(_Grammar):
    """Every clause holds."""

    all: list[Clause] = Field(..., min_length=1)

    def describe(self) -> str:
        return "all(" + "; ".join(c.describe() for c in self.all) + ")"


class AnyOf(_Grammar):
    """At least one clause holds."""

    any: list[Clause] = Field(..., min_length=1)

    def describe(self) -> str:
        return "any(" + "; ".join(c.describe() for c in self.any) + ")"


class Not(_Grammar):
    """The clause does not hold (unknown stays unknown)."""

    not_: Clause = Field(..., alias="not")

    def describe(self) -> str:
        return f"not({self.not_.describe()})"


def _clause_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {AllOf: "all", AnyOf: "any", Not: "not", Condition: "field"}.get(type(value))
    if isinstance(value, dict):
        return next((k for k in ("all", "any", "not", "field") if k in value), None)
    return None


Clause = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[Condition, Tag("field")],
    Discriminator(
        _clause_tag,
        custom_error_type="clause",
        custom_error_message="a clause is {all: [...]}, {any: [...]}, {not: {...}} "
        "or {field: ..., equals|in|contains_any|exists: ...}",
    ),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


class Criterion(_Grammar):
    """One eligibility criterion: a description and one ``all``, ``any`` or ``not`` clause."""

    description: str = ""
    all: list[Clause] | None = Field(None, min_length=1)
    any: list[Clause] | None = Field(None, min_length=1)
    not_: Clause | None = Field(None, alias="not")

    @model_validator(mode="after")
    def _one_clause(self) -> Criterion:
        given = [k for k, v in (("all", self.all), ("any", self.any), ("not", self.not_)) if v]
        if len(given) != 1:
            raise ValueError(f"a criterion needs exactly one of all, any, not (got {given})")
        return self

    @property
    def clauses(self) -> list[Clause]:
        """Top-level clauses: those of ``all``, else the criterion's one clause."""
        if self.all is not None:
            return list(self.all)
        clause = AnyOf(any=self.any) if self.any is not None else self.not_
        assert clause is not None
        return [clause]

    def markers(self) -> list[str]:
        """Biomarker names the criterion tests (as written), to check they are known."""
        return [c.field.removeprefix("biomarker.") for c in _conditions(self.clauses)]

    def describe(self) -> str:
        return "; ".join(c.describe() for c in self.clauses)


def _conditions(clauses: Sequence[Clause]) -> list[Condition]:
    out: list[Condition] = []
    for clause in clauses:
        if isinstance(clause, Condition):
            out += [clause] if clause.field.startswith("biomarker.") else []
        elif isinstance(clause, AllOf):
            out += _conditions(clause.all)
        elif isinstance(clause, AnyOf):
            out += _conditions(clause.any)
        else:
            out += _conditions([clause.not_])
    return out


# -- evaluation ------------------------------------------------------------------------------


@dataclass(slots=True)
class Verdict:
    """A clause on a patient: its outcome, why, and the facts it was decided on."""

    outcome: Outcome
    reason: str
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _evidence(name: str, fact: Fact) -> dict[str, Any]:
    """The fact a clause was decided on: field, value (a biomarker's status), offsets."""
    if fact.kind == "biomarker":
        return {"field": name, "value": fact.status, "result": fact.result, **fact.evidence()}
    return {"field": name, "value": fact.value, **fact.evidence()}


class Screener:
    """Evaluates criteria on patients; ``canonical`` names biomarkers as the table does."""

    def __init__(self, canonical: Callable[[str], str | None]) -> None:
        self.canonical = canonical

    def value_of(self, patient: Patient, name: str) -> tuple[Any, list[Fact]]:
        """(value, facts) of a field: a scalar or ``None``, or a list for list fields."""
        if name in TEXT:
            fact: Fact | None = getattr(patient, name)
            return (fact.value if fact else None), [fact] if fact else []
        if name == "metastatic":
            stage = patient.stage or patient.tnm  # a TNM without M stage: shown, still unknown
            return patient.metastatic, [stage] if stage else []
        if name == "last_response":
            last = patient.last_response
            return (last.value if last else None), [last] if last else []
        if name in LISTS:
            facts = patient.treatments if name == "treatments" else patient.responses
            return [f.value for f in facts], facts
        key = marker_key(name.removeprefix("biomarker."), self.canonical)
        fact = patient.biomarkers.get(key or "")
        return (fact.status if fact else None), [fact] if fact else []

    def condition(self, c: Condition, patient: Patient) -> Verdict:
        value, facts = self.value_of(patient, c.field)
        label = f"{c.field.removeprefix('biomarker.')} status" if "." in c.field else c.field
        evidence = [_evidence(c.field, f) for f in facts]
        op, operand = c.operator, c.operand(c.operator)
        if op == "exists":
            present = bool(value) if isinstance(value, list) else value is not None
            why = "present" if present else "no evidence"
            return Verdict("true" if present == operand else "false", f"{label}: {why}", evidence)
        if value is None:
            why = "TNM without M stage" if c.field == "metastatic" and facts else "no evidence"
            return Verdict("unknown", f"{label} unknown ({why})", evidence)
        if op == "contains_any":
            terms = [fold(t) for t in operand]
            pairs = (
                zip(value, facts, strict=True) if isinstance(value, list) else [(value, facts[0])]
            )
            items = list(pairs)
            hits = [f for v, f in items if any(t in fold(v) for t in terms)]
            if hits:
                found = ", ".join(f.value for f in hits)
                return Verdict("true", f"{label}: {found}", [_evidence(c.field, f) for f in hits])
            what = f"{label} {value}" if isinstance(value, str) else f"{len(items)} {label}"
            return Verdict("false", f"{what}: none contains {', '.join(operand)}", evidence)
        wanted = [operand] if op == "equals" else list(operand)
        if isinstance(value, bool):
            holds = value in wanted
        else:
            holds = fold(value) in {fold(str(w)) for w in wanted}
        shown = str(value).lower() if isinstance(value, bool) else value
        if holds:
            return Verdict("true", f"{label} is {shown}", evidence)
        expected = " or ".join(str(w).lower() if isinstance(w, bool) else w for w in wanted)
        return Verdict("false", f"{label} is {shown}, not {expected}", evidence)

    def clause(self, clause: Clause, patient: Patient) -> Verdict:
        if isinstance(clause, Condition):
            return self.condition(clause, patient)
        if isinstance(clause, Not):
            inner = self.clause(clause.not_, patient)
            return Verdict(_NEGATION[inner.outcome], f"not: {inner.reason}", inner.evidence)
        verdicts = [
            self.clause(c, patient)
            for c in (clause.all if isinstance(clause, AllOf) else clause.any)
        ]
        outcomes = {v.outcome for v in verdicts}
        if isinstance(clause, AllOf):
            if outcomes == {"true"}:
                return Verdict("true", "all hold", [e for v in verdicts for e in v.evidence])
            first = next(v for v in verdicts if v.outcome != "true")
            outcome: Outcome = "false" if "false" in outcomes else "unknown"
            return Verdict(outcome, first.reason, first.evidence)
        if "true" in outcomes:
            return next(v for v in verdicts if v.outcome == "true")
        outcome = "unknown" if "unknown" in outcomes else "false"
        reason = "none holds: " + "; ".join(v.reason for v in verdicts)
        return Verdict(outcome, reason, [e for v in verdicts for e in v.evidence])

    def screen(
        self, name: str, criterion: Criterion, patients: Sequence[Patient]
    ) -> dict[str, Any]:
        """Candidates with the evidence of every clause, excluded patients with the clause."""
        clauses = criterion.clauses
        described = [c.describe() for c in clauses]
        candidates: list[dict[str, Any]] = []
        excluded: list[dict[str, Any]] = []
        for patient in patients:
            verdicts = [self.clause(c, patient) for c in clauses]
            failing = next((i for i, v in enumerate(verdicts) if v.outcome != "true"), None)
            if failing is None:
                candidates.append(
                    {
                        "patient_id": patient.patient_id,
                        "clauses": [
                            {"clause": d, "reason": v.reason, "evidence": v.evidence}
                            for d, v in zip(described, verdicts, strict=True)
                        ],
                    }
                )
                continue
            verdict = verdicts[failing]
            excluded.append(
                {
                    "patient_id": patient.patient_id,
                    "clause_index": failing,
                    "clause": described[failing],
                    "why": "differs" if verdict.outcome == "false" else "unknown",
                    "reason": verdict.reason,
                    "evidence": verdict.evidence,
                }
            )
        return {
            "name": name,
            "description": criterion.description,
            "clauses": described,
            "patients": len(patients),
            "candidates": candidates,
            "excluded": excluded,
            "counts": {
                "candidates": len(candidates),
                "differs": sum(e["why"] == "differs" for e in excluded),
                "unknown": sum(e["why"] == "unknown" for e in excluded),
            },
        }

    def check_markers(self, criteria: dict[str, Criterion]) -> None:
        """``ValueError`` naming the criterion when it tests a marker nobody knows."""
        for name, criterion in criteria.items():
            for marker in criterion.markers():
                if self.canonical(marker) is None:
                    raise ValueError(
                        f"criterion {name}: unknown biomarker {marker!r} in biomarker.{marker}; "
                        "write it as reports do (HER2, RE, PD-L1, EGFR...)"
                    )
