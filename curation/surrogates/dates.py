"""Dates of French clinical text: parse, shift by a patient's offset, write in the same format.

Written by hand because the formats matter more than the parsing: ``12/03/2024``,
``12.03.24``, ``3/7/2024``, ``2024-03-12``, ``12 mars 2024``, ``1er mars 2024``,
``lundi 12 mars 2024``, ``mars 2024``, ``03/2024`` and ``2024`` must come back in the same
shape (padding, separators, two- or four-digit year, month name or abbreviation, casing),
which date parsers (dateparser, edsnlp's ``eds.dates``) do not give back.

Partial dates are shifted through an anchor (the 15th of the month, the 1st of July, a leap
year for a day and month without year), so intervals between a patient's dates hold to the
precision the text gives. Two-digit years are read as 19xx from 50 and 20xx below; only the
last two digits are written back, so the pivot matters only for 29 February.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from curation.french import MONTHS
from curation.surrogates.text import Casing, apply_casing, casing, fold

#: Usual abbreviations (Imprimerie nationale); mars, mai, juin and août are not shortened.
ABBREVIATIONS = (
    "janv",
    "févr",
    "mars",
    "avr",
    "mai",
    "juin",
    "juil",
    "août",
    "sept",
    "oct",
    "nov",
    "déc",
)
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

_MONTH_KEYS: dict[str, tuple[int, bool]] = {}
for _i, (_full, _abbr) in enumerate(zip(MONTHS, ABBREVIATIONS, strict=True), start=1):
    _MONTH_KEYS[fold(_full)] = (_i, False)
    _MONTH_KEYS.setdefault(fold(_abbr), (_i, True))
for _extra, _i in (("jan", 1), ("fev", 2), ("juill", 7), ("sep", 9), ("aout", 8)):
    _MONTH_KEYS.setdefault(_extra, (_i, True))
_WEEKDAY_KEYS = {fold(w): i for i, w in enumerate(WEEKDAYS)}

Kind = Literal["dmy", "ymd", "dm", "my", "y", "text"]

_DMY = re.compile(r"(\d{1,2})([/.\- ])(\d{1,2})([/.\- ])(\d{4}|\d{2})")
_YMD = re.compile(r"(\d{4})([/.\-])(\d{1,2})([/.\-])(\d{1,2})")
_DM = re.compile(r"(\d{1,2})([/.])(\d{1,2})")
_MY = re.compile(r"(\d{1,2})([/.\-])(\d{4})")
_Y = re.compile(r"(1[89]\d\d|20\d\d)")
_TEXT = re.compile(
    r"(?:(?P<wd>[^\W\d_]+)\.?,?\s+)?"
    r"(?:(?P<day>1\s?er|1\s?ᵉʳ|\d{1,2})\s+)?"
    r"(?P<month>[^\W\d_]+)(?P<dot>\.?)"
    r"(?:\s+(?P<year>\d{4}|\d{2}))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateShape:
    """How a date is written, so that another date can be written the same way."""

    kind: Kind
    seps: tuple[str, ...] = ()
    pad: bool = True  # zero-padded day and month
    year_digits: int = 4  # 4, 2, or 0 when the text has no year
    has_day: bool = True
    abbreviated: bool = False  # month name shortened (``janv.``)
    dot: bool = False  # abbreviation followed by a dot
    accents: bool = True  # month name written with its accents (``février`` not ``fevrier``)
    first_er: bool = True  # day 1 written ``1er``
    weekday: bool = False  # ``lundi 12 mars 2024``
    case: Casing = "lower"  # of the month name (and of ``1er``)
    weekday_case: Casing = "lower"


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date found in a mention: its shape, and its value when the value is a real date."""

    shape: DateShape
    value: date | None


def _year(token: str) -> int:
    if len(token) == 4:
        return int(token)
    yy = int(token)
    return 1900 + yy if yy >= 50 else 2000 + yy


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str) -> ParsedDate | None:
    """Shape and value of a date mention; ``None`` when it is not written like a date.

    The value is ``None`` when the shape is a date's but the numbers are not (``31/02/2024``).

    >>> parse_date("1er mars 2024").value
    datetime.date(2024, 3, 1)
    >>> parse_date("12.03.24").shape.year_digits
    2
    """
    s = text.strip()
    if m := _DMY.fullmatch(s):
        d, sep1, mo, sep2, y = m.groups()
        pad = len(d) == 2 and len(mo) == 2
        shape = DateShape("dmy", (sep1, sep2), pad, len(y))
        return ParsedDate(shape, _safe_date(_year(y), int(mo), int(d)))
    if m := _YMD.fullmatch(s):
        y, sep1, mo, sep2, d = m.groups()
        shape = DateShape("ymd", (sep1, sep2), len(d) == 2 and len(mo) == 2, 4)
        return ParsedDate(shape, _safe_date(int(y), int(mo), int(d)))
    if m := _MY.fullmatch(s):
        mo, sep, y = m.groups()
        shape = DateShape("my", (sep,), len(mo) == 2, 4, has_day=False)
        return ParsedDate(shape, _safe_date(int(y), int(mo), 15))
    if m := _DM.fullmatch(s):
        d, sep, mo = m.groups()
        shape = DateShape("dm", (sep,), len(d) == 2 and len(mo) == 2, 0)
        return ParsedDate(shape, _safe_date(2000, int(mo), int(d)))
    if m := _Y.fullmatch(s):
        return ParsedDate(DateShape("y", has_day=False), date(int(m.group(1)), 7, 1))
    if m := _TEXT.fullmatch(s):
        return _parse_text(m)
    return None


def _parse_text(m: re.Match[str]) -> ParsedDate | None:
    month_token = m.group("month")
    found = _MONTH_KEYS.get(fold(month_token))
    if found is None:
        return None
    month, abbreviated = found
    weekday = m.group("wd")
    if weekday is not None and fold(weekday) not in _WEEKDAY_KEYS:
        return None
    day_token, year_token = m.group("day"), m.group("year")
    canonical = (ABBREVIATIONS if abbreviated else MONTHS)[month - 1]
    shape = DateShape(
        "text",
        year_digits=len(year_token) if year_token else 0,
        has_day=day_token is not None,
        abbreviated=abbreviated,
        dot=bool(m.group("dot")),
        accents=fold(canonical) == canonical or month_token.lower() == canonical,
        first_er=day_token != "1",
        weekday=weekday is not None,
        case=casing(month_token),
        weekday_case=casing(weekday) if weekday is not None else "lower",
    )
    day = 15 if day_token is None else int(day_token) if day_token.isdigit() else 1
    year = _year(year_token) if year_token else 2000  # a leap year: 29 février parses
    return ParsedDate(shape, _safe_date(year, month, day))


def _word_case(word: str, style: Casing) -> str:
    if style == "title":
        return word[:1].upper() + word[1:]
    return apply_casing(word, style)


def format_date(value: date, shape: DateShape) -> str:
    """Write ``value`` in ``shape`` (the inverse of :func:`parse_date`).

    >>> format_date(date(2024, 3, 1), parse_date("12 MARS 2024").shape)
    '1ER MARS 2024'
    >>> format_date(date(2023, 11, 5), parse_date("3/7/2024").shape)
    '5/11/2023'
    """
    pad = "02d" if shape.pad else "d"
    yy = f"{value.year % 100:02d}" if shape.year_digits == 2 else f"{value.year:04d}"
    if shape.kind == "dmy":
        s1, s2 = shape.seps
        return f"{value.day:{pad}}{s1}{value.month:{pad}}{s2}{yy}"
    if shape.kind == "ymd":
        s1, s2 = shape.seps
        return f"{value.year:04d}{s1}{value.month:{pad}}{s2}{value.day:{pad}}"
    if shape.kind == "my":
        return f"{value.month:{pad}}{shape.seps[0]}{yy}"
    if shape.kind == "dm":
        return f"{value.day:{pad}}{shape.seps[0]}{value.month:{pad}}"
    if shape.kind == "y":
        return f"{value.year:04d}"
    month = (ABBREVIATIONS if shape.abbreviated else MONTHS)[value.month - 1]
    if shape.abbreviated and month != MONTHS[value.month - 1] and shape.dot:
        month += "."
    if not shape.accents:
        month = fold(month)
    parts = []
    if shape.weekday:
        parts.append(_word_case(WEEKDAYS[value.weekday()], shape.weekday_case))
    if shape.has_day:
        day = "1er" if value.day == 1 and shape.first_er else str(value.day)
        parts.append(day.upper() if shape.case == "upper" else day)
    parts.append(_word_case(month, shape.case))
    if shape.year_digits:
        parts.append(yy)
    return " ".join(parts)


def random_date(rng: random.Random) -> date:
    """A date between 1930 and 2030 (for mentions whose numbers are not a date)."""
    return date(1930, 1, 1) + timedelta(days=rng.randrange(36_500))


def random_shape(text: str, rng: random.Random) -> str:
    """Same characters, other numbers: a year for four digits, a small number otherwise.

    >>> len(random_shape("le 3 courant", random.Random(1)))
    12
    """

    def number(m: re.Match[str]) -> str:
        token = m.group(0)
        if len(token) == 4:
            return str(rng.randint(1930, 2030))
        if len(token) == 2:
            return f"{rng.randint(1, 28):02d}"
        if len(token) == 1:
            return str(rng.randint(1, 9))
        return "".join(str(rng.randrange(10)) for _ in token)

    return re.sub(r"\d+", number, text)


def shift_date_text(text: str, days: int, rng: random.Random) -> tuple[str, bool]:
    """``text`` shifted by ``days`` in the same format, and whether it could be parsed.

    A mention that is not a date (no known shape, impossible numbers) gets a random date of
    the same shape from ``rng``, and ``False``.

    >>> shift_date_text("12/03/2024", 30, random.Random(0))
    ('11/04/2024', True)
    >>> shift_date_text("1er mars 2024", -1, random.Random(0))
    ('29 février 2024', True)
    """
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    parsed = parse_date(text)
    if parsed is None:
        return random_shape(text, rng), False
    if parsed.value is None:
        return lead + format_date(random_date(rng), parsed.shape) + trail, False
    try:
        shifted = parsed.value + timedelta(days=days)
    except OverflowError:
        return lead + format_date(random_date(rng), parsed.shape) + trail, False
    return lead + format_date(shifted, parsed.shape) + trail, True
