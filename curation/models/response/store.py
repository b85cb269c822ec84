"""The response model's folder: ``classifier.joblib`` and ``meta.json``.

``meta.json`` says what the folder holds without unpickling anything: the model version
(a hash of the training data and settings), the responses learnt, the training size, the
settings (``rule_score`` among them, so that pre-annotation needs only the folder) and the
SHA-256 of the training data. joblib is scikit-learn's own persistence, as for the CIM-10
coder; a folder is only ever loaded from the project's own DVC-tracked ``models/`` (never
from an untrusted source: unpickling runs code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from curation.models.response.classifier import ResponseClassifier
from curation.settings import ResponseSettings

CLASSIFIER_FILE = "classifier.joblib"
META_FILE = "meta.json"
#: Format of the folder; a change of what is saved is a new format.
FORMAT = "oncology-response.v1"


@dataclass(frozen=True, slots=True)
class ResponseModel:
    """A loaded model folder."""

    classifier: ResponseClassifier
    settings: ResponseSettings
    meta: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.meta["model_version"])


def save(folder: Path, classifier: ResponseClassifier, meta: dict[str, Any]) -> None:
    """Write the classifier and ``meta.json`` into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(classifier, folder / CLASSIFIER_FILE)
    described = {"format": FORMAT, "files": [CLASSIFIER_FILE], **meta}
    text = json.dumps(described, ensure_ascii=False, indent=2) + "\n"
    (folder / META_FILE).write_text(text, encoding="utf-8")


def is_trained(folder: Path | None) -> bool:
    return folder is not None and (folder / CLASSIFIER_FILE).exists()


def load(folder: Path) -> ResponseModel:
    """The model of ``folder``; a clear error when it is not trained or of another format."""
    if not is_trained(folder):
        raise FileNotFoundError(
            f"{folder}: the oncology_response classifier is not trained (no {CLASSIFIER_FILE}); "
            "run `curation train oncology_response` (or `dvc repro`), or set "
            "preannotate.use_model: false for the RECIST rules only"
        )
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{folder / META_FILE}: format {meta.get('format')!r}, expected {FORMAT!r}; "
            "retrain with `curation train oncology_response`"
        )
    classifier = joblib.load(folder / CLASSIFIER_FILE)
    if not isinstance(classifier, ResponseClassifier):
        raise ValueError(f"{folder / CLASSIFIER_FILE}: not a treatment response classifier")
    settings = ResponseSettings.model_validate(meta["settings"])
    return ResponseModel(classifier, settings, meta)
