"""One policy for combining rule spans and model spans into non-overlapping spans.

The rules (:mod:`curation.models.rules`) are trusted on what has a structure (a phone number,
a NIR whose key checks out, a date); the model is trusted on names, places and hospitals.
The policy, applied in this order:

1. **Noise out.** Spans that are empty, or only whitespace and punctuation, are dropped (a
   model sometimes tags ``", "`` between two names).
2. **Agreement fused.** Spans with the same extent and the same label become one span with
   the highest score and the origins joined, rules first (``"rule:tel+model:bert-v1"``).
3. **Same extent, different label: a validated rule, else the label table.** When two
   detectors agree on *where* and disagree on *what*, a validated rule (tier 2 below) wins:
   ``36977`` before a commune is a ZIP even if the model says TEL. Otherwise
   :data:`LABEL_PRECEDENCE` names the winner (``DATE_NAISSANCE`` over ``DATE``, ``MAIL`` over
   ``NOM``...), whoever produced it; the loser is dropped.
4. **A MAIL swallows the names inside it.** ``NOM``/``PRENOM`` spans lying within a ``MAIL``
   span are dropped: ``jean.dupont@chu.fr`` is one identifier, not an address and two names.
5. **Overlap: evidence tier, then label table.** Every span has a tier:

   - 2, *validated rule*: a span from ``rule_spans`` with a structured label
     (:data:`STRUCTURED_LABELS`), a commune right after its postal code (``rule:ville``) or a
     hospital named the French way (``rule:hopital``), with a score of at least
     :data:`VALIDATED_RULE_SCORE`;
   - 1, *model*: any span from ``model_spans``;
   - 0, *weak rule*: any other span from ``rule_spans`` (``75012`` with no city after it,
     a rule on names).

   Spans are taken from the highest ``(tier, label precedence, score, length)`` down, and a
   span that overlaps one already kept is **trimmed** to what lies outside it (possibly two
   pieces), each piece stripped of whitespace and punctuation at its edges. A piece is kept
   only if it is still plausible: structured labels never survive trimming (half a phone
   number is not a phone number), and a name, place, address or hospital piece needs at least
   two letters or digits, one a letter. So validated rules beat the model on overlap, the
   model beats weak rule evidence, and ``NOM "Dupont 06"`` against ``TEL "06 12 34 56 78"``
   keeps ``NOM "Dupont"``.

Scores and origins of kept spans are left as they were; trimmed pieces keep their span's.

Examples
--------
>>> rule = Span(10, 24, "TEL", "06 12 34 56 78", 0.99, "rule:tel")
>>> model = Span(10, 24, "TEL", "06 12 34 56 78", 0.8, "model:bert-v1")
>>> [(s.label, s.text, s.score, s.origin) for s in merge_spans([rule], [model])]
[('TEL', '06 12 34 56 78', 0.99, 'rule:tel+model:bert-v1')]
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from curation.schema import Span

#: Which label wins when two spans cover the same characters (higher wins); also the second
#: key, after the evidence tier, when spans overlap. Structured identifiers first: a checksum
#: or a format is stronger evidence than a capitalised word, and the more specific label
#: wins within a family (a birth date is a date; an e-mail address contains a name).
LABEL_PRECEDENCE: dict[str, int] = {
    "SECU": 130,
    "MAIL": 120,
    "TEL": 110,
    "IPP": 100,
    "NDA": 90,
    "DATE_NAISSANCE": 80,
    "DATE": 70,
    "ZIP": 60,
    "ADRESSE": 50,
    "HOPITAL": 40,
    "VILLE": 30,
    "NOM": 20,
    "PRENOM": 10,
}

#: Labels whose value has a structure that a rule can validate.
STRUCTURED_LABELS: frozenset[str] = frozenset(
    {"TEL", "MAIL", "SECU", "IPP", "NDA", "ZIP", "DATE", "DATE_NAISSANCE"}
)

#: Labels the model is trusted on (rules have only weak evidence for them).
MODEL_LABELS: frozenset[str] = frozenset({"NOM", "PRENOM", "VILLE", "ADRESSE", "HOPITAL"})

#: A rule span with a structured label and at least this score is a *validated rule*.
VALIDATED_RULE_SCORE = 0.9

_EDGE = " \t\r\n\u00a0\u202f\u2009,;:.-–—/()[]{}\"'«»’"


@dataclass(slots=True)
class _Item:
    span: Span
    tier: int
    rule: bool

    @property
    def key(self) -> tuple[int, int, float, int, int]:
        s = self.span
        return (self.tier, LABEL_PRECEDENCE.get(s.label, 0), s.score, s.end - s.start, -s.start)


#: Rules trusted like structured ones although their label is a model label.
VALIDATED_RULE_ORIGINS: frozenset[str] = frozenset({"rule:ville", "rule:hopital"})


def _tier(span: Span, from_rules: bool) -> int:
    if not from_rules:
        return 1
    trusted = span.label in STRUCTURED_LABELS or span.origin in VALIDATED_RULE_ORIGINS
    return 2 if trusted and span.score >= VALIDATED_RULE_SCORE else 0


def _has_content(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _join_origins(*origins: str | None) -> str | None:
    parts: list[str] = []
    for origin in origins:
        for part in (origin or "").split("+"):
            if part and part not in parts:
                parts.append(part)
    return "+".join(parts) or None


def _fuse(items: list[_Item]) -> list[_Item]:
    """Step 2 and 3: one span per extent (same label fused, else the label table)."""
    by_extent: dict[tuple[int, int], list[_Item]] = {}
    for item in items:
        by_extent.setdefault((item.span.start, item.span.end), []).append(item)
    out: list[_Item] = []
    for group in by_extent.values():
        best_label = max(
            group, key=lambda i: (i.tier == 2, LABEL_PRECEDENCE.get(i.span.label, 0), i.key)
        )
        same = [i for i in group if i.span.label == best_label.span.label]
        same.sort(key=lambda i: not i.rule)  # rules' origins first
        fused = replace(
            same[0].span,
            score=max(i.span.score for i in same),
            origin=_join_origins(*(i.span.origin for i in same)),
        )
        out.append(_Item(fused, max(i.tier for i in same), any(i.rule for i in same)))
    return out


def _piece(span: Span, start: int, end: int) -> Span | None:
    """``span`` cut to ``[start, end)`` and stripped at its edges, if still plausible."""
    text = span.text[start - span.start : end - span.start]
    stripped = text.lstrip(_EDGE)
    start += len(text) - len(stripped)
    text = stripped.rstrip(_EDGE)
    end = start + len(text)
    alnum = sum(c.isalnum() for c in text)
    if alnum < 2 or not any(c.isalpha() for c in text):
        return None
    return replace(span, start=start, end=end, text=text)


def merge_spans(rule_spans: list[Span], model_spans: list[Span]) -> list[Span]:
    """Non-overlapping spans from rule and model spans, sorted by start (policy above).

    Parameters
    ----------
    rule_spans : list[Span]
        Spans from :class:`curation.models.rules.PhiRules` (origins ``rule:...``).
    model_spans : list[Span]
        Spans from a model, whatever their origin (``model:<name>-<version>``).

    Returns
    -------
    list[Span]
        Spans that do not overlap, sorted by start; inputs are not modified.

    Examples
    --------
    The e-mail address found by a rule swallows the name the model saw in it:

    >>> text = "Courriel : jean.dupont@orange.fr"
    >>> mail = Span(11, 32, "MAIL", text[11:32], 0.99, "rule:mail")
    >>> name = Span(16, 22, "NOM", text[16:22], 0.9, "model:bert-v1")
    >>> [(s.label, s.text) for s in merge_spans([mail], [name])]
    [('MAIL', 'jean.dupont@orange.fr')]
    """
    items = [
        _Item(s, _tier(s, from_rules=True), rule=True)
        for s in rule_spans
        if s.end > s.start and _has_content(s.text)
    ] + [_Item(s, 1, rule=False) for s in model_spans if s.end > s.start and _has_content(s.text)]
    items = _fuse(items)
    mails = [(i.span.start, i.span.end) for i in items if i.span.label == "MAIL"]
    items = [
        i
        for i in items
        if i.span.label not in ("NOM", "PRENOM")
        or not any(a <= i.span.start and i.span.end <= b for a, b in mails)
    ]
    starts: list[int] = []
    kept: list[Span] = []  # sorted by start, non-overlapping
    for item in sorted(items, key=lambda i: i.key, reverse=True):
        span = item.span
        i = bisect.bisect_left(starts, span.end)
        j = i
        while j > 0 and kept[j - 1].end > span.start:
            j -= 1
        blockers = kept[j:i]
        if not blockers:
            starts.insert(i, span.start)
            kept.insert(i, span)
            continue
        if span.label in STRUCTURED_LABELS:
            continue
        bounds = [span.start, *(x for b in blockers for x in (b.start, b.end)), span.end]
        for a, b in zip(bounds[::2], bounds[1::2], strict=True):
            if b <= a:
                continue
            piece = _piece(span, max(a, span.start), min(b, span.end))
            if piece is not None:
                k = bisect.bisect_left(starts, piece.start)
                starts.insert(k, piece.start)
                kept.insert(k, piece)
    return kept
