"""Rule detector for the identifiers of French hospital text that have a structure.

:class:`PhiRules` finds ``TEL``, ``MAIL``, ``SECU``, ``ZIP``, ``IPP``, ``NDA``, ``DATE`` and
``DATE_NAISSANCE`` spans; names, cities, addresses and hospitals are left to the model (see
:mod:`curation.models.merge` for how both are combined).

Dates come from edsnlp's ``eds.dates`` (AP-HP's rules), filtered to absolute dates that name
at least a day and a month, or a month and a year. The other identifiers are regular
expressions written here because edsnlp 0.23 has no component for them: its only phone
pattern is a *false-positive* filter inside ``eds.dates``, and it has nothing for e-mail
addresses, NIRs (with their key), postal codes or hospital identifiers. Its
``eds.contextual_matcher`` can find ``IPP : 8012345678``, but its assign window cannot be
anchored to the token right after the cue (``IPP : inconnu, vu le 12/03/2024`` yields ``12``)
and it needs a spaCy document even when dates are off; one regular expression per cue says
the same thing exactly.

Every pattern is linear: bounded repetitions, no nested unbounded quantifiers, and e-mail
addresses are grown outwards from each ``@`` within RFC length limits, so a 1 MB document is
safe. Offsets are exact into the given text, whatever its Unicode (NBSP, narrow NBSP,
ligatures, emojis, combining accents).

Examples
--------
>>> rules = PhiRules(use_edsnlp_dates=False)
>>> [(s.label, s.text) for s in rules("Tél : 06 12 34 56 78, IPP : 8012345678")]
[('TEL', '06 12 34 56 78'), ('IPP', '8012345678')]
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from curation.schema import Span

LABELS: tuple[str, ...] = (
    "DATE",
    "DATE_NAISSANCE",
    "IPP",
    "MAIL",
    "NDA",
    "SECU",
    "TEL",
    "VILLE",
    "ZIP",
    "HOPITAL",
)

#: When two rule candidates overlap, the first label in this order wins (an explicit cue beats
#: a checksum, which beats a format; dates and postal codes are the most ambiguous).
RULE_PRIORITY: tuple[str, ...] = (
    "IPP",
    "NDA",
    "SECU",
    "MAIL",
    "TEL",
    "DATE_NAISSANCE",
    "DATE",
    "ZIP",
    "HOPITAL",
    "VILLE",
)

# Identifiers are written with ASCII digits: ``[0-9]``, not ``\d`` (which takes any script's).
_SP = "[ \u00a0\u202f\u2009]"  # space, NBSP, narrow NBSP, thin space
_SEP = "[ .\\-\u00a0\u202f\u2009]"

# -- TEL ------------------------------------------------------------------------------------
_PHONE = re.compile(
    rf"(?<![\d+])(?:"
    rf"(?P<nat>0[1-9])(?P<s1>{_SEP}?)[0-9]{{2}}(?:(?P=s1)[0-9]{{2}}){{3}}"
    rf"|(?P<intl>(?:\+|00)33){_SP}?(?:\(0\){_SP}?)?[1-9](?P<s2>{_SEP}?)[0-9]{{2}}(?:(?P=s2)[0-9]{{2}}){{3}}"
    rf")(?!\d)"
)

# -- MAIL -----------------------------------------------------------------------------------
_MAIL_CHAR = re.compile(r"[\w.%+\-]")
_MAIL_LOCAL = re.compile(r"[\w.%+\-]{1,64}\Z")
_MAIL_DOMAIN = re.compile(r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w\-])")

# -- SECU (NIR) -----------------------------------------------------------------------------
_NIR = re.compile(
    rf"(?<![\w])[12]{_SP}?[0-9]{{2}}{_SP}?[0-9]{{2}}{_SP}?(?:[0-9]{{2}}|2[AaBb]){_SP}?"
    rf"[0-9]{{3}}{_SP}?[0-9]{{3}}{_SP}?[0-9]{{2}}(?![\w])"
)

# -- IPP / NDA ------------------------------------------------------------------------------
_NUM = r"(?:n[°º]|no\.?|num[ée]ro)"
_GAP = rf"\)?(?:\s{{0,3}}\(\s?IPP\s?\))?\s{{0,3}}(?:{_NUM}\s{{0,3}})?[:=\-–]?\s{{0,3}}"
_ID = r"(?P<id>[A-Za-z0-9](?:[\-/.]?[A-Za-z0-9]){2,24})(?![\w])"
#: ``IPP``, ``NDA``, or ``N°``/``numéro`` + a word (``patient``, ``séjour``, ``venue``), a
#: typo or a cut word tolerated (``N° de sé jour``, ``N° paitent``): see :func:`_cue_label`.
_ID_CUE = re.compile(
    rf"(?:\b(?P<acronym>IPP|NDA)\b|(?:\bN\s?[°º]|\bnum[ée]ro)\s?(?:d[e']\s{{0,2}})?"
    rf"(?P<word>[^\W\d_]{{2,9}}(?:\s[^\W\d_]{{1,7}})?))\b{_GAP}{_ID}",
    re.IGNORECASE,
)
_CUE_WORDS: dict[str, str] = {"patient": "IPP", "sejour": "NDA", "venue": "NDA"}

# -- ZIP ------------------------------------------------------------------------------------
_ZIP = re.compile(r"(?<![\w.,])[0-9]{5}(?![\w]|[.,]\d)")
# The commune after a postal code: one word (hyphenated compounds included), or two when the
# first is an article or "Saint(e)" (``Le Havre``, ``Saint Malo``).
_CITY_AFTER = re.compile(
    rf"{_SP}{{1,3}}(?:-{_SP}{{0,2}})?"
    rf"((?:(?:Le|La|Les|Saint|Sainte|St|Ste){_SP})?[^\W\d_][\w'’\-]*)(/)?"
)
_ADDRESS_BEFORE = re.compile(
    r"\b(?:rue|avenue|av\.|bd|boulevard|chemin|place|all[ée]e|impasse|route|quai|cours|square"
    r"|r[ée]sidence|lieu-dit|BP|CS|CP|code\s+postal)\b[^\n]{0,80}\Z",
    re.IGNORECASE,
)
_NOT_CITIES = frozenset({"UI", "U", "G", "T", "UFC", "UA", "MUI", "KUI", "KG", "MG", "L"})

# -- DATE -----------------------------------------------------------------------------------
_BIRTH_CUE = re.compile(
    r"(?:\bn[ée]e?\s?(?:\(e\)\s?)?(?:le|en)|\bDDN|\bnaissance)\s{0,3}[:\-–]?\s{0,3}\Z",
    re.IGNORECASE,
)
_DATE_CUE = re.compile(r"\b(?:le|du|au|depuis|dès|jusqu'au|jusqu’au)\s{1,3}\Z", re.IGNORECASE)
_FULL_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d{2}(?!\d)")
_LETTERS = re.compile(r"[^\W\d_]{3,}")


def nir_key_is_valid(nir: str) -> bool:
    """Whether a NIR's last two digits are its key: ``97 - (13 first characters mod 97)``.

    Spaces are ignored; Corsica's departments ``2A`` and ``2B`` count as ``19`` and ``18``.

    >>> nir_key_is_valid("1 85 05 75 123 456 73")
    True
    >>> nir_key_is_valid("185057512345674")
    False
    >>> nir_key_is_valid("1 86 03 2A 903 823 47")
    True
    """
    compact = re.sub(r"\s", "", nir).upper()
    if len(compact) != 15:
        return False
    body, key = compact[:13], compact[13:]
    if body[5:7] in ("2A", "2B"):
        body = body[:5] + ("19" if body[5:7] == "2A" else "18") + body[7:]
    if not (body.isascii() and key.isascii() and body.isdigit() and key.isdigit()):
        return False
    return 97 - int(body) % 97 == int(key)


@dataclass(slots=True)
class _Candidate:
    start: int
    end: int
    label: str
    score: float
    origin: str


def _phones(text: str) -> Iterator[_Candidate]:
    for m in _PHONE.finditer(text):
        sep = m.group("s1") if m.group("nat") else m.group("s2")
        if sep:  # a spaced run that goes on (``06 12 34 56 78 90``) is not a phone
            before, after = text[max(0, m.start() - 2) : m.start()], text[m.end() : m.end() + 2]
            if (len(before) == 2 and before[0].isdigit() and before[1] == sep) or (
                len(after) == 2 and after[0] == sep and after[1].isdigit()
            ):
                continue
        score = 0.99 if sep or m.group("intl") else 0.9  # a bare 10-digit run is weaker
        yield _Candidate(m.start(), m.end(), "TEL", score, "rule:tel")


def _mails(text: str) -> Iterator[_Candidate]:
    for at in (m.start() for m in re.finditer("@", text)):
        local = _MAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _MAIL_DOMAIN.match(text, at + 1, min(len(text), at + 256))
        if local is None or domain is None:
            continue
        start = local.start()
        if start > 0 and _MAIL_CHAR.match(text, start - 1):
            continue  # a local part longer than 64 characters: not an address
        while start < at and text[start] in ".%+-":  # ``(.jean@x.fr`` starts at ``jean``
            start += 1
        if start == at:
            continue
        yield _Candidate(start, domain.end(), "MAIL", 0.99, "rule:mail")


def _nirs(text: str) -> Iterator[_Candidate]:
    for m in _NIR.finditer(text):
        if nir_key_is_valid(m.group(0)):
            yield _Candidate(m.start(), m.end(), "SECU", 0.99, "rule:secu")


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance with adjacent swaps counted once (short words only)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            cur.append(cost)
        prev2, prev = prev, cur
    return prev[-1]


def _cue_label(match: re.Match[str]) -> str | None:
    """``IPP``/``NDA`` from the cue of an identifier, tolerating one typo in its word."""
    if match.group("acronym"):
        return match.group("acronym").upper()
    word = unicodedata.normalize("NFKD", match.group("word")).encode("ascii", "ignore")
    folded = word.decode("ascii").lower().replace(" ", "")
    for cue, label in _CUE_WORDS.items():
        if folded == cue or (len(folded) >= 4 and _edit_distance(folded, cue) <= 1):
            return label
    return None


def _identifiers(text: str) -> Iterator[_Candidate]:
    for m in _ID_CUE.finditer(text):
        ident, label = m.group("id"), _cue_label(m)
        if label and len(ident) >= 4 and any(c.isdigit() for c in ident):
            yield _Candidate(m.start("id"), m.end("id"), label, 0.95, f"rule:{label.lower()}")


# A letter's place and date line: ``Lyon, le 12 mars 2024`` (the place is a commune).
_PLACE_DATE = re.compile(
    r"(?m)^[ \t]*((?:(?:Le|La|Les|Saint|Sainte|St|Ste)[ -])?[A-ZÀ-Ý][\w'’\-]*),[ \t]+le[ \t]+(?=\d)"
)


def _places(text: str) -> Iterator[_Candidate]:
    """The commune of a letter's place-and-date line (``Lyon, le 12/03/2024``)."""
    for m in _PLACE_DATE.finditer(text):
        yield _Candidate(m.start(1), m.end(1), "VILLE", 0.95, "rule:ville")


# An institution's name: its kind, then a capitalised proper name (``Centre Hospitalier de
# Vienne``, ``CHU de Rouen``, ``Hôpital Saint-Joseph``, ``Institut de cancérologie de Lyon``).
# ``l'hôpital de jour`` has no capital and no proper name: it is not matched.
_NAME = r"[A-ZÀ-Ý][\w'’\-]*(?:[ -][A-ZÀ-Ý][\w'’\-]*){0,2}"
_HOSPITAL = re.compile(
    r"(?<![\w])(?:(?:Centre|Groupe)[ ][Hh]ospitalier(?:[ ](?:[Uu]niversitaire|[Rr]égional"
    r"(?:[ ][Uu]niversitaire)?|[Ii]ntercommunal))?|CHU|CHRU|CHR|CH|Hôpital|Hopital|Clinique"
    r"|Polyclinique|Institut(?:[ ]de[ ]cancérologie)?)"
    rf"(?:[ ](?:de[ ]la|de[ ]l'|de|du|des|d'))?[ ]?{_NAME}"
)


def _hospitals(text: str) -> Iterator[_Candidate]:
    """Hospital names built the French way: kind + proper name."""
    for m in _HOSPITAL.finditer(text):
        yield _Candidate(m.start(), m.end(), "HOPITAL", 0.95, "rule:hopital")


def _zips(text: str) -> Iterator[_Candidate]:
    """Postal codes, and the commune written right after one (``75012 Paris``)."""
    for m in _ZIP.finditer(text):
        city = _CITY_AFTER.match(text, m.end(), m.end() + 60)
        word, slash = (city.group(1), city.group(2)) if city else ("", None)
        if city and word[:1].isupper() and word.upper() not in _NOT_CITIES and not slash:
            score = 0.95  # ``75012 Paris``: the commune follows its postal code
            yield _Candidate(city.start(1), city.end(1), "VILLE", 0.95, "rule:ville")
        elif _ADDRESS_BEFORE.search(text, max(0, m.start() - 120), m.start()):
            score = 0.7  # ``12 rue des Lilas, 75012`` with no city after it
        else:
            continue
        yield _Candidate(m.start(), m.end(), "ZIP", score, "rule:zip")


def _chunks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """Pieces of ``text`` of at most ``size`` characters, cut at line breaks where possible."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            if cut <= start:
                cut = max(text.rfind(" ", start, end), text.rfind("\t", start, end))
            if cut > start:
                end = cut + 1
        yield start, text[start:end]
        start = end


def _select(candidates: list[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates: by :data:`RULE_PRIORITY`, then longest, then first."""
    rank = {label: i for i, label in enumerate(RULE_PRIORITY)}
    ordered = sorted(candidates, key=lambda c: (rank[c.label], c.start - c.end, c.start))
    starts: list[int] = []
    kept: list[_Candidate] = []  # sorted by start, non-overlapping
    for cand in ordered:
        i = bisect.bisect_right(starts, cand.start)
        if i > 0 and kept[i - 1].end > cand.start:
            continue
        if i < len(kept) and kept[i].start < cand.end:
            continue
        starts.insert(i, cand.start)
        kept.insert(i, cand)
    return kept


class PhiRules:
    """Structured identifiers of French clinical text, as non-overlapping :class:`Span` s.

    Parameters
    ----------
    use_edsnlp_dates : bool
        Find ``DATE`` / ``DATE_NAISSANCE`` with edsnlp's ``eds.dates`` (the pipeline is built
        once, here). ``False`` skips dates, for speed or where another detector has them.
    chunk_size : int
        edsnlp sees the text in pieces of at most this many characters, cut at line breaks,
        so that memory stays bounded on very long documents.

    Examples
    --------
    >>> rules = PhiRules()
    >>> text = "Mme Durand, née le 12/03/1950, vue le 3 avril 2024. Tél : 01.23.45.67.89"
    >>> for span in rules(text):
    ...     print(span.label, span.text, span.origin, span.score)
    DATE_NAISSANCE 12/03/1950 rule:date 0.95
    DATE 3 avril 2024 rule:date 0.95
    TEL 01.23.45.67.89 rule:tel 0.99
    """

    labels: tuple[str, ...] = LABELS

    def __init__(self, *, use_edsnlp_dates: bool = True, chunk_size: int = 20_000) -> None:
        self.use_edsnlp_dates = use_edsnlp_dates
        self.chunk_size = chunk_size
        self._nlp: Any = None
        if use_edsnlp_dates:
            import edsnlp
            import edsnlp.pipes as eds

            self._nlp = edsnlp.blank("eds")
            # Times are not identifying on their own: the span stops at the date.
            self._nlp.add_pipe(eds.dates(detect_time=False))

    def __call__(self, text: str) -> list[Span]:
        """Spans of ``text``, sorted by start; ``span.text == text[span.start:span.end]``."""
        if not text or text.isspace():
            return []
        candidates: list[_Candidate] = [
            *_identifiers(text),
            *_nirs(text),
            *_mails(text),
            *_phones(text),
            *_zips(text),
            *_places(text),
            *_hospitals(text),
        ]
        if self._nlp is not None:
            candidates.extend(self._dates(text))
        return [
            Span(c.start, c.end, c.label, text[c.start : c.end], c.score, c.origin)
            for c in _select(candidates)
        ]

    def _dates(self, text: str) -> Iterator[_Candidate]:
        """Absolute dates from ``eds.dates``, labelled by the birth cue just before them."""
        for offset, chunk in _chunks(text, self.chunk_size):
            # ``İ`` is the one character whose lower case is two characters long; edsnlp
            # matches on lower-cased text, so it would shift every match after it.
            doc = self._nlp(chunk.replace("\u0130", "I"))
            if len(doc.text) != len(chunk):  # the tokenizer keeps lengths; never guess
                continue
            for span in doc.spans.get("dates", []):
                start, end = offset + span.start_char, offset + span.end_char
                score = _date_score(span._.date, text[start:end])
                if score is None:
                    continue
                if score < 0.9 and not _DATE_CUE.search(text, max(0, start - 20), start):
                    continue  # ``EVA 10/10``, ``TA 12/08``: a day and month need ``le``/``du``
                if _BIRTH_CUE.search(text, max(0, start - 40), start):
                    yield _Candidate(start, end, "DATE_NAISSANCE", 0.95, "rule:date")
                else:
                    yield _Candidate(start, end, "DATE", score, "rule:date")


def _date_score(date: Any, written: str) -> float | None:
    """Score of an ``eds.dates`` match, or ``None`` when it is not a date that identifies.

    Kept: day + month + year (``12.03.24``), month + year written in full (``mars 2024``,
    ``03/2024``), day + month (``12 mars``, ``le 12/03``). Dropped: relative dates and
    durations (``dans 3 mois``, ``pendant 7 jours``), a lone month or year.
    """
    if date is None or getattr(date, "mode", None) is None or date.mode.value != "absolute":
        return None
    day, month, year = date.day, date.month, date.year
    if month is None:
        return None
    if day is not None and year is not None:
        return 0.95
    if year is not None:
        return 0.9 if _FULL_YEAR.search(written) else None
    if day is not None:
        return 0.9 if _LETTERS.search(written) else 0.8
    return None
