"""Training of a span use case's token classifier, on expert gold or on synthetic gold.

With ``gold`` and ``documents`` set (``params.yaml``, ``train.<use_case>``), the model learns
from adjudicated expert annotations; otherwise from the generator's answer key, drawn with
its own seed, template subset and noise so that the pipeline's corpus stays held out.
"""

from __future__ import annotations

from pathlib import Path

from curation.io import InputError, records_with_texts
from curation.models.token_classifier import TrainingExample, TrainReport, train_token_classifier
from curation.settings import TrainUseCaseSettings
from curation.sources.synthetic.corpus import training_documents
from curation.usecases.base import UseCase


def load_examples(use_case: UseCase, settings: TrainUseCaseSettings) -> list[TrainingExample]:
    """Texts and gold spans to learn from (expert gold when configured)."""
    if settings.gold is not None and settings.documents is not None:
        examples = []
        for record, text in records_with_texts(settings.gold, settings.documents):
            for span in record.spans:
                if text[span.start : span.end] != span.text:
                    raise InputError(
                        f"{settings.gold}: doc_id {record.doc_id}, span {span.start}-{span.end}"
                        " does not match the document text; re-export the gold"
                    )
            examples.append(TrainingExample(text, record.spans))
        return examples
    corpus = settings.synthetic
    generated = training_documents(corpus)
    return [
        TrainingExample(item.document.text, item.records[use_case.id].spans)
        for item in generated
        if use_case.id in item.records
    ]


def train(
    use_case: UseCase, settings: TrainUseCaseSettings, output: Path, *, progress: bool = True
) -> TrainReport:
    """Train ``use_case``'s model into ``output``."""
    examples = load_examples(use_case, settings)
    if not examples:
        raise InputError(f"no training example for {use_case.id}: check train.{use_case.id}")
    return train_token_classifier(
        examples, use_case.labels, settings.model, output, name=use_case.id, progress=progress
    )
