"""What every text generation back-end shares: the :class:`TextGenerator` protocol and the
:class:`Generation` it returns, with the provenance a benchmark card must be able to quote
(which back-end and model, which prompt version and template hash, which parameters, how long).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

Backend = Literal["extractive", "local", "endpoint"]


class GenerationError(RuntimeError):
    """A back-end could not produce a generation (unreachable endpoint, retries spent, a
    prompt longer than the model's context...). Messages name the back-end, the item index
    and what to do; never a prompt, a document or a key."""


@dataclass(frozen=True, slots=True)
class PromptRef:
    """Which prompt template the prompts were filled from.

    Parameters
    ----------
    name
        Prompt name, the use case it serves (``clinical_summary``).
    version
        Prompt version (``v1``); a change of wording is a new version, never an edit.
    sha256
        Hash of the template file's bytes: an edit without a new version still shows.
    """

    name: str
    version: str
    sha256: str

    @property
    def id(self) -> str:
        """``name.version``, as in the file name (``clinical_summary.v1``)."""
        return f"{self.name}.{self.version}"


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Decoding parameters: ``temperature`` 0 means greedy (deterministic) decoding."""

    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = 0


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a generation comes from, enough to reproduce or to quote it.

    ``seconds`` is the wall time of the request (endpoint) or of the batch shared out over its
    prompts (local back-end), so that the sum over a corpus is the time it took.
    """

    backend: Backend
    model: str
    prompt: PromptRef | None
    params: GenerationParams
    seconds: float
    created_at: str
    endpoint: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None

    @property
    def origin(self) -> str:
        """A short origin string for records: ``endpoint:mistral-7b/clinical_summary.v1``."""
        prompt = f"/{self.prompt.id}" if self.prompt else ""
        return f"{self.backend}:{self.model}{prompt}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (a record's ``provenance``)."""
        out = asdict(self)
        out["prompt"] = (
            None
            if self.prompt is None
            else {
                "name": self.prompt.name,
                "version": self.prompt.version,
                "sha256": self.prompt.sha256,
            }
        )
        return out


@dataclass(frozen=True, slots=True)
class Generation:
    """One generated text and its provenance (the text is model output: never log it)."""

    text: str
    provenance: Provenance

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "provenance": self.provenance.to_dict()}


class TextGenerator(Protocol):
    """A generation back-end: one generation per prompt, in input order.

    Prompts are already filled (see :mod:`curation.models.generation.prompts`); the back-end
    records the :class:`PromptRef` it was built with in every generation.
    """

    backend: Backend
    model: str
    params: GenerationParams
    prompt: PromptRef | None

    def generate(self, prompts: Sequence[str]) -> list[Generation]: ...


def now_utc() -> str:
    """Current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
