"""The trainable part of the coder: TF-IDF features and two linear models.

- **Codes** (multi-label): one logistic regression per code seen in at least
  ``min_code_count`` training documents (scikit-learn's one-vs-rest), giving each code a
  calibrated-enough probability that ranks codes within a document and across documents.
- **Principal diagnosis** (multiclass): a multinomial logistic regression over the DP codes
  of training. Being principal is a property of the stay ("hospitalisé pour ...", the
  "Diagnostic retenu" section), not of the code: a diabetes is a DAS in most stays and the
  DP of a few. A model trained on DP alone learns those contexts; the merge
  (:mod:`curation.models.coding.merge`) uses it to pick the DP among the suggested codes.

Features: word 1-2 grams (so "pas de diabète" and "diabète de type 2" are different
features) and ``char_wb`` 3-5 grams (robust to typos, OCR artefacts and inflections),
both sublinear TF-IDF. Linear models on sparse n-grams are the usual strong baseline for
automatic ICD coding of clinical text, train in seconds on a CPU and are deterministic.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import MultiLabelBinarizer

from curation.models.features import tfidf_union
from curation.settings import CoderSettings

FloatMatrix = npt.NDArray[np.float64]


def _features(settings: CoderSettings) -> FeatureUnion:
    return tfidf_union(
        settings.word_ngrams, settings.char_ngrams, settings.min_df, settings.max_features
    )


@dataclass(slots=True)
class CodeClassifier:
    """Fitted features, code model and DP model; ``codes`` and ``dp_codes`` name their columns."""

    features: FeatureUnion
    binarizer: MultiLabelBinarizer
    code_model: OneVsRestClassifier
    dp_model: LogisticRegression | None
    dp_codes: tuple[str, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.binarizer.classes_)

    @classmethod
    def fit(
        cls, texts: Sequence[str], labels: Sequence[Sequence[str]], settings: CoderSettings
    ) -> CodeClassifier:
        """Fit on documents and their codes (DP first); codes too rare to learn are left out."""
        counts = Counter(code for codes in labels for code in set(codes))
        kept = sorted(c for c, n in counts.items() if n >= settings.min_code_count)
        if not kept:
            raise ValueError(
                f"no code appears in {settings.min_code_count} training documents or more"
            )
        features = _features(settings)
        matrix = features.fit_transform(texts)
        binarizer = MultiLabelBinarizer(classes=kept)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # codes outside ``kept`` are dropped
            targets = binarizer.fit_transform(labels)
        linear = LogisticRegression(C=settings.C, solver="liblinear", random_state=settings.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a code present in every document
            code_model = OneVsRestClassifier(linear).fit(matrix, targets)
        principal = [codes[0] if codes else "" for codes in labels]
        rows = [i for i, dp in enumerate(principal) if dp in set(kept)]
        dp_classes = sorted({principal[i] for i in rows})
        dp_model = None
        if len(dp_classes) >= 2:
            dp_model = LogisticRegression(C=settings.C, max_iter=1000, random_state=settings.seed)
            dp_model.fit(matrix[rows], [principal[i] for i in rows])
        return cls(features, binarizer, code_model, dp_model, tuple(dp_classes))

    def predict(self, texts: Sequence[str]) -> tuple[FloatMatrix, FloatMatrix]:
        """Code probabilities (documents x :attr:`codes`) and DP probabilities (documents x
        :attr:`dp_codes`; a single DP code seen in training gets probability 1)."""
        matrix = self.features.transform(texts)
        scores = np.asarray(self.code_model.predict_proba(matrix), dtype=np.float64)
        dp: FloatMatrix
        if self.dp_model is None:
            dp = np.ones((len(texts), len(self.dp_codes)), dtype=np.float64)
        else:
            dp = np.asarray(self.dp_model.predict_proba(matrix), dtype=np.float64)
        return scores, dp
