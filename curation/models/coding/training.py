"""Training of the CIM-10 coder's classifier, on expert gold or on synthetic gold.

With ``gold`` and ``documents`` set (``params.yaml``, ``train.icd10_coding``), it learns from
adjudicated expert codes; otherwise from the generator's answer key, drawn with its own seed
so that the pipeline's corpus stays held out. Of the synthetic corpus it keeps the documents
that carry codes and the other documents of the use case's types (``crh``,
``lettre_liaison``): the coder never sees other types in the pipeline either.

A share of the documents (``coder.validation_share``, drawn with ``coder.seed``) is held out
to report the classifier's scores (:func:`curation.metrics.coding.coding_metrics`, without the
rules: the matcher takes seconds to build and the benchmark measures the merge); the saved
model is then refit on every document. The same data and settings give the same model and
the same ``model_version``.

The evidence spans of the documents (gold spans labelled with codes, or the answer key's)
also give the coder its term lexicon (:func:`curation.models.coding.lexicon.learn_lexicon`),
saved as ``lexicon.json``; its hash is part of the model version.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.cim10 import normalise
from curation.io import InputError, records_with_texts
from curation.metrics.coding import coding_metrics
from curation.models.coding.classifier import CodeClassifier
from curation.models.coding.coder import Coder
from curation.models.coding.lexicon import learn_lexicon
from curation.models.coding.store import CoderModel, save
from curation.progress import progress_bar
from curation.schema import Record, text_sha256
from curation.settings import CoderSettings, TrainUseCaseSettings
from curation.sources.synthetic.corpus import training_documents
from curation.usecases.base import UseCase


@dataclass(frozen=True, slots=True)
class CodedDocument:
    """A training document, its codes (DP first) and its evidence: ``(span text, code)``."""

    doc_id: str
    text: str
    codes: tuple[str, ...]
    evidence: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class CoderTrainReport:
    """What ``curation train icd10_coding`` did (rendered by the train stage)."""

    model_dir: str
    model_version: str
    documents: int
    codes: int
    dp_codes: int
    lexicon_terms: int
    seconds: float
    data_sha256: str
    validation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def summary(self) -> str:
        """One line for humans."""
        scores = ""
        if self.validation:
            v = self.validation
            scores = (
                f"; held-out {v['documents']} documents: micro F1 {v['micro_f1']}, "
                f"DP accuracy {v['dp_accuracy']}"
            )
        return (
            f"trained {self.model_dir}, version {self.model_version}: {self.documents} "
            f"documents, {self.codes} codes ({self.dp_codes} as DP), {self.lexicon_terms} "
            f"lexicon terms in {self.seconds:.1f} s" + scores
        )


def load_documents(
    use_case: UseCase, settings: TrainUseCaseSettings, *, progress: bool = True
) -> list[CodedDocument]:
    """Documents and their codes to learn from (expert gold when configured)."""
    if settings.gold is not None and settings.documents is not None:
        out = []
        for record, text in records_with_texts(settings.gold, settings.documents):
            codes = tuple(dict.fromkeys(normalise(c) for c in record.labels if c.strip()))
            evidence = tuple(
                (s.text, normalise(s.label)) for s in record.spans if normalise(s.label) in codes
            )
            out.append(CodedDocument(record.doc_id, text, codes, evidence))
        return out
    corpus = settings.synthetic
    generated = training_documents(corpus)
    out = []
    bar = progress_bar(
        generated, total=corpus.n_documents, desc="synthetic corpus", enabled=progress
    )
    for item in bar:
        coded = item.records.get(use_case.id)
        if coded is None and item.document.doc_type not in use_case.doc_types:
            continue
        codes = tuple(coded.labels) if coded is not None else ()
        evidence = tuple((s.text, s.label) for s in coded.spans) if coded is not None else ()
        out.append(CodedDocument(item.document.doc_id, item.document.text, codes, evidence))
    return out


def data_sha256(documents: list[CodedDocument]) -> str:
    """SHA-256 of the training data: each document's id, text hash and codes, in order."""
    digest = hashlib.sha256()
    for doc in documents:
        line = json.dumps([doc.doc_id, text_sha256(doc.text), list(doc.codes)])
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _validate(
    use_case: UseCase, train: list[CodedDocument], held_out: list[CodedDocument], s: CoderSettings
) -> dict[str, Any]:
    """Scores on ``held_out`` of a classifier fit on ``train`` (rules left out)."""
    classifier = CodeClassifier.fit([d.text for d in train], [d.codes for d in train], s)
    coder = Coder(
        use_case, CoderModel(classifier, s, {"model_version": "validation"}), use_rules=False
    )
    predicted = list(coder.predict((d.doc_id, d.text) for d in held_out))
    gold = [Record(d.doc_id, use_case.id, "gold", labels=list(d.codes)) for d in held_out]
    scores = coding_metrics(gold, predicted, use_case, n_resamples=1, seed=s.seed)
    return {
        "documents": len(held_out),
        "micro_f1": scores["micro"]["f1"],
        "micro_precision": scores["micro"]["precision"],
        "micro_recall": scores["micro"]["recall"],
        "dp_accuracy": scores["dp_accuracy"],
        "at_k": scores["at_k"],
    }


def train(
    use_case: UseCase, settings: TrainUseCaseSettings, output_dir: Path, *, progress: bool = True
) -> CoderTrainReport:
    """Train the coder's classifier into ``output_dir``."""
    started = time.perf_counter()
    documents = load_documents(use_case, settings, progress=progress)
    if not any(d.codes for d in documents):
        raise InputError(f"no coded document to train {use_case.id} on: check train.{use_case.id}")
    s = settings.coder
    validation: dict[str, Any] = {}
    n_held = int(len(documents) * s.validation_share)
    if n_held > 0:
        order = list(range(len(documents)))
        random.Random(s.seed).shuffle(order)
        held = set(order[:n_held])
        train_part = [d for i, d in enumerate(documents) if i not in held]
        validation = _validate(use_case, train_part, [documents[i] for i in sorted(held)], s)
    classifier = CodeClassifier.fit([d.text for d in documents], [d.codes for d in documents], s)
    lexicon = learn_lexicon(
        (d.evidence for d in documents),
        min_count=s.lexicon_min_count,
        min_share=s.lexicon_min_share,
    )
    sha = data_sha256(documents)
    settings_json = s.model_dump(mode="json")
    fingerprint = hashlib.sha256(
        json.dumps([sha, settings_json, lexicon.sha256()], sort_keys=True).encode("utf-8")
    ).hexdigest()
    model_version = f"{use_case.id}-tfidf-lr-{fingerprint[:12]}"
    meta = {
        "model_version": model_version,
        "use_case": f"{use_case.id}.{use_case.version}",
        "codes": list(classifier.codes),
        "dp_codes": list(classifier.dp_codes),
        "training_documents": len(documents),
        "coded_documents": sum(1 for d in documents if d.codes),
        "data_sha256": sha,
        "source": "gold" if settings.gold else "synthetic",
        "settings": settings_json,
        "validation": validation,
    }
    save(output_dir, classifier, lexicon, meta)
    return CoderTrainReport(
        model_dir=str(output_dir),
        model_version=model_version,
        documents=len(documents),
        codes=len(classifier.codes),
        dp_codes=len(classifier.dp_codes),
        lexicon_terms=len(lexicon),
        seconds=round(time.perf_counter() - started, 2),
        data_sha256=sha,
        validation=validation,
    )
