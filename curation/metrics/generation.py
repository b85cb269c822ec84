"""Structured clinical summary metrics: wording, facts, and what the draft saved the expert.

Each gold and predicted record holds ``sections``: section name -> text (the sections of
:data:`~curation.usecases.clinical_summary.SECTIONS`, in any order; others are scored too,
after them). Gold is the expert's correction; the prediction is a model's draft. A gold
document without prediction has empty sections; predictions for documents absent from gold
are ignored (both are counted under ``documents``). A (document, section) *pair* is scored
when the gold or the predicted section has text: a section both leave empty ("the report
does not say") is neither right nor wrong.

Definitions
-----------
- **rouge_l**: ROUGE-L (longest common subsequence of words) by ``rouge-score``, with
  :class:`~curation.metrics.text.FrenchTokenizer`: case folded, accents kept (``diabète`` and
  ``diabete`` are two words: an accent the expert restored is a correction), no stemmer (the
  package's is English). Precision, recall and F1 are averaged over the scored pairs;
  ``per_section`` averages over the pairs of each section.
- **edit_similarity**: ``1 - sum(distance) / sum(length)`` over scored pairs, where distance is
  the character Levenshtein distance (``rapidfuzz``) from draft to correction and length the
  longer of the two: the share of the text the expert did not have to retype. A missing
  draft saves nothing (0); an untouched one saves everything (1).
- **facts** (only with ``facts``: ``doc_id -> facts`` the synthetic generator knows, written
  as in the report: diagnoses, treatments, dates, CIM-10 codes). Documents ``facts`` does not
  name are left out. Texts are compared by :func:`~curation.metrics.text.fact_key` (case,
  accents and white space folded, complete dates in one form, codes dotless).

  - ``recall``: found facts / facts, summed over documents, where a fact is found when its
    key appears, as whole words, in the key of the predicted summary (all sections).
  - ``unsupported_rate``: unsupported statements / checkable statements. A *statement* is a
    sentence of a predicted section (edsnlp's ``eds.sentences``, a bullet starting one),
    further cut at semicolons, the list separator of summaries. Its *fact-like items* are the
    complete dates it writes (``12/03/2024``, ``12 mars 2024``), the CIM-10 codes of the ATIH
    list it writes in capitals (``J18.1``; ``à J15`` is a day count), and the terms of the fact
    vocabulary it contains (the facts of *every* document, plus ``vocabulary``). A statement is
    *checkable* when it has at least one such item, *unsupported* when one of them is written
    in none of this document's facts. What the detector cannot see is not counted: a drug
    outside the vocabulary, a paraphrased diagnosis, a wrong dose of a known drug. The rate is
    a lower bound of what an expert would flag, comparable between systems on one corpus.

- **bootstrap**: percentile intervals of ROUGE-L F1, fact recall, unsupported rate and edit
  similarity, resampling gold documents with replacement (``numpy.random.default_rng(seed)``).

Examples
--------
>>> from curation.schema import Record
>>> from curation.usecases.clinical_summary import USE_CASE
>>> gold = [Record("d1", "clinical_summary", "gold", sections={
...     "diagnostic": "Pneumopathie franche lobaire aiguë (J18.1).",
...     "traitement_sortie": "Amoxicilline 1 g x 3/j pendant 7 jours."})]
>>> draft = [Record("d1", "clinical_summary", "llm", sections={
...     "diagnostic": "Pneumopathie lobaire aiguë (J18.1).",
...     "traitement_sortie": "Amoxicilline 1 g x 3/j. Sortie le 12/03/2024."})]
>>> facts = {"d1": ["pneumopathie franche lobaire aiguë", "J181", "amoxicilline"]}
>>> scores = summary_metrics(gold, draft, USE_CASE, facts=facts, n_resamples=10)
>>> scores["per_section"]["diagnostic"]["rouge_l"], scores["facts"]["recall"]
(0.9091, 0.6667)
>>> scores["facts"]["unsupported_statements"], scores["facts"]["checkable_statements"]
(1, 3)
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from rouge_score import rouge_scorer

from curation.metrics.text import (
    FloatArray,
    FrenchTokenizer,
    codes_in,
    contains,
    dates_in,
    edit_counts,
    fact_key,
    ratio,
    ratio_intervals,
)
from curation.schema import Record
from curation.usecases.base import UseCase

_SEMICOLON = re.compile(r"\s*;\s*")


@cache
def _scorer() -> Any:
    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=FrenchTokenizer())


@cache
def _sentencizer() -> Any:
    """edsnlp's ``eds.sentences`` (bullets start sentences), built once per process."""
    import edsnlp
    import edsnlp.pipes as eds

    nlp = edsnlp.blank("eds")
    nlp.add_pipe(eds.sentences(use_bullet_start=True))
    return nlp


def statements(text: str) -> list[str]:
    """Sentences of a summary section, cut at semicolons, stripped, empty ones dropped.

    >>> statements("Amoxicilline 1 g ; paracétamol 1 g si douleur. Contrôle à J7.")
    ['Amoxicilline 1 g', 'paracétamol 1 g si douleur.', 'Contrôle à J7.']
    """
    if not text.strip():
        return []
    pieces = (p.strip() for s in _sentencizer()(text).sents for p in _SEMICOLON.split(s.text))
    return [p for p in pieces if p]


@dataclass(slots=True)
class _Facts:
    """Fact keys of one document, and the corpus vocabulary indexed by first word."""

    keys: list[str]
    vocabulary: dict[str, list[str]]

    def items(self, statement: str) -> set[str]:
        """Fact-like items of a statement: date and code tokens, vocabulary terms."""
        key = fact_key(statement)
        found = dates_in(statement) | codes_in(statement)
        for word in set(key.split()):
            found.update(t for t in self.vocabulary.get(word, ()) if contains(key, t))
        return found

    def supports(self, item: str) -> bool:
        return any(contains(k, item) for k in self.keys)


@dataclass(slots=True)
class _Document:
    """Scores of one gold document."""

    rouge: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    edits: dict[str, tuple[int, int]] = field(default_factory=dict)
    found: int = 0
    facts: int = 0
    checkable: int = 0
    unsupported: int = 0
    statements: int = 0


def _sections_by_doc(records: Iterable[Record], role: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for number, record in enumerate(records, start=1):
        if record.doc_id in out:
            raise ValueError(
                f"{role} record {number}: doc_id {record.doc_id!r} appears twice; "
                "write one record per document with all its sections"
            )
        out[record.doc_id] = {k: str(v or "") for k, v in record.sections.items()}
    return out


def _vocabulary(facts: Mapping[str, Sequence[str]], extra: Iterable[str]) -> dict[str, list[str]]:
    """Fact keys of every document (and ``extra``), indexed by their first word; lone date
    and code tokens are left to their own detectors."""
    terms = {fact_key(t) for doc in facts.values() for t in doc} | {fact_key(t) for t in extra}
    index: dict[str, list[str]] = defaultdict(list)
    for term in sorted(terms):
        if term and not (dates_in(term) | codes_in(term)) >= {term}:
            index[term.split()[0]].append(term)
    return dict(index)


def _score_document(
    gold: Mapping[str, str], draft: Mapping[str, str], order: Sequence[str], facts: _Facts | None
) -> _Document:
    doc = _Document()
    for name in order:
        target, prediction = gold.get(name, "").strip(), draft.get(name, "").strip()
        if not (target or prediction):
            continue
        score = _scorer().score(target, prediction)["rougeL"]
        doc.rouge[name] = (score.precision, score.recall, score.fmeasure)
        doc.edits[name] = edit_counts(prediction, target)
    if facts is not None:
        summary = fact_key("\n".join(draft.get(name, "") for name in order))
        doc.facts = len(facts.keys)
        doc.found = sum(contains(summary, k) for k in facts.keys)
        for name in order:
            for statement in statements(draft.get(name, "")):
                items = facts.items(statement)
                doc.statements += 1
                doc.checkable += bool(items)
                doc.unsupported += any(not facts.supports(i) for i in items)
    return doc


def _summary(docs: Sequence[_Document]) -> dict[str, Any]:
    """ROUGE-L, fact recall and edit similarity of a set of documents."""
    pairs = [p for d in docs for p in d.rouge.values()]
    edits = [e for d in docs for e in d.edits.values()]
    length = sum(n for _, n in edits)
    return {
        "rouge_l": ratio(sum(f for *_, f in pairs), len(pairs)),
        "fact_recall": ratio(sum(d.found for d in docs), sum(d.facts for d in docs)),
        "edit_similarity": ratio(length - sum(d for d, _ in edits), length),
        "documents": len(docs),
    }


def summary_metrics(
    gold: Sequence[Record],
    predicted: Sequence[Record],
    use_case: UseCase,
    groups: Mapping[str, str] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    facts: Mapping[str, Sequence[str]] | None = None,
    vocabulary: Iterable[str] = (),
) -> dict[str, Any]:
    """ROUGE-L per section and overall, fact recall, unsupported-statement rate, edit
    similarity between draft and correction, and document bootstrap intervals.

    Parameters
    ----------
    gold
        Corrected summaries, one record per document, ``sections``.
    predicted
        Drafts (or any system's summaries), same shape.
    use_case
        The use case scored: its labels (the sections) come first, in their order.
    groups
        ``doc_id -> group`` (e.g. the document type) for scores per group; documents it does
        not name fall under ``"unknown"``.
    n_resamples, seed, confidence
        Bootstrap settings; the same seed gives the same intervals.
    facts
        ``doc_id -> facts`` known for each document (see the module's definitions); without
        it, the fact scores are ``None``.
    vocabulary
        More fact-like terms to look for in statements (drug names of the generator's
        vocabulary, say), beside the facts of every document.

    Returns
    -------
    dict
        JSON-ready metrics (ratios rounded to 4 decimals, ``None`` where undefined):
        ``rouge_l`` (``precision``, ``recall``, ``f1``, ``pairs``), ``per_section``,
        ``edit_similarity``, ``facts``, ``bootstrap``, ``documents`` and, with ``groups``,
        ``by_group``.

    Raises
    ------
    ValueError
        A ``doc_id`` appears twice in one input, or a bootstrap setting is out of range.
    """
    gold_by = _sections_by_doc(gold, "gold")
    pred_by = _sections_by_doc(predicted, "predicted")
    doc_ids = list(gold_by)
    declared = list(dict.fromkeys(use_case.labels))
    seen = {k for d in doc_ids for k in (*gold_by[d], *pred_by.get(d, {}))}
    order = declared + sorted(seen.difference(declared))
    index = _vocabulary(facts, vocabulary) if facts is not None else {}
    docs: list[_Document] = []
    for doc_id in doc_ids:
        known = None
        if facts is not None and doc_id in facts:
            keys = list(dict.fromkeys(k for k in map(fact_key, facts[doc_id]) if k))
            known = _Facts(keys, index)
        docs.append(_score_document(gold_by[doc_id], pred_by.get(doc_id, {}), order, known))
    with_facts = [d for d, i in zip(docs, doc_ids, strict=True) if facts and i in facts]

    pairs = [p for d in docs for p in d.rouge.values()]
    per_section: dict[str, Any] = {}
    for name in order:
        rows = [d.rouge[name] for d in docs if name in d.rouge]
        edits = [d.edits[name] for d in docs if name in d.edits]
        length = sum(n for _, n in edits)
        per_section[name] = {
            "rouge_l": ratio(sum(f for *_, f in rows), len(rows)),
            "edit_similarity": ratio(length - sum(d for d, _ in edits), length),
            "documents": len(rows),
        }
    edits = [e for d in docs for e in d.edits.values()]
    distance, length = sum(d for d, _ in edits), sum(n for _, n in edits)
    found, total = sum(d.found for d in with_facts), sum(d.facts for d in with_facts)
    checkable = sum(d.checkable for d in with_facts)
    unsupported = sum(d.unsupported for d in with_facts)

    def column(values: Iterable[float]) -> FloatArray:
        return np.fromiter(values, dtype=np.float64, count=len(docs))

    parts = {
        "rouge_l": (
            column(sum(f for *_, f in d.rouge.values()) for d in docs),
            column(len(d.rouge) for d in docs),
        ),
        "fact_recall": (column(d.found for d in docs), column(d.facts for d in docs)),
        "unsupported_rate": (
            column(d.unsupported for d in docs),
            column(d.checkable for d in docs),
        ),
        "edit_similarity": (
            column(sum(n - e for e, n in d.edits.values()) for d in docs),
            column(sum(n for _, n in d.edits.values()) for d in docs),
        ),
    }
    scores: dict[str, Any] = {
        "rouge_l": {
            "precision": ratio(sum(p for p, *_ in pairs), len(pairs)),
            "recall": ratio(sum(r for _, r, _ in pairs), len(pairs)),
            "f1": ratio(sum(f for *_, f in pairs), len(pairs)),
            "pairs": len(pairs),
        },
        "per_section": per_section,
        "edit_similarity": {
            "similarity": ratio(length - distance, length),
            "distance": distance,
            "characters": length,
        },
        "facts": {
            "recall": ratio(found, total) if facts is not None else None,
            "found": found,
            "facts": total,
            "unsupported_rate": ratio(unsupported, checkable) if facts is not None else None,
            "unsupported_statements": unsupported,
            "checkable_statements": checkable,
            "statements": sum(d.statements for d in with_facts),
            "documents": len(with_facts),
        },
        "bootstrap": ratio_intervals(parts, n_resamples, seed, confidence),
        "documents": {
            "gold": len(doc_ids),
            "missing_doc_ids": sum(d not in pred_by for d in doc_ids),
            "unknown_doc_ids": sum(d not in gold_by for d in pred_by),
        },
    }
    if groups:
        members: defaultdict[str, list[_Document]] = defaultdict(list)
        for doc_id, doc in zip(doc_ids, docs, strict=True):
            members[groups.get(doc_id, "unknown")].append(doc)
        scores["by_group"] = {group: _summary(m) for group, m in sorted(members.items())}
    return scores


__all__ = ["statements", "summary_metrics"]
