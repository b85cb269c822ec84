"""The CIM-10 pre-annotator: rules + classifier, merged (:mod:`curation.models.coding.merge`).

Exemple
-------
"Patiente hospitalisée pour insuffisance cardiaque à FEVG altérée. Pas de diabète." gives
``I5002`` as DP, from the classifier, with "Insuffisance cardiaque" (matched by ``eds.cim10``
as ``I50``) as evidence; the negated diabetes suggests nothing. "Suivi pour DT2" gives ``E1198``
with "DT2" as evidence when training learnt that term (:mod:`curation.models.coding.lexicon`).

Output: one :class:`~curation.schema.Record` per document, ``labels`` = DP then the other codes
by decreasing score, ``spans`` = evidence mentions labelled with the code they support,
sorted by offsets, and ``provenance.suggestions`` = code, role, score, sources and the
indexes of its evidence in ``spans``. Nothing goes in ``attributes``: the Label Studio
converter maps attributes to controls.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import version
from itertools import islice
from pathlib import Path
from typing import Any

from curation.models.coding.merge import Suggestion, merge_suggestions
from curation.models.coding.rules import Mention, rule_candidates
from curation.models.coding.store import CoderModel, load
from curation.schema import Record, Span
from curation.settings import CoderSettings, PreannotateSettings
from curation.usecases.base import UseCase

#: Documents scored together (one TF-IDF transform, one ``nlp.pipe`` stream per chunk).
CHUNK = 256


def _rounded(score: float) -> float:
    return round(min(max(score, 0.0), 1.0), 4)


class Coder:
    """Suggests CIM-10 codes for documents; streams records in input order.

    ``model`` is the trained classifier (``None``: rules only, with ``settings``'s merge
    settings); ``use_rules`` False leaves the matcher and the model's lexicon out (to measure
    the classifier alone).
    """

    def __init__(
        self,
        use_case: UseCase,
        model: CoderModel | None,
        settings: CoderSettings | None = None,
        *,
        use_rules: bool = True,
    ) -> None:
        if model is None and not use_rules:
            raise ValueError("a coder needs the rules, the classifier or both")
        self.use_case = use_case
        self.model = model
        self.settings = model.settings if model is not None else settings or CoderSettings()
        self.use_rules = use_rules
        rules = f"rules-edsnlp-{version('edsnlp')}"
        self.model_version = model.version if model is not None else rules
        self.origin = f"coder:{self.model_version}"

    def suggest(self, texts: list[str]) -> list[list[Suggestion]]:
        """Ranked suggestions (DP first) of each text."""
        n = len(texts)
        lexicon = self.model.lexicon if self.model is not None else None
        mentions: list[list[Mention]] = (
            list(rule_candidates(texts, lexicon)) if self.use_rules else [[] for _ in range(n)]
        )
        classifier: list[dict[str, float]] = [{} for _ in range(n)]
        principal: list[dict[str, float]] = [{} for _ in range(n)]
        if self.model is not None and texts:
            model = self.model.classifier
            scores, dp = model.predict(texts)
            for i in range(n):
                classifier[i] = dict(zip(model.codes, scores[i].tolist(), strict=True))
                principal[i] = dict(zip(model.dp_codes, dp[i].tolist(), strict=True))
        s = self.settings
        return [
            merge_suggestions(
                classifier[i],
                principal[i],
                mentions[i],
                matcher_score=s.matcher_score,
                lexicon_score=s.lexicon_score,
                min_score=s.min_score,
                top_k=s.top_k,
            )
            for i in range(n)
        ]

    def record(self, doc_id: str, suggestions: list[Suggestion]) -> Record:
        """The prediction record of one document from its suggestions."""
        keyed = sorted(
            {(m.start, m.end, s.code): (m, s) for s in suggestions for m in s.mentions}.items()
        )
        spans = [Span(m.start, m.end, s.code, m.text, _rounded(s.score)) for _, (m, s) in keyed]
        index = {key: i for i, (key, _) in enumerate(keyed)}
        described: list[dict[str, Any]] = [
            {
                "code": s.code,
                "role": s.role,
                "score": _rounded(s.score),
                "sources": list(s.sources),
                "evidence": sorted({index[(m.start, m.end, s.code)] for m in s.mentions}),
            }
            for s in suggestions
        ]
        provenance: dict[str, Any] = {"model_version": self.model_version}
        if described:
            provenance["suggestions"] = described
        return Record(
            doc_id,
            self.use_case.id,
            self.origin,
            spans=spans,
            labels=[s.code for s in suggestions],
            provenance=provenance,
        )

    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[Record]:
        iterator = iter(docs)
        while chunk := list(islice(iterator, CHUNK)):
            suggestions = self.suggest([text for _, text in chunk])
            for (doc_id, _), suggested in zip(chunk, suggestions, strict=True):
                yield self.record(doc_id, suggested)


def build_coder(use_case: UseCase, settings: PreannotateSettings, model_dir: Path | None) -> Coder:
    """The coder the pipeline uses: rules + the trained classifier of ``model_dir``, or the
    rules alone when ``preannotate.use_model`` is false (default merge settings then)."""
    if not settings.use_model:
        return Coder(use_case, None)
    if model_dir is None:
        raise FileNotFoundError(
            "no model folder given for icd10_coding: run `curation train icd10_coding`, or set "
            "preannotate.use_model: false for the eds.cim10 rules only"
        )
    return Coder(use_case, load(model_dir))
