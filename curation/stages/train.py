"""Stage ``train``: fit a use case's model (``models/<use_case>/``, a DVC-tracked output)."""

from __future__ import annotations

import json
from pathlib import Path

from curation import paths
from curation.models.token_classifier import TrainReport
from curation.settings import Params, TrainUseCaseSettings
from curation.usecases import get
from curation.usecases.base import resolve


def run(
    use_case_id: str, params: Params, *, output: Path | None = None, progress: bool = True
) -> TrainReport:
    """Train the model of ``use_case_id`` with ``params.train[use_case_id]``."""
    use_case = get(use_case_id)
    if use_case.trainer is None:
        raise ValueError(f"use case {use_case_id} has no trainable model")
    settings = params.train.get(use_case_id, TrainUseCaseSettings())
    target = output or paths.model_dir(use_case_id)
    report: TrainReport = resolve(use_case.trainer)(use_case, settings, target, progress=progress)
    return report


def render(report: TrainReport) -> str:
    origin = "from scratch" if report.from_scratch else "fine-tuned from a local checkpoint"
    return (
        f"trained {report.model_dir} ({origin}), version {report.model_version}: "
        f"{report.documents} documents, {report.windows} windows, {report.steps} steps "
        f"in {report.seconds:.0f} s, final loss {report.final_loss}\n"
        + json.dumps(report.to_dict())
    )
