"""Training of the response classifier, on expert gold or on synthetic gold.

With ``gold`` and ``documents`` set (``params.yaml``, ``train.oncology_response``), it learns
from adjudicated expert responses; otherwise from the generator's answer key, drawn with its
own seed so that the pipeline's corpus stays held out, keeping the documents that state a
response (the follow-up imaging and consultation reports).

A share of the documents (``response.validation_share``, drawn with ``response.seed``) is
held out to report the scores of the rules alone, the classifier alone and both combined
(:func:`curation.metrics.response.response_metrics`); the saved model is then refit on every
document. The same data and settings give the same model and the same ``model_version``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.io import InputError, records_with_texts
from curation.metrics.response import response_metrics
from curation.models.response.classifier import ResponseClassifier
from curation.models.response.predictor import RULES_VERSION, ResponsePredictor
from curation.models.response.store import ResponseModel, save
from curation.progress import progress_bar
from curation.schema import Record, text_sha256
from curation.settings import ResponseSettings, TrainUseCaseSettings
from curation.sources.synthetic.corpus import training_documents
from curation.usecases.base import UseCase
from curation.usecases.oncology_response import RESPONSES


@dataclass(frozen=True, slots=True)
class LabelledReport:
    """A training report, its response and its gold record (for validation scores)."""

    doc_id: str
    text: str
    label: str
    record: Record


@dataclass(slots=True)
class ResponseTrainReport:
    """What ``curation train oncology_response`` did (rendered by the train stage)."""

    model_dir: str
    model_version: str
    documents: int
    responses: dict[str, int]
    seconds: float
    data_sha256: str
    source: str
    validation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def summary(self) -> str:
        """One line for humans."""
        scores = ""
        if self.validation:
            v = self.validation
            scores = f"; held-out {v['documents']} documents: " + ", ".join(
                f"{name} accuracy {v[name]['accuracy']} macro F1 {v[name]['macro_f1']}"
                for name in ("rules", "classifier", "combined")
            )
        return (
            f"trained {self.model_dir}, version {self.model_version}: {self.documents} "
            f"{self.source} documents in {self.seconds:.1f} s" + scores
        )


def _gold_label(record: Record, path: str) -> str:
    labels = [x for x in record.labels if x.strip()] or [s.label for s in record.spans]
    if not labels or labels[0] not in RESPONSES:
        raise InputError(
            f"{path}: doc_id {record.doc_id} has response {labels[:1] or 'none'}, expected one "
            f"of {list(RESPONSES)}; fix the gold or leave the document out"
        )
    return labels[0]


def load_documents(
    use_case: UseCase, settings: TrainUseCaseSettings, *, progress: bool = True
) -> list[LabelledReport]:
    """Reports and their response to learn from (expert gold when configured)."""
    if settings.gold is not None and settings.documents is not None:
        return [
            LabelledReport(record.doc_id, text, _gold_label(record, settings.gold), record)
            for record, text in records_with_texts(settings.gold, settings.documents)
        ]
    corpus = settings.synthetic
    generated = training_documents(corpus)
    out = []
    bar = progress_bar(
        generated, total=corpus.n_documents, desc="synthetic corpus", enabled=progress
    )
    for item in bar:
        record = item.records.get(use_case.id)
        if record is None or not record.labels:
            continue
        doc = item.document
        out.append(LabelledReport(doc.doc_id, doc.text, record.labels[0], record))
    return out


def data_sha256(documents: list[LabelledReport]) -> str:
    """SHA-256 of the training data: each document's id, text hash and response, in order."""
    digest = hashlib.sha256()
    for doc in documents:
        line = json.dumps([doc.doc_id, text_sha256(doc.text), doc.label])
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _headline(scores: dict[str, Any]) -> dict[str, Any]:
    out = {k: scores[k] for k in ("accuracy", "macro_f1", "kappa")}
    return out | {"evidence_overlap": scores["evidence"]["overlap_rate"]}


def _validate(
    use_case: UseCase,
    train: list[LabelledReport],
    held_out: list[LabelledReport],
    s: ResponseSettings,
) -> dict[str, Any]:
    """Scores on ``held_out`` of the rules, of a classifier fit on ``train``, and of both."""
    classifier = ResponseClassifier.fit([d.text for d in train], [d.label for d in train], s)
    model = ResponseModel(classifier, s, {"model_version": "validation"})
    gold = [d.record for d in held_out]
    docs = [(d.doc_id, d.text) for d in held_out]
    predictors = {
        "rules": ResponsePredictor(use_case, None, s),
        "classifier": ResponsePredictor(use_case, model, use_rules=False),
        "combined": ResponsePredictor(use_case, model),
    }
    out: dict[str, Any] = {"documents": len(held_out)}
    for name, predictor in predictors.items():
        predicted = list(predictor.predict(docs))
        scores = response_metrics(gold, predicted, use_case, n_resamples=1, seed=s.seed)
        out[name] = _headline(scores)
    return out


def train(
    use_case: UseCase, settings: TrainUseCaseSettings, output_dir: Path, *, progress: bool = True
) -> ResponseTrainReport:
    """Train the response classifier into ``output_dir``."""
    started = time.perf_counter()
    documents = load_documents(use_case, settings, progress=progress)
    counts = Counter(d.label for d in documents)
    if len(counts) < 2:
        raise InputError(
            f"{len(documents)} documents with {len(counts)} response(s) to train {use_case.id} "
            f"on: it needs two responses or more; check train.{use_case.id} (n_documents, "
            "doc_types, gold)"
        )
    s = settings.response
    validation: dict[str, Any] = {}
    n_held = int(len(documents) * s.validation_share)
    if n_held > 0:
        order = list(range(len(documents)))
        random.Random(s.seed).shuffle(order)
        held = set(order[:n_held])
        train_part = [d for i, d in enumerate(documents) if i not in held]
        if len({d.label for d in train_part}) >= 2:
            held_out = [documents[i] for i in sorted(held)]
            validation = _validate(use_case, train_part, held_out, s)
    classifier = ResponseClassifier.fit(
        [d.text for d in documents], [d.label for d in documents], s
    )
    sha = data_sha256(documents)
    settings_json = s.model_dump(mode="json")
    fingerprint = hashlib.sha256(
        json.dumps([sha, settings_json, RULES_VERSION], sort_keys=True).encode("utf-8")
    ).hexdigest()
    model_version = f"{use_case.id}-tfidf-lr-{fingerprint[:12]}"
    source = "gold" if settings.gold else "synthetic"
    responses = {r: counts[r] for r in RESPONSES}
    meta = {
        "model_version": model_version,
        "use_case": f"{use_case.id}.{use_case.version}",
        "responses": list(classifier.learnt),
        "rules_version": RULES_VERSION,
        "training_documents": len(documents),
        "documents_per_response": responses,
        "data_sha256": sha,
        "source": source,
        "settings": settings_json,
        "validation": validation,
    }
    save(output_dir, classifier, meta)
    return ResponseTrainReport(
        model_dir=str(output_dir),
        model_version=model_version,
        documents=len(documents),
        responses=responses,
        seconds=round(time.perf_counter() - started, 2),
        data_sha256=sha,
        source=source,
        validation=validation,
    )
