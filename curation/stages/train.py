"""Stage ``train``: fit a use case's model (``models/<use_case>/``, a DVC-tracked output).

Trainers differ by use case (a token classifier for pseudonymisation, TF-IDF + linear models
for CIM-10 coding) and so do their reports; every report has ``to_dict()``, and one with a
``summary()`` line renders it, so this stage never tests which use case it trains.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from curation import paths
from curation.models.token_classifier import TrainReport
from curation.settings import Params, TrainUseCaseSettings
from curation.usecases import get
from curation.usecases.base import resolve


@runtime_checkable
class AnyTrainReport(Protocol):
    """What every trainer returns: a JSON-ready report."""

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class SummarisedReport(AnyTrainReport, Protocol):
    """A report that says what it did in one line."""

    def summary(self) -> str: ...


def run(
    use_case_id: str, params: Params, *, output: Path | None = None, progress: bool = True
) -> AnyTrainReport:
    """Train the model of ``use_case_id`` with ``params.train[use_case_id]``."""
    use_case = get(use_case_id)
    if use_case.trainer is None:
        raise ValueError(f"use case {use_case_id} has no trainable model")
    settings = params.train.get(use_case_id, TrainUseCaseSettings())
    target = output or paths.model_dir(use_case_id)
    report: AnyTrainReport = resolve(use_case.trainer)(
        use_case, settings, target, progress=progress
    )
    return report


def render(report: AnyTrainReport) -> str:
    """A line for humans, then the report as JSON."""
    if isinstance(report, TrainReport):
        origin = "from scratch" if report.from_scratch else "fine-tuned from a local checkpoint"
        line = (
            f"trained {report.model_dir} ({origin}), version {report.model_version}: "
            f"{report.documents} documents, {report.windows} windows, {report.steps} steps "
            f"in {report.seconds:.0f} s, final loss {report.final_loss}"
        )
    elif isinstance(report, SummarisedReport):
        line = report.summary()
    else:
        line = f"trained ({type(report).__name__})"
    return line + "\n" + json.dumps(report.to_dict())
