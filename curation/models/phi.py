"""The pseudonymisation detector: rules for what has structure, a trained token classifier for
names, places and hospitals, and one merge policy (:mod:`curation.models.merge`).

Exemple
-------
``Mme Jeanne PETIT, née le 12/03/1950, tél 06 12 34 56 78`` gives PRENOM and NOM from the
model, DATE_NAISSANCE and TEL from the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from curation.models.engine import InferenceEngine
from curation.models.merge import merge_spans
from curation.models.rules import PhiRules
from curation.schema import Record, Span
from curation.settings import PreannotateSettings
from curation.usecases.base import UseCase


class PhiDetector:
    """Rules + model, merged; streams records in input order."""

    def __init__(
        self, use_case: UseCase, rules: PhiRules, engine: InferenceEngine | None = None
    ) -> None:
        self.use_case = use_case
        self.rules = rules
        self.engine = engine
        self.origin = f"phi-detector:rules+{engine.origin}" if engine else "phi-detector:rules"

    def detect(self, text: str, model_spans: list[Span] | None = None) -> list[Span]:
        """Merged spans of one text (``model_spans`` already predicted, or none)."""
        return merge_spans(self.rules(text), model_spans or [])

    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[Record]:
        iterator = iter(docs)
        size = self.engine.settings.docs_per_chunk if self.engine else 256
        while chunk := list(islice(iterator, size)):
            if self.engine is not None:
                predicted = dict(self.engine.predict(chunk))
                for spans in predicted.values():
                    for span in spans:
                        span.origin = self.engine.origin
            else:
                predicted = {}
            for doc_id, text in chunk:
                spans = self.detect(text, predicted.get(doc_id))
                yield Record(doc_id, self.use_case.id, self.origin, spans=spans)


def build_detector(
    use_case: UseCase, settings: PreannotateSettings, model_dir: Path | None
) -> PhiDetector:
    """The detector the pipeline uses: the model when ``use_model`` and it is trained."""
    engine = None
    if settings.use_model:
        if model_dir is None or not (model_dir / "config.json").exists():
            raise FileNotFoundError(
                f"{model_dir}: the pseudonymisation model is not trained; run "
                "`curation train pseudonymisation` (or `dvc repro`), or set "
                "preannotate.use_model: false for rules only"
            )
        engine = InferenceEngine(model_dir, settings.engine)
    return PhiDetector(use_case, PhiRules(), engine)
