"""The treatment response pre-annotator: RECIST rules first, the classifier where they hesitate.

Policy
------
1. **Label.** The rules' answer when they find affirmed statements that agree (or a
   progression among them, :mod:`curation.models.response.rules`); else the classifier's
   most probable response; in rules-only mode, the rules' least favourable answer when they
   conflict. A report where neither finds anything gets a record without label.
2. **Scores.** Per response, the rules' answer weighs ``rule_score`` against the classifier:
   ``score = rule_score * [rules say it] + (1 - rule_score) * p_classifier``, a mixture
   that still sums to 1 (the classifier's probabilities alone when the rules hesitate). In
   rules-only mode the answer scores ``rule_score``, or ``ambiguous_score`` when the rules
   conflict (the other responses they read then score half of it). The record's score is
   its label's (0 without label): Label Studio serves the least certain reports first.
3. **Evidence.** The rules' sentence for the label when they read it; else the sentence the
   classifier finds most typical of the label, in the conclusion when the report has one.

Exemple
-------
"Conclusion : réponse partielle selon RECIST 1.1 avec diminution de 42 % de la somme des
diamètres." gives ``partial_response`` from the rules, with that conclusion (without
"Conclusion : " and the period) as evidence; "Conclusion : lésions cibles en nette
régression." gives the classifier's answer, with that sentence as evidence.

Output: one :class:`~curation.schema.Record` per document, ``labels = [response]``, ``spans``
= the evidence labelled with the response (its score, the record's), and ``provenance``:
``model_version``, ``source`` (``rules`` or ``classifier``), ``score``, ``ambiguous`` when the
rules conflicted, and ``suggestions``: every response with a score, best first, with its
classifier probability and its sources (the converter reads them like the coder's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from curation.models.response.rules import (
    Evidence,
    RuleAnswer,
    conclusion_regions,
    evidence_of,
    find_response,
    sentences,
)
from curation.models.response.store import ResponseModel, load
from curation.schema import Record, Span
from curation.settings import PreannotateSettings, ResponseSettings
from curation.usecases.base import UseCase
from curation.usecases.oncology_response import RESPONSES

#: Version of the rules (part of the origin of rules-only predictions).
RULES_VERSION = "oncology_response-rules-v1"
#: Sources of a suggestion, in provenance.
RULES, CLASSIFIER = "recist_rules", "classifier"
#: Documents scored together (one TF-IDF transform per chunk).
CHUNK = 256


def _rounded(score: float) -> float:
    return round(min(max(score, 0.0), 1.0), 4)


class ResponsePredictor:
    """Predicts the response of follow-up reports; streams records in input order.

    ``model`` is the trained classifier (``None``: rules only, with ``settings``' scores);
    ``use_rules`` False leaves the rules out (to measure the classifier alone).
    """

    def __init__(
        self,
        use_case: UseCase,
        model: ResponseModel | None,
        settings: ResponseSettings | None = None,
        *,
        use_rules: bool = True,
    ) -> None:
        if model is None and not use_rules:
            raise ValueError("a response predictor needs the rules, the classifier or both")
        self.use_case = use_case
        self.model = model
        self.settings = model.settings if model is not None else settings or ResponseSettings()
        self.use_rules = use_rules
        self.model_version = model.version if model is not None else RULES_VERSION
        self.origin = f"response:{self.model_version}"

    def _scores(
        self, rule: RuleAnswer | None, probabilities: dict[str, float] | None
    ) -> tuple[str | None, dict[str, float], str]:
        """The label, each response's score and the label's source."""
        s = self.settings
        if rule is not None and not rule.ambiguous:
            weight = s.rule_score
            base = probabilities or {}
            scores = {r: (1 - weight) * base.get(r, 0.0) for r in RESPONSES}
            scores[rule.label] += weight
            return rule.label, scores, RULES
        if probabilities is not None:
            label = max(RESPONSES, key=lambda r: (probabilities[r], -RESPONSES.index(r)))
            return label, dict(probabilities), CLASSIFIER
        if rule is not None:  # rules only, conflicting statements
            scores = {r: s.ambiguous_score / 2 for r in rule.labels}
            scores[rule.label] = s.ambiguous_score
            return rule.label, scores, RULES
        return None, {}, CLASSIFIER

    def _evidence(self, text: str, label: str, rule: RuleAnswer | None) -> Evidence | None:
        if rule is not None and label in rule.evidences:
            return rule.evidences[label]
        if self.model is None:
            return None
        bounds = sentences(text)
        regions = conclusion_regions(text)
        concluding = [(a, b) for a, b in bounds if any(a < e and s < b for s, e in regions)]
        candidates = concluding or bounds
        best = self.model.classifier.best_sentence([text[a:b] for a, b in candidates], label)
        if best is None:
            return None
        return evidence_of(text, *candidates[best])

    def record(
        self, doc_id: str, text: str, rule: RuleAnswer | None, p: dict[str, float] | None
    ) -> Record:
        """The prediction record of one document from the rules' answer and the classifier's
        probabilities (``None`` when either is left out)."""
        label, scores, source = self._scores(rule, p)
        provenance: dict[str, Any] = {"model_version": self.model_version}
        if label is None:  # nothing read: the least certain of all predictions
            provenance["score"] = 0.0
            return Record(doc_id, self.use_case.id, self.origin, provenance=provenance)
        score = _rounded(scores[label])
        spans = []
        evidence = self._evidence(text, label, rule)
        if evidence is not None:
            spans.append(Span(evidence.start, evidence.end, label, evidence.text, score))
        ranked = sorted(
            (r for r in RESPONSES if scores.get(r, 0.0) > 0 or r == label),
            key=lambda r: (r != label, -scores.get(r, 0.0), RESPONSES.index(r)),
        )
        suggestions = []
        for response in ranked:
            sources = [RULES] if rule is not None and response in rule.labels else []
            entry: dict[str, Any] = {"code": response, "score": _rounded(scores[response])}
            if p is not None:
                sources.append(CLASSIFIER)
                entry["probability"] = _rounded(p[response])
            suggestions.append(entry | {"sources": sources})
        provenance |= {"source": source, "score": score, "suggestions": suggestions}
        if rule is not None and rule.ambiguous:
            provenance["ambiguous"] = True
        return Record(
            doc_id,
            self.use_case.id,
            self.origin,
            spans=spans,
            labels=[label],
            provenance=provenance,
        )

    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[Record]:
        iterator = iter(docs)
        while chunk := list(islice(iterator, CHUNK)):
            texts = [text for _, text in chunk]
            rules = [find_response(t) if self.use_rules else None for t in texts]
            probabilities: list[dict[str, float] | None] = [None] * len(texts)
            if self.model is not None:
                matrix = self.model.classifier.predict_proba(texts)
                probabilities = [dict(zip(RESPONSES, row.tolist(), strict=True)) for row in matrix]
            for (doc_id, text), rule, p in zip(chunk, rules, probabilities, strict=True):
                yield self.record(doc_id, text, rule, p)


def build_classifier(
    use_case: UseCase, settings: PreannotateSettings, model_dir: Path | None
) -> ResponsePredictor:
    """The predictor the pipeline uses: the RECIST rules + the trained classifier of
    ``model_dir``, or the rules alone when ``preannotate.use_model`` is false."""
    if not settings.use_model:
        return ResponsePredictor(use_case, None)
    if model_dir is None:
        raise FileNotFoundError(
            "no model folder given for oncology_response: run `curation train "
            "oncology_response`, or set preannotate.use_model: false for the RECIST rules only"
        )
    return ResponsePredictor(use_case, load(model_dir))
