"""The coder's model folder: ``classifier.joblib``, ``lexicon.json`` and ``meta.json``.

``meta.json`` says what the folder holds without unpickling anything: the model version,
the codes it learnt, the training size, the settings (the merge settings used at prediction
time among them, so that pre-annotation needs only the folder), the SHA-256 of the training
data, and the lexicon's file, term count and hash (``lexicon.json``: the terms learnt from
evidence spans, :mod:`curation.models.coding.lexicon`). joblib is scikit-learn's own
persistence; a folder is only ever loaded from the project's own DVC-tracked ``models/``
(never from an untrusted source: unpickling runs code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from curation.models.coding.classifier import CodeClassifier
from curation.models.coding.lexicon import Lexicon
from curation.settings import CoderSettings

CLASSIFIER_FILE = "classifier.joblib"
LEXICON_FILE = "lexicon.json"
META_FILE = "meta.json"
#: Format of the folder; a change of what is saved is a new format (v2: the lexicon).
FORMAT = "icd10-coder.v2"


@dataclass(frozen=True, slots=True)
class CoderModel:
    """A loaded model folder (an empty lexicon: the ``eds.cim10`` matcher alone)."""

    classifier: CodeClassifier
    settings: CoderSettings
    meta: dict[str, Any]
    lexicon: Lexicon = field(default_factory=Lexicon)

    @property
    def version(self) -> str:
        return str(self.meta["model_version"])


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def save(folder: Path, classifier: CodeClassifier, lexicon: Lexicon, meta: dict[str, Any]) -> None:
    """Write the classifier, the lexicon and ``meta.json`` into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(classifier, folder / CLASSIFIER_FILE)
    _write_json(folder / LEXICON_FILE, lexicon.to_json())
    described = {"file": LEXICON_FILE, "terms": len(lexicon), "sha256": lexicon.sha256()}
    _write_json(
        folder / META_FILE,
        {"format": FORMAT, "files": [CLASSIFIER_FILE, LEXICON_FILE], **meta, "lexicon": described},
    )


def is_trained(folder: Path | None) -> bool:
    return folder is not None and (folder / CLASSIFIER_FILE).exists()


def load(folder: Path) -> CoderModel:
    """The model of ``folder``; a clear error when it is not trained or of another format."""
    if not is_trained(folder):
        raise FileNotFoundError(
            f"{folder}: the icd10_coding classifier is not trained (no {CLASSIFIER_FILE}); "
            "run `curation train icd10_coding` (or `dvc repro`), or set "
            "preannotate.use_model: false for the eds.cim10 rules only"
        )
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{folder / META_FILE}: format {meta.get('format')!r}, expected {FORMAT!r}; "
            "retrain with `curation train icd10_coding`"
        )
    classifier = joblib.load(folder / CLASSIFIER_FILE)
    if not isinstance(classifier, CodeClassifier):
        raise ValueError(f"{folder / CLASSIFIER_FILE}: not a CIM-10 code classifier")
    settings = CoderSettings.model_validate(meta["settings"])
    path = folder / LEXICON_FILE
    try:
        lexicon = Lexicon.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: unreadable lexicon ({error}); retrain with `curation train icd10_coding`"
        ) from error
    if lexicon.sha256() != meta.get("lexicon", {}).get("sha256"):
        raise ValueError(
            f"{path}: does not match the hash in {META_FILE}; retrain with `curation train "
            "icd10_coding`"
        )
    return CoderModel(classifier, settings, meta, lexicon)
