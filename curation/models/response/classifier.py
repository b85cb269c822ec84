"""The trainable part of the response predictor: TF-IDF features and a multinomial logistic
regression over the five RECIST responses.

Features: word 1-2 grams ("pas de progression" and "progression de la maladie" are
different features) and ``char_wb`` 3-5 grams (robust to typos, OCR artefacts and
inflections: "progressive", "progressé"), both sublinear TF-IDF. A linear model on sparse
n-grams trains in seconds on a CPU, is deterministic, and its probabilities rank the
responses for the annotator.

It also points at the evidence when the rules found none (:meth:`ResponseClassifier.best_sentence`):
each sentence is scored alone, and the one the model finds most typical of the predicted
response is the evidence ("Lésion hépatique en nette augmentation" for a progression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_limits

from curation.models.features import tfidf_union
from curation.settings import ResponseSettings
from curation.usecases.oncology_response import RESPONSES

FloatMatrix = npt.NDArray[np.float64]


def _features(settings: ResponseSettings) -> FeatureUnion:
    return tfidf_union(
        settings.word_ngrams, settings.char_ngrams, settings.min_df, settings.max_features
    )


@dataclass(slots=True)
class ResponseClassifier:
    """Fitted features and model; probabilities come in the order of :data:`RESPONSES`
    (0 for a response training never saw)."""

    features: FeatureUnion
    model: LogisticRegression

    @property
    def labels(self) -> tuple[str, ...]:
        return RESPONSES

    @property
    def learnt(self) -> tuple[str, ...]:
        """The responses seen in training."""
        return tuple(str(c) for c in self.model.classes_)

    @classmethod
    def fit(
        cls, texts: Sequence[str], labels: Sequence[str], settings: ResponseSettings
    ) -> ResponseClassifier:
        """Fit on reports and their response; at least two responses must be present."""
        unknown = sorted(set(labels) - set(RESPONSES))
        if unknown:
            raise ValueError(f"unknown responses {unknown}; expected some of {list(RESPONSES)}")
        if len(set(labels)) < 2:
            raise ValueError(f"training needs two responses or more, got {sorted(set(labels))}")
        features = _features(settings)
        matrix = features.fit_transform(texts)
        model = LogisticRegression(C=settings.C, max_iter=2000, random_state=settings.seed)
        # L-BFGS over a few thousand features gains nothing from BLAS threads, and on a
        # shared CPU they slow it down tenfold (3 s instead of 0.2 s for 150 reports)
        with threadpool_limits(limits=1, user_api="blas"):
            model.fit(matrix, list(labels))
        return cls(features, model)

    def _columns(self, probabilities: FloatMatrix) -> FloatMatrix:
        """The model's columns placed in :data:`RESPONSES` order."""
        out = np.zeros((probabilities.shape[0], len(RESPONSES)), dtype=np.float64)
        for j, label in enumerate(self.learnt):
            out[:, RESPONSES.index(label)] = probabilities[:, j]
        return out

    def predict_proba(self, texts: Sequence[str]) -> FloatMatrix:
        """Probabilities, documents x :data:`RESPONSES`."""
        if not texts:
            return np.zeros((0, len(RESPONSES)), dtype=np.float64)
        matrix = self.features.transform(texts)
        return self._columns(np.asarray(self.model.predict_proba(matrix), dtype=np.float64))

    def best_sentence(self, sentences: Sequence[str], label: str) -> int | None:
        """Index of the sentence the model finds most typical of ``label`` on its own (the
        last one among equals: reports conclude at the end); ``None`` without sentences."""
        if not sentences or label not in RESPONSES:
            return None
        scores = self.predict_proba(sentences)[:, RESPONSES.index(label)]
        best = float(scores.max())
        return max(i for i, s in enumerate(scores) if s >= best - 1e-12)
