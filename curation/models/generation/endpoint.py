"""An OpenAI-compatible chat completions client: how hospitals serve on-premise LLMs
(vLLM, TGI, llama.cpp server, Ollama all speak ``POST <base>/chat/completions``).

Written on ``httpx`` rather than the ``openai`` package: one request shape is needed, and
retries, timeouts and what reaches logs and errors must be ours to control. The API key is
read from an environment variable whose *name* is configured; neither the key nor any prompt
or completion text ever reaches a log line or an error message.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import httpx

from curation.models.generation.base import (
    Backend,
    Generation,
    GenerationError,
    GenerationParams,
    PromptRef,
    Provenance,
    now_utc,
)
from curation.settings import GenerationSettings

log = logging.getLogger(__name__)

#: Statuses worth another try: rate limited, or the server's (or its proxy's) fault.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
#: Longest wait a ``Retry-After`` header may impose (seconds).
MAX_RETRY_AFTER = 60.0


def safe_url(url: str) -> str:
    """``url`` without user info or query string, fit for logs and errors."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(float(value), MAX_RETRY_AFTER) if value is not None else None
    except ValueError:
        return None


class EndpointGenerator:
    """Chat completions from an OpenAI-compatible endpoint, one request per prompt.

    Parameters
    ----------
    settings
        ``endpoint_url`` (base URL, e.g. ``http://llm.chu.local/v1``), ``model_name``,
        ``api_key_env``, ``timeout``, ``retries``, ``backoff``, decoding parameters.
    prompt
        The template the prompts were filled from, recorded in every generation.
    sleep
        Waits between retries (tests pass a no-op).

    Examples
    --------
    >>> settings = GenerationSettings(
    ...     backend="endpoint", endpoint_url="http://127.0.0.1:9/v1", model_name="m",
    ...     api_key_env=None)
    >>> with EndpointGenerator(settings) as generator:
    ...     generator.model
    'm'
    """

    backend: Backend = "endpoint"

    def __init__(
        self,
        settings: GenerationSettings,
        prompt: PromptRef | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.endpoint_url or not settings.model_name:
            raise GenerationError("backend endpoint needs `endpoint_url` and `model_name`")
        self.settings = settings
        self.model = settings.model_name
        self.prompt = prompt
        self.params = GenerationParams(settings.temperature, settings.max_new_tokens, settings.seed)
        self.url = settings.endpoint_url.rstrip("/") + "/chat/completions"
        self.endpoint = safe_url(settings.endpoint_url)
        self._sleep = sleep
        headers = {"Accept": "application/json"}
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env, "")
            if not key:
                raise GenerationError(
                    f"the endpoint's key is read from ${settings.api_key_env}, which is not "
                    "set: export it, or set generation.api_key_env to null for no key"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(settings.timeout))

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> EndpointGenerator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public API -------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str]) -> list[Generation]:
        """One completion per prompt, in order, by sequential requests on one connection."""
        return [self._one(prompt, index) for index, prompt in enumerate(prompts)]

    # -- internals --------------------------------------------------------------------------
    @property
    def _key_hint(self) -> str:
        name = self.settings.api_key_env
        return f"the key in ${name}" if name else "whether the endpoint needs a key"

    def _payload(self, prompt: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.params.temperature,
            "max_tokens": self.params.max_tokens,
            "stream": False,
        }
        if self.params.seed is not None:
            payload["seed"] = self.params.seed
        return payload

    def _post(self, prompt: str, index: int) -> tuple[dict[str, Any], float]:
        """The decoded JSON answer and the seconds of the successful request."""
        attempts = self.settings.retries + 1
        problem = ""
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            wait: float | None = None
            try:
                response = self._client.post(self.url, json=self._payload(prompt))
            except httpx.TimeoutException:
                problem = f"no answer within {self.settings.timeout:g} s"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
            else:
                seconds = time.perf_counter() - started
                if response.is_success:
                    try:
                        body = response.json()
                    except ValueError:
                        raise GenerationError(
                            f"{self.endpoint}: item {index}: the answer is not JSON "
                            f"(HTTP {response.status_code}); is this an OpenAI-compatible API?"
                        ) from None
                    if not isinstance(body, dict):
                        raise GenerationError(f"{self.endpoint}: item {index}: not a completion")
                    return body, seconds
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    raise GenerationError(
                        f"{self.endpoint}: item {index}: {problem}, not retried; check "
                        f"endpoint_url, model_name ({self.model}) and {self._key_hint}"
                    )
                wait = _retry_after(response)
            if attempt < attempts:
                delay = wait if wait is not None else self.settings.backoff * 2 ** (attempt - 1)
                log.warning(
                    "%s: item %d: %s; retry %d/%d in %.1f s",
                    self.endpoint,
                    index,
                    problem,
                    attempt,
                    attempts - 1,
                    delay,
                )
                self._sleep(delay)
        raise GenerationError(
            f"{self.endpoint}: item {index}: {problem} after {attempts} attempts; check that "
            "the server is up and not overloaded, or raise generation.retries / timeout"
        )

    def _one(self, prompt: str, index: int) -> Generation:
        body, seconds = self._post(prompt, index)
        try:
            choice = body["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise GenerationError(
                f"{self.endpoint}: item {index}: no choices[0].message.content in the answer"
            ) from None
        if not isinstance(text, str):
            raise GenerationError(f"{self.endpoint}: item {index}: the content is not a string")
        usage = body.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        finish = choice.get("finish_reason")
        return Generation(
            text=text,
            provenance=Provenance(
                backend=self.backend,
                model=self.model,
                prompt=self.prompt,
                params=self.params,
                seconds=round(seconds, 4),
                created_at=now_utc(),
                endpoint=self.endpoint,
                prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
                completion_tokens=_int_or_none(usage.get("completion_tokens")),
                finish_reason=finish if isinstance(finish, str) else None,
            ),
        )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
