"""The CIM-10 coder of the ``icd10_coding`` use case: ``eds.cim10`` rules with qualifiers, a
TF-IDF + linear classifier, and one merge policy (:mod:`curation.models.coding.merge`).

Modules: :mod:`~curation.models.coding.rules` (affirmed matcher mentions),
:mod:`~curation.models.coding.classifier` (codes and principal diagnosis),
:mod:`~curation.models.coding.merge` (suggestions), :mod:`~curation.models.coding.coder`
(the pre-annotator), :mod:`~curation.models.coding.store` (the model folder) and
:mod:`~curation.models.coding.training` (the trainer).
"""

from curation.models.coding.coder import Coder, build_coder
from curation.models.coding.training import CoderTrainReport, train

__all__ = ["Coder", "CoderTrainReport", "build_coder", "train"]
