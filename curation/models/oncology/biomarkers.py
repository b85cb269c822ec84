"""Biomarker rules of the oncology pre-annotator: marker names, their results, the
has_result link and the result's status, in French pathology reports and RCP forms.

``- HER2 : score 2+, ISH non amplifié.`` gives a BIOMARKER "HER2", a BIOMARKER_RESULT
"score 2+, ISH non amplifié" (status negative) and the link between them; "Absence de
mutation de KRAS" gives the result before its marker; "En cas de positivité de HER2" gives
a hypothetical BIOMARKER and no result. Statuses come from
:mod:`curation.models.oncology.biomarker_status`.

Written here, with compiled regular expressions, because no library does it: edsnlp 0.23 has
no biomarker component and its ``eds.contextual_matcher`` cannot say where a free-text result
("mutation de l'exon 19 (délétion)") ends or find a result written before its marker.
A result runs from the marker (after the separator) through a chain of result words (scores,
percentages, "muté", "sauvage", "non évaluable"...), within the sentence and before the next
marker; every pattern is bounded, so long texts stay linear.

Examples
--------
>>> [(f.name, f.result.text if f.result else None, f.status)
...  for f in find_biomarkers("RE positifs à 90 %, HER2 : score 3+.")]
[('ER', 'positifs à 90 %', 'positive'), ('HER2', 'score 3+', 'positive')]
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from curation.models.oncology.biomarker_status import (
    MARKERS,
    canonical_marker,
    fold,
    mention_name,
    result_status,
)
from curation.schema import Span

__all__ = [
    "BiomarkerFinding",
    "canonical_marker",
    "find_biomarkers",
    "link_results",
    "result_status",
]

ORIGIN = "rules:biomarkers"


@dataclass(frozen=True, slots=True)
class BiomarkerFinding:
    """A marker, its result (if any) and the result's status; ``name`` is canonical."""

    marker: Span
    result: Span | None
    status: str | None
    name: str
    hypothetical: bool


# -- vocabulary (on the folded, lowercased text) --------------------------------------------

_NUM = r"\d+(?:[.,]\d+)?"
_CMP = r"(?:<=?|>=?|≤|≥)?\s*"
_STATUS_CUE = (
    r"\bscore\s*(?:de\s*|:\s*|=\s*)?[0-3](?:\s*\+{1,3})?(?!\d|[,.]\d)|(?<![\w+])[0-3]\s*\+{1,3}"
    rf"|\b(?:tps|cps)\s*(?:[:=]|a|de|est|estime\s+a)?\s*{_CMP}{_NUM}(?:\s*%)?"
    rf"|{_CMP}{_NUM}(?:\s*(?:-|a|et)\s*{_NUM})?\s*%|\ballred\D{{0,12}}\d"
    rf"|\bratio(?:\s+her-?2\s*/\s*cep\s*17)?\s*(?:[:=]|de|a)?\s*{_NUM}"
    r"|\b(?:positi|negati|equivoque|ambigu|douteu|indetermine|faible|fort|intense)\w*"
    r"|\b(?:moderee?s?|elevee?s?|haute?s?|basse?|low|zero|ultra[- ]?low|neg|pos)\b"
    r"|\b(?:mute|mutation|sauvage|variant|deletion|insertion|duplication)\w*|\bwild[- ]?type"
    r"|\bwt\b|\bexon\s*\d+|\b[a-z]\d{1,4}(?:[a-z]|del|fs)\b|\bp\.\s?[a-z]+\d+\w*|\bc\.\d+\S*"
    r"|\b(?:amplifi|surexpr|exprim|conserve|rearrange|fusion|translocation)\w*"
    r"|\bexpression\b|\bperte\b|\bmarquage\b"
    r"|\b[a-z0-9]{2,8}-(?:alk|ros1|ret|ntrk[1-3]?)\b|\b(?:alk|ros1|ret|ntrk[1-3]?)-[a-z0-9]{2,8}\b"
    r"|\b(?:mss|[dp]mmr|msi[- ]?(?:h|l|high|low))\b|\b(?:instab|stable|deficien|proficien)\w*"
    r"|\bmicrosatellitaire"
    r"|\bnon[- ](?:evaluable|interpretable|contributi|realise|fait|analysable|determine"
    r"|disponible|mute|rearrange|amplifie|surexprime|detecte|exprime|retrouve|identifie)\w*"
    r"|\b(?:ininterpretable|inexploitable|insuffisan\w*|echec)\b"
    r"|\ben\s+(?:cours|attente)\b|\ba\s+venir\b"
    r"|\b(?:pathogene|deletere|germinal|somatique|constitutionnel|heterozygote|homozygote)\w*"
    r"|\bsignification\s+(?:inconnue|indeterminee|incertaine)|\b(?:vsi|vus)\b|\bclasse\s*[1-5]"
    r"|\b(?:detecte|presen|absen|aucun)\w*|\bpas\s+d[e']"
)
_TECH_CUE = r"\b(?:[fscd]{0,2}ish|ihc|ngs|pcr|immunohistochimie|hybridation)\b|\(\w{2,8}\)"
_CUE = re.compile(f"(?P<status>{_STATUS_CUE})|{_TECH_CUE}")
_STATUS = re.compile(_STATUS_CUE)
_TECH_GAP = re.compile(r"\s*(?:en\s+|par\s+)?\(?")
_LEAD = re.compile(
    r"(?:[\s:=(\-–]+|(?:est|sont|etaient|etait|apparait|apparaissent|revient|reviennent"
    r"|se\s+revelent?|s'averent?|estimee?s?|evaluee?s?|mesuree?s?|retrouvee?s?|detectee?s?"
    r"|identifiee?s?|observee?s?|mise?s?\s+en\s+evidence)\b)*"
)
_STOP = re.compile(
    r",?\s+(?:justifiant|permettant|motivant|conduisant|compatible|en\s+faveur|indiquant|d'ou"
    r"|donc|ce\s+qui|cf\b|chez\b|dans\s+le\s+cadre|lors\b|au\s+niveau|selon\b"
    r"|sur\s+(?:le|la|les|l'|un|une)\b)"
)
_TRAILING_GROUP = re.compile(r"\s*\([^()\n]{1,40}\)")
_ALIAS = re.compile(r"\s*\((?:clone\s+)?[\w\- /]{1,20}\)")
_SIGN = re.compile(r"[+-]{1,3}(?![\w+-])")
_MOD = (
    r"(?:pathogenes?|deleteres?|activatrices?|somatiques?|germinales?|constitutionnelles?"
    r"|ponctuelles?|oncogeniques?|(?:de\s+|dans\s+)?l'\s*exon\s*\d+|exon\s*\d+"
    r"|[a-z]\d{1,4}(?:[a-z]|del|fs)|p\.\s?\S+|c\.\S+|\([^()\n]{1,30}\)"
    r"|de\s+signification\s+(?:inconnue|indeterminee)|de\s+classe\s*\d"
    r"|detectee?s?|identifiee?s?|retrouvee?s?|heterozygotes?|homozygotes?)"
)
_REVERSED = re.compile(
    r"(?P<res>(?:(?:absence|pas|aucune?|sans|ni)\s+(?:de\s+|d'\s*)"
    r"|presence\s+(?:de\s+|d'\s*)(?:une?\s+)?)?"
    r"(?:mutations?|variants?|fusions?|rearrangements?|amplifications?"
    r"|surexpressions?|perte\s+d'\s*expression|expression\s+conservee|deletions?|insertions?"
    rf"|alterations?|translocations?)(?:\s+{_MOD})*)"
    r"(?:\s+(?:de\s+l'\s*|du\s+gene\s+|du\s+|de\s+|d'\s*|des\s+genes?\s+|dans\s+le\s+gene\s+"
    r"|sur\s+le\s+gene\s+)|\s+)\Z"
)
_NOT_A_RESULT = re.compile(
    r"\b(?:recherche|analyse|etude|test|sequencage|statut|determination|evaluation|demande"
    r"|depistage|panel|screening|positivite)\s+(?:de\s+|d'\s*|des\s+)?(?:la\s+|une?\s+|l'\s*)?\Z"
)
_HYP_BEFORE = re.compile(
    r"\b(?:en\s+cas\s+(?:de\b|d')|si\b|s'ils?\b|sous\s+reserve\s+(?:de\b|d')|eventuel\w*"
    r"|dans\s+l'hypothese)"
)
_HYP_FUTURE = re.compile(
    r"\b(?:sera|seront|serait|seraient|pourra|pourront|pourrait|devra|devront"
    r"|a\s+(?:demander|realiser|prevoir|rechercher|discuter|faire|completer|programmer)"
    r"|demandee?s?|prevue?s?|proposee?s?|envisagee?s?|programmee?s?)\b"
)
_NOT_A_MARKER = re.compile(
    r"\banti[- ]?\Z|\b(?:itk|tki|inhibiteurs?(?:\s+de(?:\s+la)?\s+tyrosine\s+kinase)?)"
    r"\s+(?:de\s+l'\s*|d'\s*|du\s+|de\s+)?\Z"
)
_WORD_AFTER = re.compile(r"-[^\W\d_]")  # "RE-hospitalisation"
_COORDINATION = re.compile(r"\s*(?:,|et|/|ou)\s*")
_TIGHT_AFTER = re.compile(r"[\s:=(\-–]*")
_TIGHT_BEFORE = re.compile(r"\s*(?:(?:de\s+l'|du|de|d'|des)\s*)?")
_LINK_BEFORE = re.compile(r"\s+(?:de\s+l'|du|des|de|d')(?:\s*genes?)?\s*\Z")
_BOUNDARY = re.compile(r"\n|;|\.(?=\s|\Z)")
_MAX_LEAD = {"short": 12, "name": 40, "value": 40}
_MAX_GAP = 25
_WINDOW = 300  # how far around a marker its result and context are looked for


@dataclass(slots=True)
class _Mention:
    start: int
    end: int
    name: str
    kind: str  # name | short | value (see biomarker_status.MARKERS)


class _Sentences:
    """Sentence and line bounds: a line break, a semicolon or a final period ends one."""

    def __init__(self, folded: str) -> None:
        self.ends = [m.start() for m in _BOUNDARY.finditer(folded)]
        self.length = len(folded)

    def bounds(self, pos: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.ends, pos - 1)
        start = self.ends[i - 1] + 1 if i else 0
        end = self.ends[i] if i < len(self.ends) else self.length
        return start, end


def _mentions(cased: str, lower: str) -> list[_Mention]:
    """Marker mentions, longest first where they overlap, without "anti-HER2"-like ones."""
    found = [
        _Mention(m.start(), m.end(), mention_name(name, m.group()), kind)
        for pattern, name, kind in MARKERS
        for m in pattern.finditer(cased)
    ]
    found.sort(key=lambda m: (m.start, m.start - m.end))
    out: list[_Mention] = []
    for m in found:
        if out and m.start < out[-1].end:
            if m.end - m.start <= out[-1].end - out[-1].start:
                continue
            out.pop()
        out.append(m)
    return [
        m
        for m in out
        if not _NOT_A_MARKER.search(lower, max(0, m.start - 60), m.start)
        and not (m.kind == "short" and _WORD_AFTER.match(cased, m.end))
    ]


def _forward(lower: str, start: int, limit: int, kind: str) -> tuple[int, int] | None:
    """The result written after a marker that ends at ``start``, before ``limit``."""
    sign = _SIGN.match(lower, start)
    if sign and sign.end() <= limit:
        return start, sign.end()
    alias = _ALIAS.match(lower, start)
    if alias and alias.end() <= limit and not _STATUS.search(alias.group()):
        start = alias.end()
    stop = _STOP.search(lower, start, limit)
    limit = stop.start() if stop else limit
    lead = _LEAD.match(lower, start, limit)
    pos = lead.end() if lead else start
    last = end = -1  # end of the last cue; end of the result (a status word, its technique)
    for cue in _CUE.finditer(lower, pos, limit):
        gap = cue.start() - (pos if last < 0 else last)
        if gap > (_MAX_LEAD[kind] if last < 0 else _MAX_GAP):
            break
        last = cue.end()
        if cue.group("status") or (end >= 0 and _TECH_GAP.fullmatch(lower, end, cue.start())):
            end = cue.end()  # "positif en IHC (D5F3)", never a technique alone
    if end < 0:
        return None
    return pos, _close_parens(lower, pos, end, limit)


def _close_parens(lower: str, start: int, end: int, limit: int) -> int:
    """Take in the ")" of an open "(" and a short trailing "(D5F3)"-like group."""
    if lower.count("(", start, end) > lower.count(")", start, end):
        close = lower.find(")", end, limit)
        if close >= 0 and close - end <= 30:
            return close + 1
        return end
    group = _TRAILING_GROUP.match(lower, end, limit)
    return group.end() if group else end


def _family(name: str) -> str:
    return "BRCA" if name.startswith("BRCA") else name


def _forward_result(
    lower: str,
    i: int,
    mentions: Sequence[_Mention],
    reversed_at: Sequence[tuple[int, int] | None],
    limit: int,
) -> tuple[int, int] | None:
    """The forward result of ``mentions[i]``, ended by the next marker or by a result written
    before it. The gene that a result names ("BRCA1/2 : mutation pathogène de BRCA2", "MSI :
    perte d'expression de MLH1 et PMS2") belongs to the result.
    """
    m = mentions[i]
    named, limit_after = None, limit
    for j in range(i + 1, len(mentions)):
        nxt, rev = mentions[j], reversed_at[j]
        if nxt.start >= limit:
            break
        if nxt.kind == "value":  # "fusion EML4-ALK" may sit inside a result
            continue
        link = _LINK_BEFORE.search(lower, max(m.end, nxt.start - 16), nxt.start)
        if link and _family(nxt.name) == _family(m.name):
            named, limit = nxt, link.start()
        else:
            limit = min(limit, max(rev[0], m.end) if rev else nxt.start)
        break
    result = _forward(lower, m.end, limit, m.kind)
    if result and named and _LINK_BEFORE.fullmatch(lower, result[1], named.start):
        return result[0], _close_parens(lower, result[0], named.end, limit_after)
    return result


def _reversed(lower: str, sentence_start: int, marker_start: int) -> tuple[int, int] | None:
    """A result written before its marker: "Absence de mutation" de KRAS."""
    window = max(sentence_start, marker_start - 160)
    match = _REVERSED.search(lower, window, marker_start)
    if match is None or _NOT_A_RESULT.search(lower, window, match.start()):
        return None
    return match.start("res"), match.end("res")


class _Taken:
    """Spans already given out (markers and results), which never overlap each other."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.spans, (start, start))
        return (i > 0 and self.spans[i - 1][1] > start) or (
            i < len(self.spans) and self.spans[i][0] < end
        )

    def add(self, start: int, end: int) -> None:
        bisect.insort(self.spans, (start, end))


@dataclass(slots=True)
class _Row:
    mention: _Mention
    result: tuple[int, int] | None
    conditional: bool  # "en cas de", "si": hypothetical, and its result is not read
    future: bool = False  # "sera proposée", "à demander", and no result: hypothetical


def find_biomarkers(text: str) -> list[BiomarkerFinding]:
    """Biomarkers of ``text`` with their result and status, sorted by marker start.

    >>> [(f.marker.text, f.result.text, f.status)
    ...  for f in find_biomarkers("Absence de mutation de KRAS. EGFR : mutation L858R.")]
    [('KRAS', 'Absence de mutation', 'negative'), ('EGFR', 'mutation L858R', 'positive')]
    >>> [(f.name, f.result, f.hypothetical) for f in find_biomarkers(
    ...     "En cas de positivité de HER2, un traitement par trastuzumab sera discuté.")]
    [('HER2', None, True)]
    """
    lower, cased = fold(text, lower=True), fold(text)
    sentences = _Sentences(lower)
    mentions = _mentions(cased, lower)
    reversed_at = [_reversed(lower, sentences.bounds(m.start)[0], m.start) for m in mentions]
    taken = _Taken()
    rows: list[_Row] = []
    for i, m in enumerate(mentions):
        if taken.overlaps(m.start, m.end):
            continue
        start, end = sentences.bounds(m.start)
        start, end = max(start, m.start - _WINDOW), min(end, m.end + _WINDOW)
        previous = rows[-1] if rows and rows[-1].mention.end > start else None
        coordinated = previous is not None and bool(
            _COORDINATION.fullmatch(lower, previous.mention.end, m.start)
        )
        before = max(start, previous.mention.end if previous else 0, m.start - 80)
        row = _Row(m, None, bool(_HYP_BEFORE.search(lower, before, m.start)))
        row.conditional = row.conditional or (coordinated and rows[-1].conditional)
        if not row.conditional:
            result = _forward_result(lower, i, mentions, reversed_at, end) or reversed_at[i]
            if (
                result is not None
                and not taken.overlaps(*result)
                and (result[1] <= m.start or result[0] >= m.end)
            ):
                row.result = result
                taken.add(*result)
            elif _HYP_FUTURE.search(lower, start, end):
                row.future = True
        taken.add(m.start, m.end)
        rows.append(row)
    return _findings(text, lower, rows)


def _findings(text: str, lower: str, rows: list[_Row]) -> list[BiomarkerFinding]:
    """Findings, without "RE", "PR", "RET"... that have no result, no condition and no
    coordinated marker ("RE-hospitalisation prévue" is not a biomarker)."""
    keep = [r.mention.kind != "short" or r.result is not None or r.conditional for r in rows]
    for _ in range(2):  # "RE et RP positifs": the coordination reaches back and forth
        for i in range(len(rows) - 1):
            a, b = rows[i].mention, rows[i + 1].mention
            if (keep[i] or keep[i + 1]) and _COORDINATION.fullmatch(lower, a.end, b.start):
                keep[i] = keep[i + 1] = True
    out = []
    for row, kept in zip(rows, keep, strict=True):
        if not kept:
            continue
        m = row.mention
        marker = Span(m.start, m.end, "BIOMARKER", text[m.start : m.end], origin=ORIGIN)
        res = None
        if row.result is not None:
            start, end = row.result
            res = Span(start, end, "BIOMARKER_RESULT", text[start:end], origin=ORIGIN)
        status = result_status(m.name, res.text) if res else None
        out.append(BiomarkerFinding(marker, res, status, m.name, row.conditional or row.future))
    return out


def link_results(
    text: str, markers: Sequence[Span], results: Sequence[Span]
) -> list[tuple[int, int]]:
    """(marker index, result index) pairs: the nearest result in the same sentence or line,
    after the marker first, else before it; each marker and each result linked once.

    A result written right against its marker ("HER2 : score 3+", "Absence de mutation de
    KRAS") is linked first, so that "Absence de mutation de KRAS et mutation V600E de BRAF"
    gives each marker its own result.

    >>> text = "KRAS et NRAS sauvages."
    >>> link_results(text, [Span(0, 4, "BIOMARKER", "KRAS"), Span(8, 12, "BIOMARKER", "NRAS")],
    ...              [Span(13, 21, "BIOMARKER_RESULT", "sauvages")])
    [(1, 0)]
    """
    lower = fold(text, lower=True)
    sentences = _Sentences(lower)
    in_sentence: dict[tuple[int, int], list[int]] = {}
    for j, r in enumerate(results):
        in_sentence.setdefault(sentences.bounds(r.start), []).append(j)
    candidates: list[tuple[int, int, int, int]] = []  # (tier, distance, marker, result)
    for i, m in enumerate(markers):
        for j in in_sentence.get(sentences.bounds(m.start), []):
            r = results[j]
            if r.start >= m.end:
                tight = _TIGHT_AFTER.fullmatch(lower, m.end, r.start) is not None
                candidates.append((0 if tight else 1, r.start - m.end, i, j))
            elif r.end <= m.start:
                tight = _TIGHT_BEFORE.fullmatch(lower, r.end, m.start) is not None
                candidates.append((0 if tight else 2, m.start - r.end, i, j))
    pairs: list[tuple[int, int]] = []
    linked_markers: set[int] = set()
    linked_results: set[int] = set()
    for _tier, _distance, i, j in sorted(candidates):
        if i not in linked_markers and j not in linked_results:
            pairs.append((i, j))
            linked_markers.add(i)
            linked_results.add(j)
    return sorted(pairs)
