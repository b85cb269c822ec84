"""QRM metrics: how well a system answers the questions, and how well a generator writes them.

An item is ``{"stem", "options": {"A".."E": text}, "answers": [letters], "explanation"}``,
one or more per record; a gold item and a predicted item are paired by their position in
their document's record. A teacher rejects an item in Label Studio with the ``verdict``
choice of ``annotation_configs/mcq_generation.v1.xml``, which the converter puts in the
item (:mod:`curation.studio.converters`): an item is **rejected** when its ``verdict`` is
``"rejected"`` (the choice's alias) or ``"Rejeter cette question"``, or when it has
``"rejected": true``. A reviewed record without any item rejects every draft of its
document. Rejected gold items are not questions of the benchmark.

:func:`mcq_metrics`, for systems that answer (predicted items carry ``answers``), as
FrenchMedMCQA (Labrak et al., LOUHI 2022) reports them, with ``G`` the gold and ``P`` the predicted
set of letters of a question:

- **hamming_score**: mean over questions of ``|P ∩ G| / |P ∪ G|`` (scikit-learn's
  ``jaccard_score(average="samples")``); a question without prediction scores 0. The DEFT
  2023 training script counts agreeing *absent* letters too over the same union, which can
  exceed 1; the paper's ratio is the one kept here.
- **emr** (exact match ratio): share of questions with ``P == G`` (scikit-learn's subset
  ``accuracy_score``).
- **by_answers** (``single``: one gold answer, ``multiple``: more) and **by_type** (the
  items' ``type``, when gold items have one).

:func:`generation_metrics`, for generators (predicted items are the drafts teachers saw):

- **acceptance_rate**: accepted drafts / reviewed drafts. A draft is *reviewed* when its
  document has a gold record; documents without one are ``unreviewed`` and left out (a gold
  file that drops rejected questions without a trace makes rejections invisible: keep the
  record, with the verdict).
- **edit_similarity**: over accepted drafts, ``1 - sum(distance) / sum(length)`` between the
  draft's and the accepted item's text (character Levenshtein, ``rapidfuzz``; length the
  longer of the two), for the ``stem``, the five ``options`` and the ``explanation``, and
  ``overall`` over the three. **answers_kept**: share of accepted drafts whose answer set the
  teacher left as it was. **ratings**: mean ``relevance`` and ``difficulty`` (1-5) given.

Both bootstrap their main ratios over gold documents (``numpy.random.default_rng(seed)``).

Examples
--------
>>> from curation.schema import Record
>>> from curation.usecases.mcq_generation import USE_CASE
>>> item = {"stem": "Quel traitement à la sortie d'une pneumopathie lobaire ?",
...         "options": {"A": "amoxicilline", "B": "furosémide", "C": "paracétamol",
...                     "D": "bisoprolol", "E": "apixaban"},
...         "answers": ["A", "C"], "explanation": "Antibiotique et antalgique."}
>>> gold = [Record("d1", "mcq_generation", "gold", items=[item])]
>>> answered = [Record("d1", "mcq_generation", "llm", items=[{"answers": ["A"]}])]
>>> scores = mcq_metrics(gold, answered, USE_CASE, n_resamples=10)
>>> scores["hamming_score"], scores["emr"]
(0.5, 0.0)
>>> draft = dict(item, stem="Quel traitement à la sortie ?")
>>> made = generation_metrics(gold, [Record("d1", "mcq_generation", "tmpl", items=[draft])],
...                           USE_CASE, n_resamples=10)
>>> made["acceptance_rate"], made["edit_similarity"]["options"], made["answers_kept"]
(1.0, 1.0, 1.0)
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, jaccard_score
from sklearn.preprocessing import MultiLabelBinarizer

from curation.metrics.alignment import rounded
from curation.metrics.text import FloatArray, edit_counts, ratio, ratio_intervals
from curation.schema import Record
from curation.usecases.base import UseCase
from curation.usecases.mcq_generation import OPTIONS as LETTERS

#: Values of the ``verdict`` control that reject an item (the choice's alias, or its text).
REJECTED = frozenset({"rejected", "rejeter cette question"})
#: The text fields of an item compared by :func:`generation_metrics`.
FIELDS = ("stem", "options", "explanation")


def is_rejected(item: Mapping[str, Any]) -> bool:
    """Whether a teacher rejected the item (``verdict`` or ``rejected``, see the module)."""
    verdict = item.get("verdict")
    chosen = verdict if isinstance(verdict, list) else [verdict]
    return item.get("rejected") is True or any(
        isinstance(v, str) and v.strip().lower() in REJECTED for v in chosen
    )


def answer_set(item: Mapping[str, Any] | None) -> frozenset[str]:
    """The upper-case letters of an item's ``answers`` (a list, or a string such as ``"A|C"``).

    >>> sorted(answer_set({"answers": "a|C"})), answer_set(None)
    (['A', 'C'], frozenset())
    """
    answers = (item or {}).get("answers") or []
    if isinstance(answers, str):
        answers = re.findall(r"[A-Za-z]", answers)
    return frozenset(str(a).strip().upper() for a in answers if str(a).strip())


def _items_by_doc(records: Iterable[Record], role: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for number, record in enumerate(records, start=1):
        if record.doc_id in out:
            raise ValueError(
                f"{role} record {number}: doc_id {record.doc_id!r} appears twice; "
                "write one record per document with all its items"
            )
        out[record.doc_id] = list(record.items)
    return out


@dataclass(frozen=True, slots=True)
class _Question:
    doc_id: str
    gold: frozenset[str]
    predicted: frozenset[str]
    type: str | None


def _hamming_emr(questions: Sequence[_Question]) -> tuple[float | None, float | None]:
    """Hamming score and EMR by scikit-learn (``None`` without questions), over the letters
    A-E and any other letter given."""
    if not questions:
        return None, None
    given = {x for q in questions for x in q.gold | q.predicted}
    binarizer = MultiLabelBinarizer(classes=sorted(given.union(LETTERS)))
    truth = binarizer.fit_transform([sorted(q.gold) for q in questions])
    guess = binarizer.transform([sorted(q.predicted) for q in questions])
    hamming = jaccard_score(truth, guess, average="samples", zero_division=1.0)
    return rounded(float(hamming)), rounded(float(accuracy_score(truth, guess)))


def _row(questions: Sequence[_Question]) -> dict[str, Any]:
    hamming, emr = _hamming_emr(questions)
    return {"hamming_score": hamming, "emr": emr, "questions": len(questions)}


def _document_parts(
    doc_ids: Sequence[str], per_doc: Mapping[str, Sequence[tuple[float, float]]]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-document sums of each value and counts, in ``doc_ids`` order."""
    rows = [per_doc.get(d, ()) for d in doc_ids]
    sums = [np.array([sum(v[i] for v in r) for r in rows], dtype=np.float64) for i in (0, 1)]
    return sums[0], sums[1], np.array([len(r) for r in rows], dtype=np.float64)


def mcq_metrics(
    gold: Sequence[Record],
    predicted: Sequence[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Hamming score and exact match ratio of a system answering the questions.

    Parameters
    ----------
    gold
        Gold records, ``items`` with their ``answers``; rejected items and items without an
        answer are not scored (counted under ``questions``).
    predicted
        The system's records, ``items`` in the gold order; only ``answers`` is read.
    use_case
        The use case scored; kept for the shared metric call (a letter outside A-E counts
        as a wrong answer).
    groups
        ``doc_id -> group`` for scores per group; documents it does not name fall under
        ``"unknown"``.
    n_resamples, seed, confidence
        Bootstrap settings; the same seed gives the same intervals.

    Returns
    -------
    dict
        JSON-ready metrics (ratios rounded to 4 decimals, ``None`` where undefined):
        ``hamming_score``, ``emr``, ``by_answers``, ``by_type`` (when typed), ``questions``,
        ``bootstrap``, ``documents`` and, with ``groups``, ``by_group``.
    """
    gold_by = _items_by_doc(gold, "gold")
    pred_by = _items_by_doc(predicted, "predicted")
    doc_ids = list(gold_by)
    questions: list[_Question] = []
    skipped = 0
    for doc_id in doc_ids:
        answered = pred_by.get(doc_id, [])
        for i, item in enumerate(gold_by[doc_id]):
            truth = answer_set(item)
            if is_rejected(item) or not truth:
                skipped += 1
                continue
            guess = answer_set(answered[i]) if i < len(answered) else frozenset()
            kind = item.get("type")
            questions.append(_Question(doc_id, truth, guess, str(kind) if kind else None))
    per_doc: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    for q in questions:
        per_doc[q.doc_id].append(
            (len(q.gold & q.predicted) / len(q.gold | q.predicted), float(q.gold == q.predicted))
        )
    hamming, exact, counts = _document_parts(doc_ids, per_doc)
    parts = {"hamming_score": (hamming, counts), "emr": (exact, counts)}
    scores: dict[str, Any] = _row(questions) | {
        "questions": {"scored": len(questions), "not_scored": skipped},
        "by_answers": {
            "single": _row([q for q in questions if len(q.gold) == 1]),
            "multiple": _row([q for q in questions if len(q.gold) > 1]),
        },
        "bootstrap": ratio_intervals(parts, n_resamples, seed, confidence),
        "documents": {
            "gold": len(doc_ids),
            "missing_doc_ids": sum(d not in pred_by for d in doc_ids),
            "unknown_doc_ids": sum(d not in gold_by for d in pred_by),
        },
    }
    types = sorted({q.type for q in questions if q.type})
    if types:
        scores["by_type"] = {t: _row([q for q in questions if q.type == t]) for t in types}
    if groups:
        members: defaultdict[str, list[_Question]] = defaultdict(list)
        for q in questions:
            members[groups.get(q.doc_id, "unknown")].append(q)
        scores["by_group"] = {g: _row(m) for g, m in sorted(members.items())}
    return scores


def _text(item: Mapping[str, Any], name: str) -> str:
    """An item's field as one text; the options as ``A: text`` lines in letter order."""
    value = item.get(name)
    if isinstance(value, Mapping):
        return "\n".join(f"{k}: {value[k] or ''}" for k in sorted(value))
    return str(value or "")


def generation_metrics(
    gold: Sequence[Record],
    drafts: Sequence[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Acceptance rate of drafted questions and how much of them the teachers kept.

    Parameters
    ----------
    gold
        Reviewed records (the teachers' annotations, or gold that keeps rejected items with
        their verdict), ``items`` in the order of the drafts.
    drafts
        The generator's records, ``items``: the drafts the teachers saw.
    use_case
        The use case scored; kept for the shared metric call.
    groups
        ``doc_id -> group`` for acceptance per group; documents it does not name fall under
        ``"unknown"``.
    n_resamples, seed, confidence
        Bootstrap settings; the same seed gives the same intervals.

    Returns
    -------
    dict
        JSON-ready metrics: ``acceptance_rate``, ``drafts`` (``reviewed``, ``accepted``,
        ``rejected``, ``unreviewed``), ``edit_similarity`` (``stem``, ``options``,
        ``explanation``, ``overall``), ``answers_kept``, ``ratings``, ``bootstrap``,
        ``documents`` and, with ``groups``, ``by_group``.
    """
    gold_by = _items_by_doc(gold, "gold")
    draft_by = _items_by_doc(drafts, "draft")
    doc_ids = list(gold_by)
    edits: dict[str, list[tuple[int, int]]] = {name: [] for name in FIELDS}
    # per document and draft: (accepted, characters kept, characters), for the bootstrap
    per_doc: dict[str, list[tuple[int, int, int]]] = {d: [] for d in doc_ids}
    kept, ratings = 0, defaultdict[str, list[int]](list)
    for doc_id in doc_ids:
        reviewed = gold_by[doc_id]
        for i, draft in enumerate(draft_by.get(doc_id, [])):
            final = reviewed[i] if i < len(reviewed) else None
            if final is None or is_rejected(final):
                per_doc[doc_id].append((0, 0, 0))
                continue
            saved = length = 0
            for name in FIELDS:
                distance, longest = edit_counts(_text(draft, name), _text(final, name))
                edits[name].append((distance, longest))
                saved, length = saved + longest - distance, length + longest
            per_doc[doc_id].append((1, saved, length))
            kept += answer_set(draft) == answer_set(final)
            for name in ("relevance", "difficulty"):
                if isinstance(final.get(name), int | float):
                    ratings[name].append(int(final[name]))
    rows = [row for d in doc_ids for row in per_doc[d]]
    accepted, saved, length = (sum(r[i] for r in rows) for i in range(3))
    columns = np.array(
        [[len(per_doc[d]), *(sum(r[i] for r in per_doc[d]) for i in range(3))] for d in doc_ids],
        dtype=np.float64,
    ).reshape(len(doc_ids), 4)
    parts = {
        "acceptance_rate": (columns[:, 1], columns[:, 0]),
        "edit_similarity": (columns[:, 2], columns[:, 3]),
    }
    scores: dict[str, Any] = {
        "acceptance_rate": ratio(accepted, len(rows)),
        "drafts": {
            "reviewed": len(rows),
            "accepted": accepted,
            "rejected": len(rows) - accepted,
            "unreviewed": sum(len(v) for d, v in draft_by.items() if d not in gold_by),
        },
        "edit_similarity": {
            name: ratio(sum(m - e for e, m in v), sum(m for _, m in v)) for name, v in edits.items()
        }
        | {"overall": ratio(saved, length)},
        "answers_kept": ratio(kept, accepted),
        "ratings": {name: ratio(sum(v), len(v)) for name, v in ratings.items()},
        "bootstrap": ratio_intervals(parts, n_resamples, seed, confidence),
        "documents": {
            "gold": len(doc_ids),
            "missing_doc_ids": sum(d not in draft_by for d in doc_ids),
            "unknown_doc_ids": sum(d not in gold_by for d in draft_by),
        },
    }
    if groups:
        members: defaultdict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for doc_id in doc_ids:
            members[groups.get(doc_id, "unknown")].extend(per_doc[doc_id])
        scores["by_group"] = {
            g: {"acceptance_rate": ratio(sum(a for a, *_ in r), len(r)), "drafts": len(r)}
            for g, r in sorted(members.items())
        }
    return scores


__all__ = ["FIELDS", "REJECTED", "answer_set", "generation_metrics", "is_rejected", "mcq_metrics"]
