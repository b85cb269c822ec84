"""Versioned prompt files, filled with :class:`string.Template`, and the parsing of the JSON
that models answer with.

A prompt lives in ``prompts/<name>.<version>.md``: YAML front matter (``name``, ``version``,
``description``, ``placeholders``) then the template, whose placeholders are ``$document``
style (``string.Template``, so the JSON examples' braces need no escaping). A change of
wording is a new file (``.v2``), never an edit; the SHA-256 of the file's bytes is recorded
with every generation, so that an edit in place still shows.

Errors name the prompt (``clinical_summary.v1``), the item (``doc_id``) and what is wrong;
never the prompt's, the document's or the model's text.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curation.models.generation.base import PromptRef
from curation.usecases.clinical_summary import SECTIONS
from curation.usecases.mcq_generation import OPTIONS

DEFAULT_PROMPTS_DIR = Path("prompts")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION = re.compile(r"^v[0-9]+$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)```", re.S | re.I)


class PromptError(ValueError):
    """A prompt file is missing or malformed, or was filled with wrong values."""


class OutputError(ValueError):
    """A model's output is not the JSON the prompt asks for."""


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """One versioned prompt: its template body and the hash of its file.

    Examples
    --------
    >>> t = PromptTemplate("demo", "v1", "Résume : $document", "0" * 64, Path("demo.v1.md"))
    >>> t.fill(document="Patiente de 62 ans admise pour dyspnée.")
    'Résume : Patiente de 62 ans admise pour dyspnée.'
    """

    name: str
    version: str
    body: str
    sha256: str
    path: Path

    @property
    def ref(self) -> PromptRef:
        """What generations record: name, version and file hash."""
        return PromptRef(self.name, self.version, self.sha256)

    @property
    def placeholders(self) -> list[str]:
        """Placeholder names of the template, in order of appearance."""
        return string.Template(self.body).get_identifiers()

    def fill(self, **values: str) -> str:
        """The template with every placeholder replaced; unknown or missing names fail."""
        expected = set(self.placeholders)
        missing = sorted(expected - set(values))
        unknown = sorted(set(values) - expected)
        if missing or unknown:
            raise PromptError(
                f"prompt {self.ref.id} ({self.path}): placeholders {sorted(expected)}; "
                f"missing {missing}, unknown {unknown}"
            )
        return string.Template(self.body).substitute(values)


def prompt_path(name: str, version: str, root: str | Path = DEFAULT_PROMPTS_DIR) -> Path:
    """``<root>/<name>.<version>.md``."""
    return Path(root) / f"{name}.{version}.md"


def available_versions(name: str, root: str | Path = DEFAULT_PROMPTS_DIR) -> list[str]:
    """Versions of ``name`` found in ``root``, oldest first (``['v1', 'v2']``)."""
    found = [p.name[len(name) + 1 : -3] for p in Path(root).glob(f"{name}.v*.md")]
    return sorted((v for v in found if _VERSION.match(v)), key=lambda v: int(v[1:]))


def load_prompt(name: str, version: str, root: str | Path = DEFAULT_PROMPTS_DIR) -> PromptTemplate:
    """Read and check ``<root>/<name>.<version>.md``.

    The front matter's ``name`` and ``version`` must match the file name, and its
    ``placeholders`` the template's, so that a typo fails here rather than in a prompt.
    """
    if not _NAME.match(name) or not _VERSION.match(version):
        raise PromptError(f"prompt name {name!r} / version {version!r}: expected e.g. 'x', 'v1'")
    path = prompt_path(name, version, root)
    if not path.is_file():
        versions = available_versions(name, root)
        raise PromptError(
            f"{path}: no such prompt file; versions of {name!r} in {root}: {versions or 'none'}"
        )
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise PromptError(f"{path}: starts with YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: front matter is not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise PromptError(f"{path}: front matter must be a mapping")
    if meta.get("name") != name or meta.get("version") != version:
        raise PromptError(f"{path}: front matter name/version must be {name!r}/{version!r}")
    template = PromptTemplate(
        name, version, text[match.end() :], hashlib.sha256(raw).hexdigest(), path
    )
    declared = meta.get("placeholders") or []
    try:
        found = template.placeholders
        string.Template(template.body).substitute(dict.fromkeys(found, ""))
    except ValueError as exc:
        raise PromptError(f"{path}: invalid placeholder ({exc}); write a literal $ as $$") from None
    if sorted(declared) != sorted(found):
        raise PromptError(
            f"{path}: front matter declares placeholders {declared}, body has {found}"
        )
    return template


# -- model output -------------------------------------------------------------------------
def _where(prompt: PromptRef | str, item: str | int) -> str:
    label = prompt.id if isinstance(prompt, PromptRef) else prompt
    return f"prompt {label}, item {item}"


def extract_json(text: str, prompt: PromptRef | str, item: str | int) -> dict[str, Any]:
    """The JSON object a model answered: bare, in a ```` ```json ```` fence, or amid prose.

    Examples
    --------
    >>> extract_json('```json\\n{"motif": "dyspnée"}\\n```', "clinical_summary.v1", "doc-1")
    {'motif': 'dyspnée'}
    """
    where = _where(prompt, item)
    if not text.strip():
        raise OutputError(f"{where}: the model's output is empty")
    fence = _FENCE.search(text)
    candidates = [fence.group(1).strip()] if fence else [text.strip()]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    first_error: json.JSONDecodeError | None = None
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
            continue
        if not isinstance(value, dict):
            raise OutputError(
                f"{where}: expected a JSON object, the model answered a {type(value).__name__}"
            )
        return value
    assert first_error is not None
    raise OutputError(
        f"{where}: the model's output is not valid JSON ({first_error.msg} at line "
        f"{first_error.lineno}, column {first_error.colno}); a cut answer needs a larger "
        "max_new_tokens"
    )


def _as_text(value: Any, where: str, key: str) -> str:
    """A string field; ``null`` is empty and a list of strings is joined by new lines."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(v.strip() for v in value)
    raise OutputError(f"{where}: key {key!r} must be a string, got {type(value).__name__}")


def _check_keys(data: Mapping[str, Any], expected: Sequence[str], where: str) -> None:
    missing = [k for k in expected if k not in data]
    unknown = sorted(k for k in data if k not in expected)
    if missing or unknown:
        raise OutputError(
            f"{where}: expected keys {list(expected)}; missing {missing}, unknown {unknown}"
        )


def parse_summary(
    text: str, prompt: PromptRef | str, item: str | int, sections: Sequence[str] = SECTIONS
) -> dict[str, str]:
    """The seven sections of a ``clinical_summary`` answer (empty string when absent).

    Examples
    --------
    >>> answer = json.dumps({k: "" for k in SECTIONS} | {"motif": "Douleur thoracique."})
    >>> parse_summary(answer, "clinical_summary.v1", "doc-1")["motif"]
    'Douleur thoracique.'
    """
    where = _where(prompt, item)
    data = extract_json(text, prompt, item)
    _check_keys(data, sections, where)
    return {key: _as_text(data[key], where, key) for key in sections}


def _letters(value: Any, options: Sequence[str], where: str) -> list[str]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,;]+", value) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OutputError(f"{where}: 'answers' must be a list of letters {list(options)}")
    letters = sorted({v.strip().upper() for v in value})
    wrong = [v for v in letters if v not in options]
    if wrong or not letters:
        raise OutputError(
            f"{where}: 'answers' must hold one or more of {list(options)}; got {len(letters)} "
            f"answers, {len(wrong)} not among the options"
        )
    return letters


def parse_mcq(
    text: str, prompt: PromptRef | str, item: str | int, options: Sequence[str] = OPTIONS
) -> dict[str, Any]:
    """One QRM question: ``{stem, options: {A..E}, answers: [...], explanation}``.

    Options may come as a mapping or a list of five; answers as a list or ``"A, C"``.
    Structure is checked here; content rules (distinct options, none in the stem, no
    identifying data) are the ``validate`` stage's.

    Examples
    --------
    >>> answer = json.dumps({"stem": "Quel examen demander en premier ?",
    ...     "options": ["ECG", "Troponine", "Scanner", "IRM", "EEG"],
    ...     "answers": "A, B", "explanation": "ECG et troponine d'abord."})
    >>> parse_mcq(answer, "mcq_generation.v1", "doc-1")["answers"]
    ['A', 'B']
    """
    where = _where(prompt, item)
    data = extract_json(text, prompt, item)
    _check_keys(data, ("stem", "options", "answers", "explanation"), where)
    raw = data["options"]
    if isinstance(raw, list) and len(raw) == len(options):
        raw = dict(zip(options, raw, strict=True))
    if not isinstance(raw, dict):
        raise OutputError(f"{where}: 'options' must map {list(options)} to texts")
    raw = {str(k).strip().upper(): v for k, v in raw.items()}
    _check_keys(raw, options, f"{where}, 'options'")
    stem = _as_text(data["stem"], where, "stem")
    texts = {k: _as_text(raw[k], where, f"options.{k}") for k in options}
    empty = [k for k, v in texts.items() if not v] + (["stem"] if not stem else [])
    if empty:
        raise OutputError(f"{where}: empty fields {empty}")
    return {
        "stem": stem,
        "options": texts,
        "answers": _letters(data["answers"], options, where),
        "explanation": _as_text(data["explanation"], where, "explanation"),
    }
