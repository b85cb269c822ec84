"""The treatment response predictor of the ``oncology_response`` use case: RECIST rules with
negation and precedence, a TF-IDF + logistic regression classifier, and one policy that
combines them (:mod:`curation.models.response.predictor`).

Modules: :mod:`~curation.models.response.rules` (French RECIST wording and evidence),
:mod:`~curation.models.response.classifier` (the five responses),
:mod:`~curation.models.response.predictor` (the pre-annotator),
:mod:`~curation.models.response.store` (the model folder) and
:mod:`~curation.models.response.training` (the trainer).
"""

from curation.models.response.predictor import ResponsePredictor, build_classifier
from curation.models.response.training import ResponseTrainReport, train

__all__ = ["ResponsePredictor", "ResponseTrainReport", "build_classifier", "train"]
