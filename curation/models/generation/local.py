"""Text generation with ``transformers`` from a local model folder (no download, ever).

The architecture is read from the folder's ``config.json``: an encoder-decoder (T5, BART,
mT5...) loads as a seq2seq model, anything else as a causal language model. Prompts are sorted
by length and batched (left padding for causal models, so every row ends where generation
starts); a tokenizer with a chat template gets the prompt as a user message. Decoding is greedy
by default (``temperature`` 0), so the same model, prompt and settings give the same text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    set_seed,
)

from curation.models.engine import pick_device
from curation.models.generation.base import (
    Backend,
    Generation,
    GenerationError,
    GenerationParams,
    PromptRef,
    Provenance,
    now_utc,
)
from curation.settings import EngineSettings, GenerationSettings

#: A ``model_max_length`` above this is the tokenizer's "unknown" sentinel, not a limit.
_NO_LIMIT = 1_000_000


class LocalGenerator:
    """Batched generation with a local causal or seq2seq model.

    Parameters
    ----------
    settings
        ``model_path``, ``device``, ``batch_size`` and the decoding parameters.
    prompt
        The template the prompts were filled from, recorded in every generation.
    """

    backend: Backend = "local"

    def __init__(self, settings: GenerationSettings, prompt: PromptRef | None = None) -> None:
        if not settings.model_path:
            raise GenerationError("backend local needs `model_path` (a local model folder)")
        folder = Path(settings.model_path)
        if not (folder / "config.json").is_file():
            raise GenerationError(
                f"{folder}: no config.json; point generation.model_path at a local folder "
                "written by save_pretrained (models are never downloaded)"
            )
        self.settings = settings
        self.model = str(folder)
        self.prompt = prompt
        self.params = GenerationParams(settings.temperature, settings.max_new_tokens, settings.seed)
        config: Any = AutoConfig.from_pretrained(folder, local_files_only=True)
        self.is_seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        loader: Any = AutoModelForSeq2SeqLM if self.is_seq2seq else AutoModelForCausalLM
        self.device, self.dtype = pick_device(EngineSettings(device=settings.device))
        tokenizer: Any = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if tokenizer.pad_token_id is None:
            raise GenerationError(f"{folder}: the tokenizer has neither a pad nor an eos token")
        tokenizer.padding_side = "right" if self.is_seq2seq else "left"
        self.tokenizer = tokenizer
        model: Any = loader.from_pretrained(folder, local_files_only=True)
        self._model = model.to(self.device, dtype=self.dtype).eval()
        self.context = self._context_length(config)

    def _context_length(self, config: Any) -> int | None:
        """Tokens the model can attend to (prompt + generation), if it declares it."""
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        return limit if isinstance(limit, int) and limit < _NO_LIMIT else None

    # -- public API ---------------------------------------------------------------------
    def generate(self, prompts: Sequence[str]) -> list[Generation]:
        """One generation per prompt, in input order, ``batch_size`` prompts at a time."""
        if self.params.temperature > 0 and self.params.seed is not None:
            set_seed(self.params.seed)
        texts = [self._as_input(p) for p in prompts]
        encoded = [self.tokenizer(t, add_special_tokens=not self._chat)["input_ids"] for t in texts]
        for index, ids in enumerate(encoded):
            self._check_length(index, len(ids))
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        out: dict[int, Generation] = {}
        size = self.settings.batch_size
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            for index, generation in zip(
                batch, self._batch([encoded[i] for i in batch]), strict=True
            ):
                out[index] = generation
        return [out[i] for i in range(len(texts))]

    # -- internals --------------------------------------------------------------------------
    @property
    def _chat(self) -> bool:
        return not self.is_seq2seq and bool(getattr(self.tokenizer, "chat_template", None))

    def _as_input(self, prompt: str) -> str:
        if not self._chat:
            return prompt
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def _check_length(self, index: int, n_tokens: int) -> None:
        budget = n_tokens if self.is_seq2seq else n_tokens + self.params.max_tokens
        if self.context is not None and budget > self.context:
            raise GenerationError(
                f"{self.model}: item {index}: prompt of {n_tokens} tokens"
                + ("" if self.is_seq2seq else f" + {self.params.max_tokens} new tokens")
                + f" exceeds the model's {self.context}; use a model with a longer context "
                "or lower generation.max_new_tokens"
            )

    def _decoding(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.params.max_tokens,
            "num_beams": 1,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if self.tokenizer.eos_token_id is not None:
            kwargs["eos_token_id"] = self.tokenizer.eos_token_id
        if self.params.temperature > 0:
            kwargs |= {"do_sample": True, "temperature": self.params.temperature}
        else:
            kwargs |= {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        return kwargs

    def _batch(self, ids: list[list[int]]) -> list[Generation]:
        started = time.perf_counter()
        inputs = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            output = self._model.generate(**inputs, **self._decoding())
        # A causal model returns prompt + continuation; a seq2seq one the decoder start token
        # + continuation.
        new = output[:, 1:] if self.is_seq2seq else output[:, inputs["input_ids"].shape[1] :]
        seconds = (time.perf_counter() - started) / len(ids)
        created = now_utc()
        eos = self.tokenizer.eos_token_id
        generations = []
        for row, prompt_ids in zip(new.tolist(), ids, strict=True):
            length = row.index(eos) + 1 if eos is not None and eos in row else None
            kept = row if length is None else row[:length]
            text = self.tokenizer.decode(kept, skip_special_tokens=True).strip()
            generations.append(
                Generation(
                    text=text,
                    provenance=Provenance(
                        backend=self.backend,
                        model=self.model,
                        prompt=self.prompt,
                        params=self.params,
                        seconds=round(seconds, 4),
                        created_at=created,
                        prompt_tokens=len(prompt_ids),
                        completion_tokens=len(kept),
                        finish_reason="stop" if length is not None else "length",
                    ),
                )
            )
        return generations
