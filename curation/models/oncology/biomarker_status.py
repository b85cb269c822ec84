"""Biomarker names and the status of a biomarker result, as French pathology reports write them.

:func:`canonical_marker` maps a mention ("récepteurs aux œstrogènes", "Ki-67", "dMMR") to one
canonical name; :func:`result_status` reads a result ("score 2+, ISH non amplifié", "TPS à
80 %", "absence de variant pathogène") as positive, negative, equivocal or not_assessed with
the usual clinical cut-offs (ASCO/CAP for HER2 and hormone receptors, TPS/CPS >= 1 for PD-L1).

Written here, with compiled regular expressions, because no library does it: edsnlp 0.23 has
no biomarker component (``eds.tnm`` and ``eds.elston_ellis`` stop at staging and grade), and
its ``eds.quantities`` reads numbers, not what a "2+" means for HER2. Matching runs on an
accent-free, same-length copy of the text (:func:`fold`), so offsets stay exact and OCR's
lost accents ("recepteurs", "negatif") still match.

Examples
--------
>>> canonical_marker("récepteurs aux œstrogènes"), canonical_marker("Ki-67")
('ER', 'KI67')
>>> result_status("HER2", "score 2+, ISH non amplifié")
'negative'
>>> result_status("PD-L1", "TPS à 80 %")
'positive'
"""

from __future__ import annotations

import re
import unicodedata

#: ASCO/CAP 2020: ER/PR are positive from 1 % of stained tumour nuclei ("low positive" 1-10 %).
HORMONE_RECEPTOR_THRESHOLD = 1.0
#: Ki67 at or above 20 % reads as high proliferation (positive), below as low (negative): the
#: St Gallen 2013 cut-off, and the one the synthetic answer keys use.
KI67_HIGH_THRESHOLD = 20.0
#: PD-L1 tumour proportion score (TPS) and combined positive score (CPS) are positive from 1.
PDL1_THRESHOLD = 1.0

STATUSES = ("positive", "negative", "equivocal", "not_assessed")

# -- folding --------------------------------------------------------------------------------

_SPACES = {"\u00a0", "\u202f", "\u2007", "\t"}
_QUOTES = {"\u2019", "\u2018", "\u02bc", "`", "\u00b4"}


class _FoldTable(dict[int, str]):
    """``str.translate`` table built on demand: one character in, one character out."""

    def __init__(self, lower: bool) -> None:
        super().__init__()
        self.lower = lower

    def __missing__(self, code: int) -> str:
        char = chr(code)
        out = char
        if char in _SPACES:
            out = " "
        elif char in _QUOTES:
            out = "'"
        else:
            decomposed = unicodedata.normalize("NFD", char)
            if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]):
                out = decomposed[0]
        if self.lower and len(out.lower()) == 1:
            out = out.lower()
        self[code] = out
        return out


_FOLD = _FoldTable(lower=False)
_FOLD_LOWER = _FoldTable(lower=True)


def fold(text: str, *, lower: bool = False) -> str:
    """Copy of ``text`` without accents (and lowercased if asked), of the same length.

    >>> fold("Récepteurs à la progestérone", lower=True)
    'recepteurs a la progesterone'
    """
    return text.translate(_FOLD_LOWER if lower else _FOLD)


# -- marker names ---------------------------------------------------------------------------

_FUSION_GENES = r"(?:ALK|ROS1|RET|NTRK[1-3]?)"
_MMR_PROTEIN = r"(?:MLH1|PMS2|MSH2|MSH6)"

#: (pattern on folded text, canonical name, kind). Kind ``name`` is a marker's name and ends
#: the result of the marker before it; ``short`` is a name that is also a common abbreviation
#: (kept only with a result, a condition or a coordinated marker); ``value`` names a marker by
#: its value ("dMMR", "EML4-ALK", "HER2-low") and may sit inside another marker's result.
#: "RH" and "récepteurs hormonaux" (ER and PR together) count as ER, the receptor that decides
#: hormone therapy; MMR proteins (MLH1, PMS2, MSH2, MSH6) count as MSI.
MARKERS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), name, kind)
    for pattern, name, kind in (
        (r"(?i:\bher[- ]?2[- ](?:ultra[- ]?)?(?:low|zero|faible)\b)", "HER2", "value"),
        (r"(?i:\bher[- ]?2(?:/neu)?\b(?!\s*/\s*cep)|\bc-?erb-?b-?2\b|\berbb2\b)", "HER2", "name"),
        (
            r"(?i:\brecepteurs?\s+(?:hormonaux\s+)?(?:aux\s+|a\s+l'\s*|des\s+|d'\s*)?"
            r"(?:œ|oe|e)strog\w*)",
            "ER",
            "name",
        ),
        (
            r"(?i:\brecepteurs?\s+(?:hormonaux\s+)?(?:a\s+la\s+|de\s+la\s+|a\s+|de\s+|aux\s+)?"
            r"progest\w*)",
            "PR",
            "name",
        ),
        (r"(?i:\brecepteurs?\s+hormonaux\b)", "ER", "name"),
        (r"\b(?:RE|RO|ER|RH)\b", "ER", "short"),
        (r"\b(?:RP|PR|RPg)\b", "PR", "short"),
        (r"(?i:\bki[- ]?67\b|\bmib[- ]?1\b)", "KI67", "name"),
        (r"(?i:\begfr\b)", "EGFR", "name"),
        (r"(?i:\bkras\b)", "KRAS", "name"),
        (r"(?i:\bnras\b)", "NRAS", "name"),
        (r"(?i:\bbraf\b)", "BRAF", "name"),
        (rf"\b[A-Z0-9]{{2,8}}-{_FUSION_GENES}\b|\b{_FUSION_GENES}-[A-Z0-9]{{2,8}}\b", "", "value"),
        (r"\bALK\b", "ALK", "name"),
        (r"(?i:\bros-?1\b)", "ROS1", "name"),
        (r"\bRET\b", "RET", "short"),
        (r"(?i:\bntrk[- ]?(?:[1-3](?:\s*/\s*[1-3])*)?\b)", "NTRK", "name"),
        (r"(?i:\bpd[- ]?l[- ]?1\b)", "PDL1", "name"),
        (r"\b(?:[dp]MMR|MSS|MSI-(?:H|L|high|low|haut|bas))\b", "MSI", "value"),
        (r"(?i:\binstabilite\s+microsatellitaire\b)", "MSI", "value"),
        (r"\bMSI\b(?!-)|\bMMR\b|(?i:\bstatut\s+microsatellitaire\b)", "MSI", "name"),
        (rf"\b{_MMR_PROTEIN}(?:\s*(?:,|/|et)\s*{_MMR_PROTEIN})*\b", "MSI", "name"),
        (r"(?i:\bbrca(?:\s?[12](?:\s*/\s*(?:brca\s?)?[12])?)?\b)", "BRCA", "name"),
    )
)


def mention_name(name: str, folded: str) -> str:
    """Canonical name of a mention that ``MARKERS`` matched under ``name`` (which gene of
    "BRCA1/2" or of a fusion "EML4-ALK")."""
    if name == "BRCA":
        digits = set(re.findall(r"[12]", folded))
        return f"BRCA{digits.pop()}" if len(digits) == 1 else "BRCA"
    if not name:  # a fusion "EML4-ALK": the targetable gene
        gene = re.search(_FUSION_GENES, folded)
        name = gene.group() if gene else ""
        return "NTRK" if name.startswith("NTRK") else name
    return name


def canonical_marker(mention: str) -> str | None:
    """Canonical name of a marker mention, or None when it is not a known biomarker.

    >>> [canonical_marker(m) for m in ("RE", "PD-L1", "dMMR", "BRCA1/2", "EML4-ALK", "HTA")]
    ['ER', 'PDL1', 'MSI', 'BRCA', 'ALK', None]
    """
    folded = fold(mention.strip())
    for pattern, name, _kind in MARKERS:
        if pattern.fullmatch(folded):
            return mention_name(name, folded)
    return None


# -- result status --------------------------------------------------------------------------

_NOT_ASSESSED = re.compile(
    r"\bnon[- ](?:evaluable|interpretable|contributi\w*|realise\w*|faite?s?|analysable"
    r"|determine\w*|disponible|techniqu\w*)|\bininterpretable|\binexploitable|\binsuffisan\w*"
    r"|\ben\s+cours\b|\ben\s+attente\b|\ba\s+venir\b|\bechec\b|\bpas\s+de\s+resultat"
)
_PENDING = re.compile(r"\ben\s+cours\b|\ben\s+attente\b|\ba\s+venir\b|\bnon\s+realise\w*")
_EQUIVOCAL = re.compile(
    r"\bequivoque|\bambigu\w*|\bdouteu\w*|\bindetermine\w*|\bborderline|\bvsi\b|\bvus\b"
    r"|\bsignification\s+(?:inconnue|indeterminee|incertaine)|\bclasse\s*3\b"
)
_NEGATIVE = re.compile(
    r"\b(?:absence|pas|aucun\w*|sans|ni)\s+(?:de\s+|d'\s*)?(?:\w+\s+)?"
    r"(?:mutation|variant|rearrangement|fusion|amplification|alteration|anomalie|surexpression"
    r"|instabilite|expression|perte|translocation|deletion|marquage)"
    r"|\bnon[- ](?:mute|rearrange|amplifie|surexprime|detecte|exprime|retrouve|identifie"
    r"|observe)\w*|\bsauvage|\bwild[- ]?type\b|\bwt\b|\bnegati\w*|\bneg\b|\bclasse\s*[12]\b"
    r"|\bbenin\w*|\bpolymorphisme"
)
_POSITIVE = re.compile(
    r"\bpositi\w*|\bmute\w*|\bmutation|\bvariant|\brearrange\w*|\bfusion|\btranslocation"
    r"|\bamplifi\w*|\bsurexpr\w*|\bdeletion|\binsertion|\b[a-z]\d{1,4}(?:[a-z]|del|fs)\b"
    r"|\bexon\s*\d+|\bp\.[a-z]|\bdetecte\w*|\bpresen\w*|\bdeletere|\bpathogene|\bclasse\s*[45]\b"
    r"|\bexprim\w*|\+"
)
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_COMPARATOR = r"(<=?|>=?|≤|≥|inferieure?\s+a|superieure?\s+a|moins\s+de|plus\s+de)?\s*"
_PERCENT = re.compile(_COMPARATOR + _NUMBER + r"(?:\s*(?:-|a|et)\s*" + _NUMBER + r")?\s*%")
_HER2_SCORE = re.compile(
    r"\bscore\s*(?:de\s*|:\s*|=\s*)?([0-3])(?!\d|[,.]\d)|(?<![\w+])([0-3])\s*(?:\+|croix\b)"
)
_ISH = re.compile(r"\b(?:[fscd]{0,2}ish|hybridation|amplification|amplifie\w*)")
_HER2_RATIO = re.compile(
    r"\bratio(?:\s+her-?2\s*/\s*cep\s*17)?\s*(?:[:=]|de|a|est|a\s+)?\s*(\d+(?:[.,]\d+)?)"
)
_ISH_NEGATIVE = re.compile(r"\bnon[- ]amplifi\w*|\b(?:absence|pas|sans)\s+d'\s*amplification")
_PDL1_SCORE = re.compile(
    r"\b(tps|cps|tc|score\s+(?:de\s+proportion\s+tumorale|combine))\s*"
    r"(?:[:=]|a|de|est|estime\s+a)?\s*" + _COMPARATOR + _NUMBER
)
_ALLRED = re.compile(r"\ballred\D{0,12}(\d)")
_MSI_NEGATIVE = re.compile(
    r"\b(?:absence|pas|sans)\s+(?:d'\s*)?(?:instabilite|perte)|\bmss\b|\bpmmr\b|\bstables?\b"
    r"|\bmsi[- ]?l(?:ow)?\b|\bconserve\w*|\bproficien\w*|\bnegati\w*"
)
_MSI_POSITIVE = re.compile(
    r"\bdmmr\b|\bmsi\b|\binstab\w*|\bperte\b|\bdeficien\w*|\bpositi\w*|\bhaut\s+niveau"
)
_HIGH = re.compile(r"\beleve\w*|\bfort\w*|\bhaute?\b|\bimportant\w*|\bpositi\w*")
_LOW = re.compile(r"\bfaible\w*|\bbas(?:se)?\b|\bnegati\w*")


def _number(value: str) -> float:
    return float(value.replace(",", "."))


def _percent_status(text: str, threshold: float) -> str | None:
    """Status of the first percentage: ``>= threshold`` positive; a range reads as its mean."""
    match = _PERCENT.search(text)
    if match is None:
        return None
    comparator, low, high = match.group(1) or "", match.group(2), match.group(3)
    value = (_number(low) + _number(high)) / 2 if high else _number(low)
    return _compare(comparator, value, threshold)


def _compare(comparator: str, value: float, threshold: float) -> str:
    """``"<"``, "inférieur à", "moins de" make ``value`` an upper bound, ``">"`` a lower one."""
    if comparator[:1] in ("<", "≤", "i", "m"):
        strict = comparator[:1] != "≤" and comparator != "<="
        below = value <= threshold if strict else value < threshold
        return "negative" if below else "equivocal"
    if comparator:
        return "positive" if value >= threshold else "equivocal"
    return "positive" if value >= threshold else "negative"


def _generic(text: str) -> str:
    if re.fullmatch(r"\s*-{1,3}\s*", text):  # "HER2-", "RH-"
        return "negative"
    if _PENDING.search(text) and re.search(r"\b(?:positi|negati)", text):
        return "equivocal"  # "positif, FISH de confirmation en cours": given, not settled
    for pattern, status in (
        (_NOT_ASSESSED, "not_assessed"),
        (_EQUIVOCAL, "equivocal"),
        (_NEGATIVE, "negative"),
        (_POSITIVE, "positive"),
    ):
        if pattern.search(text):
            return status
    return "equivocal"  # a result that the rules cannot read is left to the annotator


def _her2(text: str) -> str:
    """ASCO/CAP 2018: 3+ positive; 0 and 1+ negative; 2+ decided by in situ hybridisation."""
    amplified: bool | None = None
    ratio = _HER2_RATIO.search(text)
    if _ISH_NEGATIVE.search(text):
        amplified = False
    elif _ISH.search(text) and re.search(r"\bamplifi", text) and not _PENDING.search(text):
        amplified = True
    elif ratio:  # HER2/CEP17 ratio >= 2.0: amplified (ASCO/CAP group 1)
        amplified = _number(ratio.group(1)) >= 2.0
    score = _HER2_SCORE.search(text)
    value = int(score.group(1) or score.group(2)) if score else None
    if value == 3:
        return "positive"
    if value in (0, 1):
        return "negative"
    if value == 2:
        return "equivocal" if amplified is None else "positive" if amplified else "negative"
    if amplified is not None:
        return "positive" if amplified else "negative"
    if re.search(r"\b(?:ultra[- ]?)?(?:low|zero)\b", text):
        return "negative"
    return _generic(text)


def _hormone(text: str, threshold: float) -> str:
    if _NOT_ASSESSED.search(text):
        return "not_assessed"
    if _NEGATIVE.search(text):
        return "negative"
    if re.search(r"\bpositi\w*|\bexprim\w*", text):
        return "positive"
    by_percent = _percent_status(text, threshold)
    if by_percent is not None:
        return by_percent
    allred = _ALLRED.search(text)
    if allred:
        return "positive" if int(allred.group(1)) >= 3 else "negative"
    return _generic(text)


def _ki67(text: str) -> str:
    if _NOT_ASSESSED.search(text):
        return "not_assessed"
    by_percent = _percent_status(text, KI67_HIGH_THRESHOLD)
    if by_percent is not None:
        return by_percent
    if _LOW.search(text):
        return "negative"
    return "positive" if _HIGH.search(text) else _generic(text)


def _pdl1(text: str) -> str:
    if _NOT_ASSESSED.search(text):
        return "not_assessed"
    scores = [
        _compare(m.group(2) or "", _number(m.group(3)), PDL1_THRESHOLD)
        for m in _PDL1_SCORE.finditer(text)
    ]
    if not scores:
        by_percent = _percent_status(text, PDL1_THRESHOLD)
        scores = [by_percent] if by_percent else []
    if scores:
        return "positive" if "positive" in scores else scores[0]
    return _generic(text)


def _msi(text: str) -> str:
    if _NOT_ASSESSED.search(text):
        return "not_assessed"
    if _MSI_NEGATIVE.search(text):
        return "negative"
    return "positive" if _MSI_POSITIVE.search(text) else _generic(text)


def result_status(marker: str, result: str) -> str:
    """Status of ``result`` for ``marker`` (a canonical name or a mention): one of
    positive, negative, equivocal, not_assessed.

    >>> result_status("RE", "positifs à 5 %"), result_status("Ki67", "à 10 %")
    ('positive', 'negative')
    >>> result_status("HER2", "score 2+, ISH en cours"), result_status("KRAS", "sauvage")
    ('equivocal', 'negative')
    >>> result_status("BRCA2", "variant de signification inconnue")
    'equivocal'
    """
    name = marker if marker in _CANONICAL else canonical_marker(marker) or marker.upper()
    text = fold(result, lower=True)
    if name == "HER2":
        return _her2(text)
    if name in ("ER", "PR"):
        return _hormone(text, HORMONE_RECEPTOR_THRESHOLD)
    if name == "KI67":
        return _ki67(text)
    if name == "PDL1":
        return _pdl1(text)
    if name == "MSI":
        return _msi(text)
    return _generic(text)


_CANONICAL = frozenset(
    {"HER2", "ER", "PR", "KI67", "EGFR", "KRAS", "NRAS", "BRAF", "ALK", "ROS1", "RET", "NTRK"}
    | {"PDL1", "MSI", "BRCA1", "BRCA2", "BRCA"}
)
