"""A tiny token classifier trained once per test session (seconds on a CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.models.token_classifier import TrainingExample, train_token_classifier
from curation.settings import GenerateSettings, TokenClassifierSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases.pseudonymisation import LABELS

TINY = TokenClassifierSettings(
    vocab_size=600,
    hidden_size=32,
    num_layers=1,
    num_heads=2,
    intermediate_size=64,
    max_length=64,
    stride=16,
    epochs=10,
    batch_size=16,
    learning_rate=5e-3,
)


def synthetic_examples(n: int, seed: int = 3) -> list[TrainingExample]:
    items = generate_documents(GenerateSettings(seed=seed, n_documents=n))
    return [TrainingExample(i.document.text, i.records["pseudonymisation"].spans) for i in items]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_model")
    train_token_classifier(
        synthetic_examples(40), LABELS, TINY, folder, name="pseudonymisation", progress=False
    )
    return folder
