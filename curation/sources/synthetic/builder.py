"""Offset-tracked document assembly: text is appended piece by piece and every gold span is
recorded at the moment its text is written, so offsets are exact by construction.

Noise (typos, case changes, OCR-like artefacts) is applied only to free text, before it is
appended; gold spans are written verbatim, so noise never breaks an offset.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from curation.settings import NoiseSettings

_FIELD = re.compile(r"\{(\w+)\}")
_WORD = re.compile(r"[A-Za-zÀ-ÿ]{4,}")
_OCR = (("l", "1"), ("O", "0"), ("rn", "m"), ("é", "e"), ("i", "l"), ("e", "c"), ("a", "à"))


@dataclass(slots=True)
class Ent:
    """A piece of text that is gold for one or several use cases.

    ``tags`` pairs a use case with the span's label in it, e.g.
    ``(("pseudonymisation", "NOM"),)`` or ``(("icd10_coding", "K509"),)``.
    ``attrs`` holds per-span attributes (oncology status, negation...), keyed by use case.
    """

    text: str
    tags: tuple[tuple[str, str], ...]
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)


def phi(text: str, label: str) -> Ent:
    """An identifying span for pseudonymisation."""
    return Ent(text, (("pseudonymisation", label),))


Piece = str | Ent | Sequence["str | Ent"]


@dataclass(slots=True)
class GoldSpan:
    start: int
    end: int
    label: str
    text: str
    attrs: dict[str, Any]


@cache
def _compile(template: str) -> tuple[tuple[str, str | None], ...]:
    """Split ``"Né le {ddn}."`` into ``(("Né le ", "ddn"), (".", None))``."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for match in _FIELD.finditer(template):
        out.append((template[pos : match.start()], match.group(1)))
        pos = match.end()
    out.append((template[pos:], None))
    return tuple(out)


class Noise:
    """Seeded noise on free text, with rates from ``params.yaml`` (``generate.noise``)."""

    def __init__(self, settings: NoiseSettings, rng: random.Random) -> None:
        self.s = settings
        self.rng = rng
        self.active = settings.typo_rate > 0 or settings.ocr_rate > 0 or settings.case_rate > 0

    def apply(self, text: str) -> str:
        if not self.active or len(text) < 4:
            return text
        rng = self.rng
        if self.s.case_rate and rng.random() < self.s.case_rate:
            text = text.upper() if rng.random() < 0.5 else text.lower()
        if self.s.typo_rate or self.s.ocr_rate:
            text = _WORD.sub(self._word, text)
        return text

    def _word(self, match: re.Match[str]) -> str:
        word = match.group(0)
        rng = self.rng
        if self.s.typo_rate and rng.random() < self.s.typo_rate:
            i = rng.randrange(1, len(word) - 1)
            kind = rng.randrange(3)
            if kind == 0:  # swap two letters
                word = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
            elif kind == 1:  # drop one
                word = word[:i] + word[i + 1 :]
            else:  # double one
                word = word[:i] + word[i] + word[i:]
        if self.s.ocr_rate and rng.random() < self.s.ocr_rate:
            src, dst = rng.choice(_OCR)
            if src in word:
                word = word.replace(src, dst, 1)
            elif len(word) >= 4:  # broken word, as OCR does at line ends
                cut = rng.randrange(2, len(word) - 1)
                word = word[:cut] + " " + word[cut:]
        return word


class DocBuilder:
    """Assembles one document's text and collects its gold spans per use case."""

    def __init__(self, rng: random.Random, noise: Noise) -> None:
        self.rng = rng
        self.noise = noise
        self._parts: list[str] = []
        self._pos = 0
        self.spans: dict[str, list[GoldSpan]] = {}

    # -- writing -------------------------------------------------------------------------
    def add(self, text: str) -> None:
        """Append free text (noise applies)."""
        text = self.noise.apply(text)
        self._parts.append(text)
        self._pos += len(text)

    def ent(self, ent: Ent) -> dict[str, int]:
        """Append a gold span verbatim; returns its index in each use case's span list."""
        start = self._pos
        self._parts.append(ent.text)
        self._pos += len(ent.text)
        index: dict[str, int] = {}
        for use_case, label in ent.tags:
            spans = self.spans.setdefault(use_case, [])
            index[use_case] = len(spans)
            attrs = ent.attrs.get(use_case, {})
            spans.append(GoldSpan(start, self._pos, label, ent.text, attrs))
        return index

    def piece(self, value: Piece) -> None:
        if isinstance(value, Ent):
            self.ent(value)
        elif isinstance(value, str):
            self.add(value)
        else:
            for item in value:
                self.piece(item)

    def fill(self, template: str, **values: Piece) -> None:
        """Append ``template`` with ``{name}`` fields taken from ``values``."""
        for literal, name in _compile(template):
            if literal:
                self.add(literal)
            if name is not None:
                self.piece(values[name])

    def line(self, template: str = "", **values: Piece) -> None:
        """:meth:`fill` then a line break."""
        self.fill(template, **values)
        self._parts.append("\n")
        self._pos += 1

    def title(self, text: str) -> None:
        """A section title, on its own line after a blank line, in one of the usual styles."""
        style = self.rng.randrange(3)
        shown = text.upper() if style == 0 else text if style == 1 else f"{text} :"
        self._parts.append("\n")
        self._pos += 1
        self.line(shown)

    def keep_section(self) -> bool:
        """False when an optional section is left out (``noise.missing_section_rate``)."""
        return self.rng.random() >= self.noise.s.missing_section_rate

    # -- result ----------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "".join(self._parts)
