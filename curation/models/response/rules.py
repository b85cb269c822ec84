"""RECIST rules: the response a follow-up report states, and the sentence that states it.

Written with regular expressions rather than edsnlp: no library knows RECIST wording, and
``eds.negation`` misses the coordinated negation reports use ("Absence de nouvelle lésion et
de progression": the second cue stays affirmed), drops overlapping matches, and cannot read
a percentage's value. These rules need no pipeline and take microseconds per document.

Cues (case-insensitive, accents optional)
-----------------------------------------
- ``complete_response``: "réponse complète", "réponse métabolique (et morphologique)
  complète", "rémission complète", "disparition de toutes les lésions cibles";
- ``partial_response``: "réponse partielle", "régression partielle";
- ``stable_disease``: "maladie stable", "stabilité", "stabilisation", "lésions stables";
- ``progression``: "progression" (not "pseudo-progression"), "maladie progressive",
  "évolutivité", "apparition de nouvelles lésions", "nouvelle lésion";
- ``not_evaluable``: "non évaluable", "non interprétable"; weaker: "non mesurable",
  "artefacts" (they count only when nothing stronger is stated: a non-measurable non-target
  lesion does not make a stable disease unevaluable);
- a percentage of the sum of diameters, per RECIST 1.1: a decrease ("diminution de 42 %",
  "- 42 %") of 30 % or more is a partial response, 100 % a complete one, less a stable
  disease; an increase ("augmentation de 28 %", "+ 28 %") of 20 % or more is a
  progression, less a stable disease. A percentage overrides a word it overlaps
  ("progression de 10 %" is stable).

A cue is **negated** when "pas de", "absence de", "sans", "aucun(e)" or "ni" precede it in its
clause, at most :data:`WINDOW` words before ("Pas de nouvelle lésion", "absence de nouvelle
lésion et de progression"); clauses end at punctuation, "mais", and "et" that does not go on
with "de" ("absence de progression et stabilité" affirms the stability). It is
**hypothetical** after "suspicion de", "possible", "probable", "éventuelle", "doute" or before
"à confirmer". Only affirmed cues count.

Precedence
----------
1. The conclusion ("Conclusion :", "En conclusion", "Au total", "Synthèse") wins over the
   rest of the report: the body is read only when the conclusion states nothing.
2. Strong cues win over weak ones.
3. Progression wins over any other response when both are affirmed (RECIST: a new lesion or
   a 20 % increase is a progression whatever the other lesions do).
4. Otherwise one response is an unambiguous answer; several are ambiguous, answered with the
   least favourable one (stable, then partial, then complete, then not evaluable), flagged
   so that the predictor defers to the classifier.

Evidence: the sentence of the decisive cue, without a leading "Conclusion :"-like label or
bullet and without its final period, the convention of the synthetic answer key.

Examples
--------
>>> text = "Résultats : lésion hépatique de 12 mm.\\nConclusion : réponse partielle franche.\\n"
>>> answer = find_response(text)
>>> answer.label, answer.evidence.text, answer.ambiguous
('partial_response', 'réponse partielle franche', False)
>>> text[answer.evidence.start : answer.evidence.end] == answer.evidence.text
True
>>> find_response("Conclusion : pas de progression, maladie stable.").label
'stable_disease'
>>> find_response("Conclusion : réponse partielle mais apparition d'une nouvelle lésion.").label
'progression'
>>> find_response("Évaluation sous FOLFOX. Examen comparatif.") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from curation.usecases.oncology_response import RESPONSES

COMPLETE, PARTIAL, STABLE, PROGRESSION, NOT_EVALUABLE = RESPONSES

#: Responses from the least to the most favourable: the answer when affirmed cues conflict.
LEAST_FAVOURABLE_FIRST = (PROGRESSION, STABLE, PARTIAL, COMPLETE, NOT_EVALUABLE)

#: Largest number of words between a negation or hypothesis cue and the cue it governs.
WINDOW = 6

#: RECIST 1.1 thresholds on the sum of target lesion diameters, in percent.
PARTIAL_DECREASE = 30.0
PROGRESSION_INCREASE = 20.0

_QUALIFIER = r"(?:th[ée]rapeutique|tumorale|radiologique|m[ée]tabolique|morphologique|clinique)"
_QUALIFIERS = rf"(?:{_QUALIFIER}\s+(?:et\s+{_QUALIFIER}\s+)?)?"
_LESION = r"(?:l[ée]sions?|localisations?|m[ée]tastases?|nodules?|cibles?)"
_NEW = r"(?:nouvel(?:le)?s?|nouveaux?)"

#: (label, strong, pattern) of the word cues.
_WORD_CUES: tuple[tuple[str, bool, str], ...] = (
    (COMPLETE, True, rf"r[ée]ponse\s+{_QUALIFIERS}compl[èe]te"),
    (COMPLETE, True, rf"r[ée]mission\s+{_QUALIFIERS}compl[èe]te"),
    (
        COMPLETE,
        True,
        r"disparition\s+(?:compl[èe]te\s+)?(?:de\s+(?:toutes\s+les|la)\s+|des\s+|de\s+l['’]\s*)"
        r"l[ée]sions?(?:\s+cibles?)?",
    ),
    (PARTIAL, True, rf"r[ée]ponse\s+{_QUALIFIERS}partielle"),
    (PARTIAL, True, r"r[ée]gression\s+partielle"),
    (STABLE, True, r"maladie\s+stable"),
    (STABLE, True, r"stabilit[ée]|stabilisation"),
    (STABLE, True, r"l[ée]sions?\s+(?:cibles?\s+)?stables?"),
    (PROGRESSION, True, r"(?<!pseudo-)(?<!pseudo)progression"),
    (PROGRESSION, True, r"(?:maladie|[ée]volution)\s+progressive|[ée]volutivit[ée]"),
    (
        PROGRESSION,
        True,
        rf"apparition\s+(?:de\s+|d['’]\s*)(?:une?\s+|deux\s+|plusieurs\s+)?{_NEW}\s+{_LESION}",
    ),
    (PROGRESSION, True, rf"{_NEW}\s+{_LESION}"),
    (NOT_EVALUABLE, True, r"non\s+[ée]valuable|non\s+interpr[ée]table|ininterpr[ée]table"),
    (NOT_EVALUABLE, False, r"non\s+mesurables?|art[ée]facts?"),
)
_WORDS = [
    (label, strong, re.compile(rf"\b(?:{p})\b", re.IGNORECASE)) for label, strong, p in _WORD_CUES
]

_NUMBER = r"(?P<pct>\d{1,3}(?:[.,]\d+)?)\s*%"
_OF = r"\s+(?:de\s+|d['’]\s*)?(?:environ\s+|pr[èe]s\s+de\s+)?"
_DECREASE = re.compile(
    r"(?:\b(?:diminution|baisse|r[ée]duction|d[ée]croissance|r[ée]gression|diminu[ée]e?s?)"
    rf"{_OF}|(?<![\w%])[-−–]\s*){_NUMBER}",
    re.IGNORECASE,
)
_INCREASE = re.compile(
    r"(?:\b(?:augmentation|majoration|croissance|hausse|progression|augment[ée]e?s?)"
    rf"{_OF}|(?<![\w%])\+\s*){_NUMBER}",
    re.IGNORECASE,
)

_NEGATION = re.compile(r"\b(?:pas|absence|sans|aucune?|ni)\b", re.IGNORECASE)
_HYPOTHESIS_BEFORE = re.compile(
    r"\b(?:suspicion|suspecte?|possible|probable|[ée]ventuelle?|doute|douteuse?)\b",
    re.IGNORECASE,
)
_HYPOTHESIS_AFTER = re.compile(r"^[^,;:.()]*?\b(?:[àa]\s+confirmer)\b", re.IGNORECASE)
#: What ends a clause: punctuation, "mais", "et" not followed by "de" ("et stabilité").
_CLAUSE_END = re.compile(
    r"[,;:()]|\bmais\b|\bet\s+(?!(?:de|du|des|d['’]|la|le|les)\b)", re.IGNORECASE
)
_WORD = re.compile(r"\w+")

_CONCLUSION = re.compile(
    r"^[ \t]*(?:conclusions?|en\s+conclusion|au\s+total|synth[èe]se)\b[ \t]*[:.,-]?[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])[ \t]+(?=\S)")
#: A short label before a colon ("Conclusion :", "Résultats :"), a bullet, at a sentence start.
_LEAD = re.compile(r"^(?:[-*•–][ \t]*)?(?:[^\W\d_][^\W\d]*(?:[ \t]+[^\W\d]+){0,3}[ \t]*:[ \t]*)?")
_BULLET = re.compile(r"^[-*•–][ \t]*")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Character offsets into the exact text and the slice they hold."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Cue:
    """One RECIST cue: its response, offsets, strength and qualifiers."""

    label: str
    start: int
    end: int
    strong: bool = True
    negated: bool = False
    hypothetical: bool = False

    @property
    def affirmed(self) -> bool:
        return not (self.negated or self.hypothetical)


#: A cue and the bounds of its sentence.
Located = tuple[Cue, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class RuleAnswer:
    """What the rules read in one report.

    ``evidences`` maps each affirmed response of the decisive part (the conclusion, else the
    whole report) to the sentence of its first cue; ``ambiguous`` is true when they conflict
    without a progression among them (``label`` is then the least favourable one).
    """

    label: str
    ambiguous: bool
    in_conclusion: bool
    evidences: dict[str, Evidence]

    @property
    def evidence(self) -> Evidence:
        """The evidence of :attr:`label`."""
        return self.evidences[self.label]

    @property
    def labels(self) -> tuple[str, ...]:
        """The affirmed responses, in :data:`RESPONSES` order."""
        return tuple(self.evidences)


def sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence: lines, cut after ``.``, ``!`` or ``?`` followed by a
    space (so "RECIST 1.1" stays whole), surrounding spaces left out.

    >>> text = "Conclusion : maladie stable selon RECIST 1.1. Pas de nouvelle lésion."
    >>> [text[s:e] for s, e in sentences(text)]
    ['Conclusion : maladie stable selon RECIST 1.1.', 'Pas de nouvelle lésion.']
    """
    out = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for cut in [*_SENTENCE_END.finditer(line), None]:
            end = cut.start() if cut is not None else len(line)
            piece = line[start:end]
            stripped = piece.strip()
            if stripped:
                left = start + len(piece) - len(piece.lstrip())
                out.append((offset + left, offset + left + len(stripped)))
            if cut is not None:
                start = cut.end()
        offset += len(line) + 1
    return out


def conclusion_regions(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each conclusion: after its title, to the end of its paragraph (the
    next paragraph when the title stands alone on its line).

    >>> text = "Résultats : nodule de 8 mm.\\nCONCLUSION\\nMaladie stable.\\n\\nDr Martin"
    >>> [text[s:e] for s, e in conclusion_regions(text)]
    ['Maladie stable.']
    """
    out = []
    for match in _CONCLUSION.finditer(text):
        start = match.end()
        line_end = text.find("\n", start)
        if line_end == -1:
            line_end = len(text)
        if not text[start:line_end].strip():  # a title alone: its paragraph follows
            rest = text[line_end:]
            start = line_end + len(rest) - len(rest.lstrip())
        blank = _BLANK_LINE.search(text, start)
        end = blank.start() if blank is not None else len(text)
        if text[start:end].strip():
            out.append((start, end))
    return out


def _qualified(
    text: str, sentence_start: int, start: int, end: int, sentence_end: int
) -> tuple[bool, bool]:
    """Whether the cue at ``start:end`` is negated, and whether it is hypothetical."""
    before = text[sentence_start:start]
    clause_ends = list(_CLAUSE_END.finditer(before))
    if clause_ends:
        before = before[clause_ends[-1].end() :]

    def governs(pattern: re.Pattern[str]) -> bool:
        found = list(pattern.finditer(before))
        return bool(found) and len(_WORD.findall(before[found[-1].end() :])) <= WINDOW

    after = text[end:sentence_end]
    hypothetical = governs(_HYPOTHESIS_BEFORE) or bool(_HYPOTHESIS_AFTER.search(after))
    return governs(_NEGATION), hypothetical


def _percent_label(decrease: bool, value: float) -> str:
    if decrease:
        if value >= 100:
            return COMPLETE
        return PARTIAL if value >= PARTIAL_DECREASE else STABLE
    return PROGRESSION if value >= PROGRESSION_INCREASE else STABLE


def find_cues(text: str, start: int, end: int) -> list[Cue]:
    """Cues of the sentence ``text[start:end]``, in text order, qualified.

    >>> text = "Absence de nouvelle lésion et de progression, diminution de 18 %."
    >>> [(c.label, c.negated) for c in find_cues(text, 0, len(text))]
    [('progression', True), ('progression', True), ('stable_disease', False)]
    """
    sentence = text[start:end]
    found: list[Cue] = []
    percents: list[tuple[int, int]] = []
    for pattern, decrease in ((_DECREASE, True), (_INCREASE, False)):
        for match in pattern.finditer(sentence):
            value = float(match.group("pct").replace(",", "."))
            found.append(Cue(_percent_label(decrease, value), match.start(), match.end()))
            percents.append((match.start(), match.end()))
    words: list[Cue] = []
    for label, strong, pattern in _WORDS:
        for match in pattern.finditer(sentence):
            a, b = match.start(), match.end()
            if not any(a < pe and ps < b for ps, pe in percents):
                words.append(Cue(label, a, b, strong))
    # a cue inside a longer cue of the same response counts once ("apparition de nouvelles
    # lésions" holds "nouvelles lésions")
    for cue in words:
        inside = any(
            o is not cue and o.start <= cue.start and cue.end <= o.end and o.label == cue.label
            for o in words
        )
        if not inside:
            found.append(cue)
    out = []
    for cue in sorted(found, key=lambda c: (c.start, c.end, c.label)):
        a, b = start + cue.start, start + cue.end
        negated, hypothetical = _qualified(text, start, a, b, end)
        out.append(Cue(cue.label, a, b, cue.strong, negated, hypothetical))
    return out


def evidence_of(text: str, start: int, end: int, anchor: int | None = None) -> Evidence:
    """The sentence ``text[start:end]`` as evidence: a short leading label ("Conclusion :")
    before ``anchor`` (the cue) and a bullet left out, and its final period.

    >>> text = "Conclusion : progression selon RECIST 1.1 (+ 28 % de la somme des diamètres)."
    >>> evidence_of(text, 0, len(text), 13).text
    'progression selon RECIST 1.1 (+ 28 % de la somme des diamètres)'
    """
    sentence = text[start:end]
    lead = _LEAD.match(sentence)
    skip = lead.end() if lead is not None else 0
    if anchor is not None and start + skip > anchor:
        bullet = _BULLET.match(sentence)
        skip = bullet.end() if bullet is not None else 0
    a = start + skip
    b = end
    if text[a:b].endswith("."):
        b -= 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b <= a:  # nothing but a label: keep the whole sentence
        a, b = start, end
    return Evidence(a, b, text[a:b])


def _decide(cues: list[Located]) -> tuple[str, bool, list[Located]]:
    strong = [item for item in cues if item[0].strong] or cues
    labels = [label for label in RESPONSES if any(c.label == label for c, _ in strong)]
    if PROGRESSION in labels:
        return PROGRESSION, False, strong
    label = next(x for x in LEAST_FAVOURABLE_FIRST if x in labels)
    return label, len(labels) > 1, strong


def _affirmed(text: str, bounds: list[tuple[int, int]]) -> Iterator[Located]:
    for start, end in bounds:
        for cue in find_cues(text, start, end):
            if cue.affirmed:
                yield cue, (start, end)


def find_response(text: str) -> RuleAnswer | None:
    """The response a report states, its evidence, and whether the statement is ambiguous;
    ``None`` when no affirmed cue is found."""
    every = sentences(text)
    regions = conclusion_regions(text)
    concluding = [
        (s, e) for s, e in every if any(s < r_end and r_start < e for r_start, r_end in regions)
    ]
    in_conclusion = True
    cues = list(_affirmed(text, concluding))
    if not cues:
        in_conclusion = False
        cues = list(_affirmed(text, every))
    if not cues:
        return None
    label, ambiguous, kept = _decide(cues)
    evidences: dict[str, Evidence] = {}
    for response in RESPONSES:
        first = next((item for item in kept if item[0].label == response), None)
        if first is not None:
            cue, (start, end) = first
            evidences[response] = evidence_of(text, start, end, cue.start)
    return RuleAnswer(label, ambiguous, in_conclusion, evidences)


__all__ = [
    "Cue",
    "Evidence",
    "RuleAnswer",
    "conclusion_regions",
    "evidence_of",
    "find_cues",
    "find_response",
    "sentences",
]
