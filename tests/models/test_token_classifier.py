"""Training data encoding (BIO over sub-tokens), training output and model versioning."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TINY, synthetic_examples
from transformers import AutoTokenizer

from curation.models.token_classifier import (
    IGNORE,
    META_FILE,
    TrainingExample,
    _encode_windows,
    bio_labels,
    train_token_classifier,
    train_tokenizer,
)
from curation.schema import Span
from curation.settings import TokenClassifierSettings

TEXT = "Vu ce jour Mme Jeanne BOULANGER-PETIT pour suivi de sa maladie de Crohn."


def test_bio_labels() -> None:
    assert bio_labels(["NOM", "PRENOM"]) == ["O", "B-NOM", "I-NOM", "B-PRENOM", "I-PRENOM"]


def test_every_sub_token_of_a_span_is_labelled_b_then_i() -> None:
    tokenizer = train_tokenizer([TEXT] * 3, vocab_size=120, max_length=64)
    tags = bio_labels(["NOM", "PRENOM"])
    ids = {tag: i for i, tag in enumerate(tags)}
    example = TrainingExample(
        TEXT, [Span(15, 21, "PRENOM", "Jeanne"), Span(22, 37, "NOM", "BOULANGER-PETIT")]
    )
    [(input_ids, labels)] = _encode_windows(tokenizer, example, ids, TINY)
    enc = tokenizer(TEXT, return_offsets_mapping=True)
    assert enc["input_ids"] == input_ids
    named = [
        (TEXT[s:e], tags[label] if label != IGNORE else None)
        for (s, e), label in zip(enc["offset_mapping"], labels, strict=True)
    ]
    assert named[0] == ("", None) and named[-1] == ("", None)  # [CLS] and [SEP]
    in_name = [tag for piece, tag in named if tag and tag[2:] == "NOM" and piece]
    assert in_name[0] == "B-NOM" and set(in_name[1:]) == {"I-NOM"} and len(in_name) > 1
    assert ("Crohn", "O") in named  # an eponym is not a name


def test_long_documents_are_cut_into_overlapping_windows() -> None:
    text = " ".join([TEXT] * 20)
    tokenizer = train_tokenizer([text], vocab_size=120, max_length=32)
    ids = {tag: i for i, tag in enumerate(bio_labels(["NOM"]))}
    settings = TINY.model_copy(update={"max_length": 32, "stride": 8})
    windows = _encode_windows(tokenizer, TrainingExample(text, []), ids, settings)
    assert len(windows) > 10
    assert all(len(input_ids) <= 32 for input_ids, _ in windows)


def test_training_writes_a_versioned_model(tiny_model: Path) -> None:
    meta = json.loads((tiny_model / META_FILE).read_text())
    assert meta["name"] == "pseudonymisation" and len(meta["version"]) == 12
    assert meta["training"]["from_scratch"] is True
    assert (tiny_model / "config.json").exists()
    assert AutoTokenizer.from_pretrained(tiny_model)("Dr Martin")["input_ids"]


def test_same_data_same_version_other_data_other_version(tmp_path: Path) -> None:
    small = TINY.model_copy(update={"epochs": 1})
    examples = synthetic_examples(8)
    a = train_token_classifier(examples, ["NOM"], small, tmp_path / "a", name="x", progress=False)
    b = train_token_classifier(examples, ["NOM"], small, tmp_path / "b", name="x", progress=False)
    c = train_token_classifier(
        examples[:4], ["NOM"], small, tmp_path / "c", name="x", progress=False
    )
    assert a.model_version == b.model_version != c.model_version


def test_fine_tunes_from_a_local_checkpoint(tiny_model: Path, tmp_path: Path) -> None:
    settings = TINY.model_copy(update={"base_model": str(tiny_model), "epochs": 1})
    report = train_token_classifier(
        synthetic_examples(6), ["NOM", "PRENOM"], settings, tmp_path, name="x", progress=False
    )
    assert report.from_scratch is False
    config = json.loads((tmp_path / "config.json").read_text())
    assert set(config["label2id"]) == {"O", "B-NOM", "I-NOM", "B-PRENOM", "I-PRENOM"}


def test_a_small_model_learns_names(tmp_path: Path) -> None:
    """Enough capacity and steps to fit a simple pattern: the loop really trains."""
    names = ["Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent"]
    examples = []
    for i, name in enumerate(names * 4):
        text = f"Patient {i} : M. {name} vu en consultation."
        start = text.index(name)
        examples.append(TrainingExample(text, [Span(start, start + len(name), "NOM", name)]))
    settings = TINY.model_copy(update={"epochs": 30, "hidden_size": 64, "batch_size": 8})
    report = train_token_classifier(examples, ["NOM"], settings, tmp_path, name="x", progress=False)
    assert report.final_loss < 0.05


def test_settings_refuse_a_stride_as_large_as_the_window() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="stride"):
        TokenClassifierSettings(max_length=32, stride=40)
