"""Shared ground of the generation metrics: comparison keys of French clinical text, the
edit distance an expert saves, and document bootstrap intervals of ratios.

Two ways to compare text, on purpose:

- :func:`words` keeps accents (only the case is folded): ROUGE-L scores the wording of the
  corrected summary, and ``diabète`` written ``diabete`` is a correction the expert made.
  ``rouge-score``'s own tokenizer keeps ``[a-z0-9]`` only and cuts ``diabète`` into
  ``diab`` + ``te``; this one keeps every Unicode letter.
- :func:`fact_key` folds case, accents and white space, writes complete dates in one form
  (``12/03/2024``, ``12.03.24`` and ``12 mars 2024`` are ``date20240312``) and CIM-10 codes
  dotless (``J18.1`` is ``cimj181``): a fact is found whatever its spelling.

Examples
--------
>>> words("Diabète de type 2, déséquilibré")
['diabète', 'de', 'type', '2', 'déséquilibré']
>>> fact_key("Sortie le 1er mars 2024 : Pneumopathie (J18.1)")
'sortie le date20240301 pneumopathie cimj181'
>>> contains(fact_key("sortie le 01/03/2024"), fact_key("1er mars 2024"))
True
>>> edit_counts("amoxicilline 1 g", "amoxicilline 2 g")
(1, 16)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Levenshtein

from curation.cim10 import codes
from curation.metrics.alignment import rounded
from curation.surrogates.dates import parse_date
from curation.surrogates.text import fold

FloatArray = npt.NDArray[np.float64]

_WORD = re.compile(r"\w+")
#: Complete dates only: ``12/03/2024``, ``12.03.24``, ``12-3-2024`` ...
_NUMERIC_DATE = re.compile(
    r"(?<![\w/.\-])\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?![\w/\-]|\.\d)"
)
#: ... and ``12 mars 2024``, ``1er mars 2024``, ``12 févr. 2024`` (the month checked by
#: :func:`curation.surrogates.dates.parse_date`).
_TEXT_DATE = re.compile(r"(?<!\w)(?:1\s?er|\d{1,2})\s+[^\W\d_]+\.?\s+\d{4}(?![\w])")
#: A CIM-10 code as written in a report, in capitals: ``J18.1``, ``(J181)``, ``I10``.
_CODE = re.compile(r"(?<![\w.])[A-Z]\d{2}(?:\.?\d{1,3})?(?![\w]|\.\d)")
#: ``J`` and two digits is a day count (``contrôle à J15``), unless bracketed or alone.
_DAY_COUNT = re.compile(r"J\d{1,2}")
_DATE_TOKEN = re.compile(r"date\d{8}")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``, accents kept (the ROUGE-L tokenizer)."""
    return _WORD.findall(text.lower())


class FrenchTokenizer:
    """``rouge-score`` tokenizer that keeps French accented words whole (see :func:`words`)."""

    def tokenize(self, text: str) -> list[str]:
        return words(text)


def _date_token(match: re.Match[str]) -> str:
    parsed = parse_date(match.group(0))
    if parsed is None or parsed.value is None:
        return match.group(0)
    return f" date{parsed.value:%Y%m%d} "


def _canonical_dates(text: str) -> str:
    return _TEXT_DATE.sub(_date_token, _NUMERIC_DATE.sub(_date_token, text))


def _code_token(match: re.Match[str]) -> str:
    written = match.group(0)
    code = written.replace(".", "")
    text, start, end = match.string, match.start(), match.end()
    bracketed = text[start - 1 : start] == "(" and text[end : end + 1] == ")"
    alone = not text[:start].strip() and not text[end:].strip()
    if code not in codes() or (_DAY_COUNT.fullmatch(written) and not (bracketed or alone)):
        return written
    return f" cim{code} "


def codes_in(text: str) -> set[str]:
    """CIM-10 code tokens (``J18.1`` -> ``cimj181``) of the codes of the ATIH list written in
    ``text`` in capitals; ``à J15`` is a day count, ``(J15)`` or ``J15`` alone a code."""
    return {w for w in fact_key(text).split() if w.startswith("cim") and w[3:].upper() in codes()}


def dates_in(text: str) -> set[str]:
    """Date tokens (``date20240312``) of the complete dates written in ``text``."""
    return {w for w in fact_key(text).split() if _DATE_TOKEN.fullmatch(w)}


@lru_cache(maxsize=1 << 16)
def fact_key(text: str) -> str:
    """Comparison key of a fact or a summary: dates and codes in one form, then folded words
    (no accent, lower case) joined by single spaces."""
    canonical = _CODE.sub(_code_token, _canonical_dates(text))
    return " ".join(_WORD.findall(fold(canonical).translate(_LIGATURES)))


def contains(text_key: str, fact: str) -> bool:
    """Whether the words of ``fact`` (a :func:`fact_key`) appear, in order and contiguous, in
    ``text_key``; an empty fact is never contained."""
    return bool(fact) and f" {fact} " in f" {text_key} "


def edit_counts(draft: str, correction: str) -> tuple[int, int]:
    """Levenshtein distance (characters) from ``draft`` to ``correction``, and the longer
    length: ``1 - distance / length`` is the share of the text the expert did not retype."""
    draft, correction = draft.strip(), correction.strip()
    return Levenshtein.distance(draft, correction), max(len(draft), len(correction))


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` rounded, ``None`` when the denominator is 0."""
    return rounded(numerator / denominator) if denominator else None


def _value(value: float | np.floating[Any]) -> float | None:
    number = float(value)
    return None if math.isnan(number) else rounded(number)


def ratio_intervals(
    parts: Mapping[str, tuple[FloatArray, FloatArray]],
    n_resamples: int,
    seed: int,
    confidence: float,
) -> dict[str, Any]:
    """Percentile bootstrap intervals of ratios of sums, resampling documents.

    ``parts`` maps a statistic's name to its per-document numerators and denominators (one
    entry per gold document, in one order for every statistic); the statistic is
    ``sum(numerators) / sum(denominators)``. Each resample is a weighted sum of those
    columns, as in :mod:`curation.metrics.coding`, so 1,000 resamples take milliseconds.
    Resamples whose denominator is 0 are left out; ``low``/``high`` are ``None`` when all are.

    >>> parts = {"recall": (np.array([1.0, 0.0]), np.array([1.0, 1.0]))}
    >>> ratio_intervals(parts, 200, 0, 0.95)["recall"]
    {'value': 0.5, 'low': 0.0, 'high': 1.0}
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    names = list(parts)
    columns = [np.asarray(c, dtype=np.float64) for name in names for c in parts[name]]
    n_docs = len(columns[0]) if columns else 0
    matrix = np.stack(columns, axis=1) if n_docs else np.zeros((0, len(columns)))
    if n_docs:
        draws = np.random.default_rng(seed).integers(0, n_docs, size=(n_resamples, n_docs))
        offsets = np.arange(n_resamples)[:, None] * n_docs
        weights = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n_docs)
        totals = weights.reshape(n_resamples, n_docs).astype(np.float64) @ matrix
    else:
        totals = np.zeros((n_resamples, len(columns)))
    point = matrix.sum(axis=0)
    alpha = 1 - confidence
    out: dict[str, Any] = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    for i, name in enumerate(names):
        num, den = totals[:, 2 * i], totals[:, 2 * i + 1]
        valid = num[den > 0] / den[den > 0]
        low, high = (
            np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            if valid.size
            else (np.nan, np.nan)
        )
        out[name] = {
            "value": ratio(float(point[2 * i]), float(point[2 * i + 1])),
            "low": _value(low),
            "high": _value(high),
        }
    return out


__all__ = [
    "FrenchTokenizer",
    "codes_in",
    "contains",
    "dates_in",
    "edit_counts",
    "fact_key",
    "ratio",
    "ratio_intervals",
    "words",
]
