"""Training of the oncology token classifier: what the rules miss (a wording the terms do not
list, a site written another way), learnt from expert gold or the synthetic answer key.

The trainer is the generic span trainer (:mod:`curation.models.span_trainer`) over the seven
oncology labels; its settings are ``train.oncology_extraction`` in ``params.yaml``. Relations,
statuses and flags are not learnt: the extractor links and qualifies model spans with the same
rules as its own (``eds.negation``, ``eds.hypothesis``, ``eds.family``, ``link_results``).

Examples
--------
``curation train oncology_extraction`` writes ``models/oncology_extraction/``; the
pre-annotator then reads "Adénocarcinome lieberkühnien du côlon sigmoïde" with rules and model.
"""

from __future__ import annotations

from pathlib import Path

from curation.models import span_trainer
from curation.models.token_classifier import TrainReport
from curation.settings import TrainUseCaseSettings
from curation.usecases.base import UseCase


def train(
    use_case: UseCase, settings: TrainUseCaseSettings, output: Path, *, progress: bool = True
) -> TrainReport:
    """Train the oncology token classifier into ``output`` (a folder ``InferenceEngine`` reads)."""
    return span_trainer.train(use_case, settings, output, progress=progress)
