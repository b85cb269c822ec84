"""Small text helpers for surrogates: accent- and case-insensitive keys, casing styles.

Names are compared the way a reader does: ``DUPONT``, ``dupont`` and ``Dupont`` are one
person, and ``Hélène`` is ``HELENE``. The surrogate is then written in the original's style.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Casing = Literal["upper", "lower", "title"]

_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "‐": "-", "‑": "-", "–": "-"})


def fold_char(char: str) -> str:
    """One character without its accent, in lower case (always one character).

    >>> fold_char("É"), fold_char("ç"), fold_char("œ")
    ('e', 'c', 'œ')
    """
    base = unicodedata.normalize("NFD", char)[0]
    lowered = base.lower()
    return lowered if len(lowered) == 1 else base


def fold(text: str) -> str:
    """Comparison key: no accents, lower case, one space between words, same apostrophes.

    >>> fold("  Hélène  LE  GALL ") == fold("helene le gall")
    True
    """
    folded = "".join(fold_char(c) for c in text.translate(_APOSTROPHES))
    return _SPACES.sub(" ", folded).strip()


def fold_same_length(text: str) -> str:
    """:func:`fold` character by character, so that offsets in the result match ``text``.

    >>> fold_same_length("Hôpital Saint-Éloi")
    'hopital saint-eloi'
    """
    return "".join(fold_char(c) for c in text)


def casing(text: str) -> Casing:
    """Casing style of a mention: ``DUPONT`` upper, ``dupont`` lower, anything else title.

    A single capital (an initial such as ``J.``) counts as title case.

    >>> casing("DUPONT"), casing("dupont"), casing("Dupont"), casing("J.")
    ('upper', 'lower', 'title', 'title')
    """
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return "upper"
    if letters and all(c.islower() for c in letters):
        return "lower"
    return "title"


def apply_casing(surrogate: str, style: Casing) -> str:
    """Write ``surrogate`` (as Faker gives it, in title case) in the original's style.

    >>> apply_casing("Martin", "upper"), apply_casing("Martin", "lower")
    ('MARTIN', 'martin')
    """
    if style == "upper":
        return surrogate.upper()
    if style == "lower":
        return surrogate.lower()
    return surrogate


def ascii_slug(text: str, sep: str = "-") -> str:
    """Lower-case ASCII form of a name for e-mail local parts (``Le Gall`` -> ``le-gall``).

    >>> ascii_slug("Hélène"), ascii_slug("Le Gall"), ascii_slug("D'Arc")
    ('helene', 'le-gall', 'd-arc')
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.split(r"[^a-z0-9]+", folded.lower())
    return sep.join(w for w in words if w)
