"""Generation back-ends behind one interface, for the generative use cases
(``clinical_summary``, ``mcq_generation``).

- :mod:`.base`: the :class:`TextGenerator` protocol and the :class:`Generation` it returns,
  with its provenance (back-end, model, prompt version and hash, parameters, timing);
- :mod:`.prompts`: versioned prompt files (``prompts/<name>.<version>.md``) and the parsing
  of the JSON models answer with;
- :mod:`.local`: ``transformers`` from a local folder (causal or seq2seq);
- :mod:`.endpoint`: an OpenAI-compatible chat completions endpoint.

The ``extractive`` back-end is each use case's offline baseline, not a text generator:
:func:`make_generator` returns ``None`` for it.
"""

from __future__ import annotations

from curation.models.generation.base import (
    Generation,
    GenerationError,
    GenerationParams,
    PromptRef,
    Provenance,
    TextGenerator,
)
from curation.models.generation.prompts import (
    OutputError,
    PromptError,
    PromptTemplate,
    extract_json,
    load_prompt,
    parse_mcq,
    parse_summary,
)
from curation.settings import GenerationSettings

__all__ = [
    "Generation",
    "GenerationError",
    "GenerationParams",
    "OutputError",
    "PromptError",
    "PromptRef",
    "PromptTemplate",
    "Provenance",
    "TextGenerator",
    "extract_json",
    "load_prompt",
    "make_generator",
    "parse_mcq",
    "parse_summary",
]


def make_generator(settings: GenerationSettings, prompt: PromptRef | None) -> TextGenerator | None:
    """The back-end ``settings.backend`` names, or ``None`` for ``extractive``.

    Imports are deferred so that the endpoint client does not load ``torch``.
    """
    if settings.backend == "local":
        from curation.models.generation.local import LocalGenerator

        return LocalGenerator(settings, prompt)
    if settings.backend == "endpoint":
        from curation.models.generation.endpoint import EndpointGenerator

        return EndpointGenerator(settings, prompt)
    return None
