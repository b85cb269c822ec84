"""Surrogates of numbers: phone (TEL), NIR (SECU), postcode (ZIP), IPP and NDA.

Each keeps the layout of the original (spaces, dots, ``+33``, ``(0)``, letters and digits in
the same places) and changes what identifies: a phone keeps only its kind (mobile 06/07 or
landline 01-05), a NIR its sex digit and a valid key, a postcode optionally its department.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import date, timedelta

from curation.french import nir_key

#: Metropolitan departments as written in a NIR (Corsica: 2A, 2B; 20 is no longer used).
NIR_DEPARTMENTS: tuple[str, ...] = (
    *(f"{n:02d}" for n in range(1, 96) if n != 20),
    "2A",
    "2B",
)
#: Departments as the first two digits of a postcode (Corsica: 20).
ZIP_DEPARTMENTS: tuple[str, ...] = tuple(f"{n:02d}" for n in range(1, 96))

_NIR = re.compile(r"([1-478])(\d{2})(\d{2})(\d{2}|2[AB])(\d{3})(\d{3})(\d{2})?", re.IGNORECASE)
_TRIES = 20


def different(draw: Callable[[], str], original: str) -> str:
    """``draw()`` until the result differs from ``original`` (a surrogate never equals it)."""
    for _ in range(_TRIES):
        value = draw()
        if value != original:
            return value
    return value


def random_like(text: str, rng: random.Random) -> str:
    """Same length and character classes: a digit for a digit, a capital for a capital.

    The first digit stays non-zero when it was (``8000426580`` -> ``5093817264``).

    >>> out = random_like("AB-0123", random.Random(3))
    >>> len(out), out[2], out[:2].isupper(), out[3:].isdigit()
    (7, '-', True, True)
    """
    out = []
    for i, c in enumerate(text):
        if c.isdigit():
            low = 1 if i == 0 and c != "0" else 0
            out.append(str(rng.randint(low, 9)))
        elif c.isalpha() and c.isascii():
            letter = chr(rng.randint(ord("A"), ord("Z")))
            out.append(letter if c.isupper() else letter.lower())
        else:
            out.append(c)
    return "".join(out)


def identifier(original: str, rng: random.Random) -> str:
    """IPP or NDA: same length and character classes, never the original."""
    return different(lambda: random_like(original, rng), original)


def phone(original: str, rng: random.Random) -> str:
    """A phone number in the original's layout (``06 12 34 56 78``, ``+33 (0)1 ...``).

    The country code, the trunk ``0`` and the kind of number (mobile or landline) are kept;
    every other digit is drawn.

    >>> out = phone("+33 (0)6 12 34 56 78", random.Random(1))
    >>> out[:7], out[7] in "67", len(out) == 20, out[8::3]
    ('+33 (0)', True, True, '    ')
    """
    positions = [i for i, c in enumerate(original) if c.isdigit()]
    digits = "".join(original[i] for i in positions)
    stripped = original.lstrip()
    keep = 0  # leading digits kept as they are
    if stripped.startswith("+33") or digits.startswith("0033"):
        keep = 2 if stripped.startswith("+") else 4
        if digits[keep : keep + 1] == "0":  # +33 (0)6 ...
            keep += 1
    elif stripped.startswith("+"):
        keep = min(2, len(digits))
    elif digits.startswith("0"):
        keep = 1

    def draw() -> str:
        new = list(digits)
        for j in range(keep, len(new)):
            if j == keep and len(digits) - keep == 9:  # the kind of number: 06, 01...
                if new[j] in "67":
                    new[j] = rng.choice("67")
                elif new[j] in "12345":
                    new[j] = rng.choice("12345")
            else:
                new[j] = str(rng.randrange(10))
        chars = list(original)
        for i, d in zip(positions, new, strict=True):
            chars[i] = d
        return "".join(chars)

    return different(draw, original)


def nir(original: str, rng: random.Random, days: int) -> str | None:
    """A NIR in the original's layout, or ``None`` when the original is not one.

    Keeps the sex digit; the birth year and month are those of the birth date shifted by the
    patient's offset ``days`` (as DATE_NAISSANCE is); department, commune and order number are
    drawn; the key is valid (``97 - number mod 97``, Corsica 2A -> 19, 2B -> 18).

    >>> out = nir("1 85 05 75 123 456 73", random.Random(2), 40)
    >>> out[:8], len(out), nir_key(out.replace(" ", "")[:13]) == out[-2:]
    ('1 85 06 ', 21, True)
    """
    compact = "".join(c for c in original if not c.isspace())
    m = _NIR.fullmatch(compact)
    if m is None:
        return None
    sex, yy, mm, _dept, _commune, _order, key = m.groups()
    month = int(mm)
    if 1 <= month <= 12:
        year = 1900 + int(yy) if int(yy) >= 30 else 2000 + int(yy)
        born = date(year, month, 15) + timedelta(days=days)
        yy, mm = f"{born.year % 100:02d}", f"{born.month:02d}"

    def draw() -> str:
        body = (
            sex
            + yy
            + mm
            + rng.choice(NIR_DEPARTMENTS)
            + f"{rng.randint(1, 990):03d}"
            + f"{rng.randint(1, 999):03d}"
        )
        new = body + nir_key(body) if key is not None else body
        chars = iter(new)
        return "".join(c if c.isspace() else next(chars) for c in original)

    return different(draw, original)


def postcode(original: str, rng: random.Random, *, keep_department: bool) -> str:
    """A five-digit postcode, in the original's department when ``keep_department``.

    >>> postcode("75013", random.Random(4), keep_department=True)[:2]
    '75'
    """
    if not re.fullmatch(r"\d{5}", original):
        return identifier(original, rng)
    prefix = original[:3] if original.startswith(("97", "98")) else original[:2]

    def draw() -> str:
        if keep_department:
            rest = len(original) - len(prefix)
            return prefix + "".join(str(rng.randrange(10)) for _ in range(rest))
        return rng.choice(ZIP_DEPARTMENTS) + f"{rng.randrange(1000):03d}"

    return different(draw, original)
