"""The oncology pre-annotator: the rule pipeline, a token classifier for what rules miss, and
one record per document with spans, biomarker -> result relations, statuses and flags.

Rule spans (edsnlp and the biomarker module) come first; a model span is kept only where no
rule span lies (:func:`curation.models.oncology.entities.merge_model`). Every span, whoever
found it, is qualified by the same ``eds.negation``, ``eds.hypothesis`` and ``eds.family``.

Examples
--------
``"HER2 : score 3+."`` gives a BIOMARKER ``HER2``, a BIOMARKER_RESULT ``score 3+`` with status
``positive`` and the relation ``{"from": 0, "to": 1, "type": "has_result"}``;
``"Pas d'indication à une radiothérapie."`` a TREATMENT with ``negated`` set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spacy.tokens import Doc

from curation.models.oncology.biomarkers import canonical_marker, link_results, result_status
from curation.models.oncology.entities import Entity, entities, pipeline
from curation.schema import Record, Span
from curation.settings import PreannotateSettings
from curation.usecases.base import UseCase

if TYPE_CHECKING:
    from curation.models.engine import InferenceEngine

logger = logging.getLogger(__name__)

RELATION = "has_result"
#: Documents per chunk without a model (the model's chunk size is its engine's).
RULES_CHUNK = 256


class OncologyExtractor:
    """Rules (+ model), qualified and linked; streams records in input order.

    Parameters
    ----------
    use_case
        The ``oncology_extraction`` declaration (its id names the records).
    engine
        A token classifier's inference engine, or ``None`` for rules only.
    """

    def __init__(self, use_case: UseCase, engine: InferenceEngine | None = None) -> None:
        self.use_case = use_case
        self.engine = engine
        self.nlp: Any = pipeline()
        self.origin = (
            f"oncology-extractor:rules+{engine.origin}" if engine else "oncology-extractor:rules"
        )

    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[Record]:
        """One record per ``(doc_id, text)``, in input order, chunk by chunk."""
        iterator = iter(docs)
        size = self.engine.settings.docs_per_chunk if self.engine else RULES_CHUNK
        while chunk := list(islice(iterator, size)):
            predicted: dict[str, list[Span]] = {}
            if self.engine is not None:
                predicted = dict(self.engine.predict(chunk))
                for spans in predicted.values():
                    for span in spans:
                        span.origin = self.engine.origin
            prepared = []
            for doc_id, text in chunk:
                doc = self.nlp.make_doc(text)
                doc._.oncology_model_spans = [
                    s for s in predicted.get(doc_id, []) if s.label in self.use_case.labels
                ]
                prepared.append(doc)
            for (doc_id, _), doc in zip(chunk, self.nlp.pipe(prepared), strict=True):
                yield self.record(doc_id, doc)

    def record(self, doc_id: str, doc: Doc) -> Record:
        """The record of one processed document."""
        found = entities(doc)
        spans = [e.span for e in found]
        relations, result_marker = _relations(doc, found)
        attributes: list[dict[str, Any]] = []
        for i, entity in enumerate(found):
            attrs: dict[str, Any] = {
                "span": i,
                "negated": entity.negated,
                "hypothetical": entity.hypothetical,
                "family": entity.family,
            }
            if entity.span.label == "BIOMARKER_RESULT":
                attrs["status"] = _status(doc, found, i, result_marker.get(i))
            attributes.append(attrs)
        return Record(
            doc_id,
            self.use_case.id,
            self.origin,
            spans=spans,
            relations=relations,
            attributes=attributes,
        )


def _relations(doc: Doc, found: list[Entity]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """``has_result`` relations (span indexes) and the marker of each linked result.

    The biomarker module's findings link what it found; markers and results left unlinked
    (a model's, or a finding's marker without its result) are linked by ``link_results``.
    """
    parts: dict[int, dict[str, int]] = {}
    for i, entity in enumerate(found):
        if entity.finding is not None:
            parts.setdefault(entity.finding, {})[entity.span.label] = i
    result_marker = {
        p["BIOMARKER_RESULT"]: p["BIOMARKER"]
        for p in parts.values()
        if "BIOMARKER" in p and "BIOMARKER_RESULT" in p
    }
    linked = set(result_marker) | set(result_marker.values())
    markers = [i for i, e in enumerate(found) if e.span.label == "BIOMARKER" and i not in linked]
    results = [
        i for i, e in enumerate(found) if e.span.label == "BIOMARKER_RESULT" and i not in linked
    ]
    if markers and results:
        pairs = link_results(
            doc.text, [found[i].span for i in markers], [found[j].span for j in results]
        )
        for m, r in pairs:
            if results[r] not in result_marker:
                result_marker[results[r]] = markers[m]
    relations = [
        {"from": marker, "to": result, "type": RELATION}
        for result, marker in sorted(result_marker.items(), key=lambda kv: (kv[1], kv[0]))
    ]
    return relations, result_marker


def _status(doc: Doc, found: list[Entity], i: int, marker: int | None) -> str:
    """The finding's status, else the result read for its linked marker."""
    finding = found[i].finding
    if finding is not None:
        status: str | None = doc._.oncology_findings[finding].status
        if status is not None:
            return status
    name = ""
    if marker is not None:
        mention = found[marker].span.text
        name = canonical_marker(mention) or mention
    return result_status(name, found[i].span.text)


def build_extractor(
    use_case: UseCase, settings: PreannotateSettings, model_dir: Path | None
) -> OncologyExtractor:
    """The extractor the pipeline uses: with the model when ``use_model`` and it is trained,
    else rules only (the rules alone are a usable pre-annotator; a warning says so)."""
    engine = None
    if settings.use_model:
        if model_dir is not None and (model_dir / "config.json").exists():
            from curation.models.engine import InferenceEngine

            engine = InferenceEngine(model_dir, settings.engine)
        else:
            logger.warning(
                "%s: no trained oncology model; pre-annotating with rules only (run "
                "`curation train %s`, or set preannotate.use_model: false to silence this)",
                model_dir,
                use_case.id,
            )
    return OncologyExtractor(use_case, engine)
