"""A transformers token classifier (BIO over sub-tokens) trained on span gold.

Two ways to start:

- from a local checkpoint (``base_model``: a path, e.g. a French clinical BERT from the
  hospital's own mirror): its tokenizer and encoder are reused, the classification head is new;
- from scratch (the offline default): a WordPiece tokenizer is trained on the training texts
  and a small BERT-style encoder is initialised from a config, so everything works with no
  hub access at all.

Every sub-token of a span is labelled (``B-`` on the first, ``I-`` after), as advised for
aggregation by first sub-token. Long documents are cut into windows of ``max_length`` tokens
that overlap by ``stride`` tokens; labels are computed per window from character offsets.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    BertConfig,
    BertForTokenClassification,
    PreTrainedTokenizerFast,
    get_linear_schedule_with_warmup,
)

from curation.progress import progress_bar
from curation.schema import Span
from curation.settings import TokenClassifierSettings

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: Metadata file written beside the weights: labels, version, training figures.
META_FILE = "curation_model.json"
IGNORE = -100


def bio_labels(labels: Sequence[str]) -> list[str]:
    """``["O", "B-ADRESSE", "I-ADRESSE", ...]`` for a span label set."""
    return ["O"] + [f"{prefix}-{label}" for label in labels for prefix in ("B", "I")]


@dataclass(slots=True)
class TrainingExample:
    """A document's text and its gold spans."""

    text: str
    spans: list[Span]


@dataclass(slots=True)
class TrainReport:
    model_dir: str
    model_version: str
    documents: int
    windows: int
    steps: int
    seconds: float
    final_loss: float
    from_scratch: bool

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def train_tokenizer(
    texts: Sequence[str], vocab_size: int, max_length: int
) -> PreTrainedTokenizerFast:
    """A cased WordPiece tokenizer trained on ``texts`` (French accents and case are kept:
    ``DUPONT`` and ``Dupont`` both matter for names)."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    tokenizer.train_from_iterator(texts, trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


def tokenize_windows(tokenizer: Any, texts: str | list[str], max_length: int, stride: int) -> Any:
    """Overlapping windows of ``max_length`` tokens (``stride`` shared) with char offsets:
    the same cut for training and inference."""
    return tokenizer(
        texts,
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )


def _encode_windows(
    tokenizer: Any, example: TrainingExample, label_ids: dict[str, int], s: TokenClassifierSettings
) -> list[tuple[list[int], list[int]]]:
    """(input ids, BIO label ids) of every window of one document."""
    text = example.text
    owner = np.full(len(text) + 1, -1, dtype=np.int32)  # span index owning each character
    for i, span in enumerate(example.spans):
        if f"B-{span.label}" in label_ids:  # labels outside the model's set are left as O
            owner[span.start : span.end] = i
    enc = tokenize_windows(tokenizer, text, s.max_length, s.stride)
    windows = []
    for ids, offsets in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
        labels: list[int] = []
        previous = -1
        for start, end in offsets:
            if start == end:  # special token
                labels.append(IGNORE)
                previous = -1
                continue
            index = int(owner[start])
            if index < 0:
                labels.append(label_ids["O"])
            else:
                prefix = "I" if index == previous else "B"
                labels.append(label_ids[f"{prefix}-{example.spans[index].label}"])
            previous = index
        windows.append((list(ids), labels))
    return windows


def _batches(
    windows: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int, rng: random.Random
) -> list[dict[str, torch.Tensor]]:
    """Shuffled batches, grouped by similar length so that padding stays small."""
    order = list(range(len(windows)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for k in range(0, len(order), pool):
        chunk = sorted(order[k : k + pool], key=lambda i: len(windows[i][0]))
        for j in range(0, len(chunk), batch_size):
            picked = [windows[i] for i in chunk[j : j + batch_size]]
            width = max(len(ids) for ids, _ in picked)
            ids = torch.full((len(picked), width), pad_id, dtype=torch.long)
            labels = torch.full((len(picked), width), IGNORE, dtype=torch.long)
            mask = torch.zeros((len(picked), width), dtype=torch.long)
            for row, (tok, lab) in enumerate(picked):
                ids[row, : len(tok)] = torch.tensor(tok)
                labels[row, : len(lab)] = torch.tensor(lab)
                mask[row, : len(tok)] = 1
            batches.append({"input_ids": ids, "attention_mask": mask, "labels": labels})
    rng.shuffle(batches)
    return batches


def _fingerprint(examples: Sequence[TrainingExample], settings: TokenClassifierSettings) -> str:
    digest = hashlib.sha256(settings.model_dump_json().encode())
    for example in examples:
        digest.update(hashlib.sha256(example.text.encode()).digest())
        for span in example.spans:
            digest.update(f"{span.start}:{span.end}:{span.label};".encode())
    return digest.hexdigest()[:12]


def train_token_classifier(
    examples: Sequence[TrainingExample],
    labels: Sequence[str],
    settings: TokenClassifierSettings,
    output_dir: str | Path,
    *,
    name: str,
    progress: bool = True,
) -> TrainReport:
    """Train on ``examples`` and save model, tokenizer and metadata in ``output_dir``.

    Deterministic for ``settings.seed`` on CPU. The model version is a fingerprint of the
    settings and of the training data, so a retrain on the same data gives the same version.
    """
    started = time.perf_counter()
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    tags = bio_labels(labels)
    label_ids = {tag: i for i, tag in enumerate(tags)}
    id2label = dict(enumerate(tags))
    from_scratch = settings.base_model is None
    if settings.base_model is None:
        tokenizer: Any = train_tokenizer(
            [e.text for e in examples], settings.vocab_size, settings.max_length
        )
        config = BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=settings.hidden_size,
            num_hidden_layers=settings.num_layers,
            num_attention_heads=settings.num_heads,
            intermediate_size=settings.intermediate_size,
            max_position_embeddings=max(512, settings.max_length),
            id2label=id2label,
            label2id=label_ids,
            pad_token_id=tokenizer.pad_token_id,
        )
        model: Any = BertForTokenClassification(config)
    else:
        tokenizer = AutoTokenizer.from_pretrained(settings.base_model)
        model = AutoModelForTokenClassification.from_pretrained(
            settings.base_model,
            num_labels=len(tags),
            id2label=id2label,
            label2id=label_ids,
            ignore_mismatched_sizes=True,
        )
    windows = [w for e in examples for w in _encode_windows(tokenizer, e, label_ids, settings)]
    rng = random.Random(settings.seed)
    steps_per_epoch = math.ceil(len(windows) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(total * settings.warmup_ratio), max(total, 1)
    )
    model.train()
    loss_value = float("nan")
    step_iter = (
        batch
        for _ in range(settings.epochs)
        for batch in _batches(windows, settings.batch_size, tokenizer.pad_token_id, rng)
    )
    for batch in progress_bar(step_iter, total=total, desc=f"train {name}", enabled=progress):
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        loss_value = float(loss.detach())
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    version = _fingerprint(examples, settings)
    report = TrainReport(
        model_dir=str(output),
        model_version=version,
        documents=len(examples),
        windows=len(windows),
        steps=total,
        seconds=round(time.perf_counter() - started, 1),
        final_loss=round(loss_value, 4),
        from_scratch=from_scratch,
    )
    meta = {
        "name": name,
        "version": version,
        "labels": list(labels),
        "max_length": settings.max_length,
        "stride": settings.stride,
        "settings": settings.model_dump(),
        "training": report.to_dict(),
    }
    (output / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return report
