"""The patient table against the synthetic corpus's patient-level truth.

The generator writes one JSON object per oncology patient
(``<answer_keys>/patients/oncology.jsonl``): ``site`` "sein gauche", ``histology``
"carcinome canalaire infiltrant", ``grade``, ``tnm``, ``metastatic``, ``biomarkers``
(``[{"name": "HER2", "result": "score 3+", "status": "positive"}]``), ``treatments`` (the
affirmed ones) and ``responses`` (one per follow-up). Dates are not compared: the table's are
pseudonymised (shifted per patient), the truth's are not.

Text is compared folded (case, accents, white space). Field accuracies are over the truth
patients present in the table; a truth patient absent from the table is counted as missing.
The result holds numbers only (DVC metrics), never text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from curation.io import iter_json_objects
from curation.structure.patients import TEXT_FIELDS, Canonical, Patient, fold, marker_key


def read_truth(path: str | Path) -> list[dict[str, Any]]:
    """Truth patients of a JSONL file (each needs ``patient_id``)."""
    return [data for _, data in iter_json_objects(path) if data.get("patient_id")]


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _accuracy(correct: int, total: int, empty: int) -> dict[str, float | int]:
    return {"accuracy": _ratio(correct, total), "correct": correct, "total": total, "empty": empty}


def _collapse(sequence: Iterable[str]) -> list[str]:
    """Consecutive repeats as one: the same response stated by the imaging report and the
    consultation of one follow-up is one assessment."""
    out: list[str] = []
    for item in sequence:
        if not out or out[-1] != item:
            out.append(item)
    return out


def _table_value(patient: Patient, name: str) -> Any:
    if name == "metastatic":
        return patient.metastatic
    fact = getattr(patient, name)
    return None if fact is None else fact.value


def _same(expected: Any, found: Any) -> bool:
    if isinstance(expected, bool) or isinstance(found, bool):
        return expected is found
    return fold(str(expected)) == fold(str(found))


def evaluate(
    patients: Sequence[Patient], truth: Sequence[Mapping[str, Any]], canonical: Canonical
) -> dict[str, Any]:
    """Patient counts, field accuracies, biomarker status accuracy, treatment set P/R/F1 and
    response sequence and last-response accuracy."""
    table = {p.patient_id: p for p in patients}
    matched = [(t, table[t["patient_id"]]) for t in truth if t["patient_id"] in table]
    truth_ids = {t["patient_id"] for t in truth}
    metrics: dict[str, Any] = {
        "patients": {
            "truth": len(truth),
            "table": len(table),
            "matched": len(matched),
            "missing": len(truth) - len(matched),
            "extra": sum(pid not in truth_ids for pid in table),
            "coverage": _ratio(len(matched), len(truth)),
        }
    }
    fields: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, "metastatic"):
        pairs = [(t[name], _table_value(p, name)) for t, p in matched if t.get(name) is not None]
        correct = sum(_same(expected, found) for expected, found in pairs)
        fields[name] = _accuracy(correct, len(pairs), sum(found is None for _, found in pairs))
    metrics["fields"] = fields

    per_marker: dict[str, list[int]] = {}
    for t, p in matched:
        for marker in t.get("biomarkers") or []:
            key = marker_key(str(marker.get("name", "")), canonical)
            if key is None or not marker.get("status"):
                continue
            fact = p.biomarkers.get(key)
            row = per_marker.setdefault(key, [0, 0, 0])
            row[0] += int(fact is not None and fact.status == marker["status"])
            row[1] += 1
            row[2] += int(fact is None)
    metrics["biomarkers"] = {
        "micro": _accuracy(*(sum(r[i] for r in per_marker.values()) for i in range(3))),
        "per_marker": {k: _accuracy(*per_marker[k]) for k in sorted(per_marker)},
    }

    tp = fp = fn = exact = 0
    for t, p in matched:
        expected = {fold(x) for x in t.get("treatments") or []}
        found = {fold(f.value) for f in p.treatments}
        tp, fp, fn = (
            tp + len(expected & found),
            fp + len(found - expected),
            fn + len(expected - found),
        )
        exact += expected == found
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    metrics["treatments"] = {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "exact_set_accuracy": _ratio(exact, len(matched)),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }

    sequence = last = last_total = 0
    for t, p in matched:
        expected_seq = _collapse(t.get("responses") or [])
        found_seq = _collapse(f.value for f in p.responses)
        sequence += expected_seq == found_seq
        if expected_seq:
            last_total += 1
            last += bool(found_seq) and found_seq[-1] == expected_seq[-1]
    metrics["responses"] = {
        "sequence_accuracy": _ratio(sequence, len(matched)),
        "sequence_total": len(matched),
        "last_response_accuracy": _ratio(last, last_total),
        "last_response_total": last_total,
    }
    return metrics
