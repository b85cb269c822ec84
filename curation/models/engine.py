"""Batched inference engine shared by every transformer pre-annotator.

What it does that calling a ``transformers`` pipeline document by document does not:

- documents are tokenised a chunk at a time, long ones cut into overlapping windows
  (``max_length``/``stride`` of the model's training), and the windows of the whole chunk are
  **sorted by length** and batched with **dynamic padding** (a batch is padded to its own
  longest window, not to ``max_length``);
- forward passes run under ``torch.inference_mode`` on the chosen device: ``device: auto``
  takes CUDA when present, in bfloat16 (float16 where bf16 is unsupported), else the CPU with
  the configured number of threads;
- documents stream through: memory is bounded by ``docs_per_chunk``, whatever the corpus size.

Predictions of a token seen by two windows are averaged; labels are decided per word by its
first sub-token (a word is a run of alphanumeric sub-tokens with no gap between them), and
spans are re-aligned to exact character offsets of the input text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from curation.models.token_classifier import META_FILE, tokenize_windows
from curation.schema import Span
from curation.settings import EngineSettings


@dataclass(slots=True)
class EngineStats:
    documents: int = 0
    tokens: int = 0
    windows: int = 0
    seconds: float = 0.0

    def rates(self) -> dict[str, float]:
        s = self.seconds or float("nan")
        return {"docs_per_s": self.documents / s, "tokens_per_s": self.tokens / s}


def pick_device(settings: EngineSettings) -> tuple[torch.device, torch.dtype]:
    """The device and dtype ``settings`` ask for (``auto``: CUDA with bf16/fp16, else CPU)."""
    if settings.device == "cuda" or (settings.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("preannotate.engine.device is cuda but no CUDA device is visible")
        device = torch.device("cuda")
        if settings.dtype == "auto":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = getattr(torch, settings.dtype)
        return device, dtype
    dtype = torch.float32 if settings.dtype == "auto" else getattr(torch, settings.dtype)
    return torch.device("cpu"), dtype


class InferenceEngine:
    """Token classification over streams of ``(doc_id, text)``.

    Parameters
    ----------
    model_dir
        A folder written by :func:`curation.models.token_classifier.train_token_classifier`
        (or any local token-classification checkpoint with ``B-``/``I-`` labels).
    settings
        Device, dtype, batch size, chunk size, CPU threads.
    """

    def __init__(self, model_dir: str | Path, settings: EngineSettings) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise FileNotFoundError(
                f"{model_dir}: no model there; train it first (curation train <use_case>) "
                "or point params.yaml at a local checkpoint"
            )
        meta_path = model_dir / META_FILE
        meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        self.settings = settings
        self.name = str(meta.get("name", model_dir.name))
        self.version = str(meta.get("version", "unversioned"))
        self.origin = f"model:{self.name}@{self.version}"
        self.device, self.dtype = pick_device(settings)
        if self.device.type == "cpu" and settings.threads:
            torch.set_num_threads(settings.threads)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(model_dir)
        model: Any = AutoModelForTokenClassification.from_pretrained(model_dir)
        self.model = model.to(self.device, dtype=self.dtype).eval()
        self.id2label: dict[int, str] = {int(k): v for k, v in model.config.id2label.items()}
        self.max_length = int(meta.get("max_length", min(self.tokenizer.model_max_length, 512)))
        self.stride = int(meta.get("stride", self.max_length // 4))
        self.stats = EngineStats()

    # -- public API ---------------------------------------------------------------------
    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, list[Span]]]:
        """Spans of every document, in input order, streamed chunk by chunk."""
        iterator = iter(docs)
        while chunk := list(islice(iterator, self.settings.docs_per_chunk)):
            started = time.perf_counter()
            results = self._predict_chunk([text for _, text in chunk])
            self.stats.seconds += time.perf_counter() - started
            self.stats.documents += len(chunk)
            for (doc_id, _), spans in zip(chunk, results, strict=True):
                yield doc_id, spans

    # -- internals --------------------------------------------------------------------------
    def _predict_chunk(self, texts: list[str]) -> list[list[Span]]:
        enc = tokenize_windows(self.tokenizer, texts, self.max_length, self.stride)
        ids: list[list[int]] = enc["input_ids"]
        owners: list[int] = enc["overflow_to_sample_mapping"]
        offsets: list[list[tuple[int, int]]] = enc["offset_mapping"]
        self.stats.windows += len(ids)
        probs = self._forward(ids)
        # per document: every window's tokens, then one row per token (a token seen by two
        # windows has the mean of its two predictions)
        parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in texts]
        for w, (doc, window_offsets) in enumerate(zip(owners, offsets, strict=True)):
            spans = np.asarray(window_offsets, dtype=np.int64).reshape(-1, 2)
            real = spans[:, 0] < spans[:, 1]  # special tokens have empty offsets
            parts[doc].append((spans[real], probs[w][real]))
        out: list[list[Span]] = []
        for text, pieces in zip(texts, parts, strict=True):
            if not pieces or not sum(len(sp) for sp, _ in pieces):
                out.append([])
                continue
            spans = np.concatenate([sp for sp, _ in pieces])
            rows = np.concatenate([pr for _, pr in pieces])
            starts, first, inverse = np.unique(spans[:, 0], return_index=True, return_inverse=True)
            summed = np.zeros((len(starts), rows.shape[1]), dtype=np.float64)
            np.add.at(summed, inverse, rows)
            mean = summed / np.bincount(inverse, minlength=len(starts))[:, None]
            self.stats.tokens += len(starts)
            out.append(self._decode(text, starts, spans[first, 1], mean))
        return out

    def _forward(self, ids: list[list[int]]) -> list[np.ndarray]:
        """Class probabilities per token of every window: length-sorted dynamic batches."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        result: list[np.ndarray] = [np.empty(0)] * len(ids)
        pad = self.tokenizer.pad_token_id or 0
        size = self.settings.batch_size
        with torch.inference_mode():
            for k in range(0, len(order), size):
                picked = order[k : k + size]
                width = max(len(ids[i]) for i in picked)
                batch = torch.full((len(picked), width), pad, dtype=torch.long)
                mask = torch.zeros((len(picked), width), dtype=torch.long)
                for row, i in enumerate(picked):
                    batch[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                logits = self.model(
                    input_ids=batch.to(self.device), attention_mask=mask.to(self.device)
                ).logits
                probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                for row, i in enumerate(picked):
                    result[i] = probs[row, : len(ids[i])]
        return result

    def _decode(
        self, text: str, starts: np.ndarray, ends: np.ndarray, probs: np.ndarray
    ) -> list[Span]:
        """Word-level labels (first sub-token decides) -> character spans."""
        spans: list[Span] = []
        current: list[Any] | None = None  # [label, start, end, scores]
        word_label: str | None = None
        word_score = 0.0
        previous_end = -1
        best_ids = probs.argmax(axis=1).tolist()
        best_scores = probs.max(axis=1).tolist()
        for start, end, best, score in zip(
            starts.tolist(), ends.tolist(), best_ids, best_scores, strict=True
        ):
            same_word = (
                start == previous_end
                and start > 0
                and text[start - 1].isalnum()
                and text[start].isalnum()
            )
            if not same_word:
                word_label, word_score = self.id2label[best], score
            previous_end = end
            tag = word_label or "O"
            if tag == "O":
                if current is not None:
                    spans.append(_span(text, current))
                    current = None
                continue
            prefix, label = tag.split("-", 1)
            continues = (
                current is not None
                and current[0] == label
                and (same_word or prefix == "I")
                and not text[current[2] : start].count("\n")
            )
            if continues and current is not None:
                current[2] = end
                current[3].append(word_score)
            else:
                if current is not None:
                    spans.append(_span(text, current))
                current = [label, start, end, [word_score]]
        if current is not None:
            spans.append(_span(text, current))
        return [s for s in spans if s.text.strip()]


def _span(text: str, current: list[Any]) -> Span:
    label, start, end, scores = current
    return Span(
        start=start,
        end=end,
        label=label,
        text=text[start:end],
        score=round(float(np.mean(scores)), 4),
    )
