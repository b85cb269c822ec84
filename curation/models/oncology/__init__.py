"""Oncology extraction (``oncology_extraction``): the pre-annotator and its trainer.

Entry points are thin on purpose: importing this package loads neither edsnlp nor torch, so
that ``curation train`` and the biomarker module stay quick to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from curation.settings import PreannotateSettings, TrainUseCaseSettings
from curation.usecases.base import UseCase

if TYPE_CHECKING:
    from curation.models.oncology.extractor import OncologyExtractor
    from curation.models.token_classifier import TrainReport


def build_extractor(
    use_case: UseCase, settings: PreannotateSettings, model_dir: Path | None
) -> OncologyExtractor:
    """See :func:`curation.models.oncology.extractor.build_extractor`."""
    from curation.models.oncology.extractor import build_extractor as build

    return build(use_case, settings, model_dir)


def train(
    use_case: UseCase, settings: TrainUseCaseSettings, output: Path, *, progress: bool = True
) -> TrainReport:
    """See :func:`curation.models.oncology.training.train`."""
    from curation.models.oncology.training import train as train_model

    return train_model(use_case, settings, output, progress=progress)


__all__ = ["build_extractor", "train"]
