"""The oncology rule pipeline: one edsnlp pipeline that finds the entities and qualifies them.

edsnlp does what it has components for: sentences, normalisation, TNM stages
(``eds.tnm``), Elston-Ellis grades (``eds.elston_ellis``, taught the SBR wording), ADICAP
codes (``eds.adicap``, which support the histology), cancer drugs with their ATC code
(``eds.drugs``), cancer mentions (``eds.solid_tumor``, the anchor of a bare organ: "cancer du
*sein*"), and the context: ``eds.negation``, ``eds.hypothesis``, ``eds.family``. Two
``eds.matcher`` add what edsnlp lacks (:mod:`curation.models.oncology.terms`), the biomarker
module adds markers and results, and :class:`OncologyEntities`, a component placed before the
qualifiers, turns all of it into non-overlapping entities that follow the annotation
conventions ("chimiothérapie adjuvante par FOLFOX" is one TREATMENT), merged with a model's
spans when there are any, so that the qualifiers see every entity once.

Examples
--------
``"ATCD familiaux : mère traitée pour un cancer du sein."`` gives a TUMOR_SITE ``sein`` with
``family`` set; ``"Pas d'indication à une radiothérapie."`` a negated TREATMENT
``radiothérapie``; ``"un traitement par osimertinib pourra être discuté"`` a hypothetical
TREATMENT ``osimertinib``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import edsnlp
import edsnlp.pipes as eds
from edsnlp.core import registry
from edsnlp.pipes.qualifiers.hypothesis import patterns as hypothesis_patterns
from edsnlp.pipes.qualifiers.negation import patterns as negation_patterns
from spacy.tokens import Doc
from spacy.tokens import Span as DocSpan

from curation.models.merge import merge_spans
from curation.models.oncology import terms
from curation.models.oncology.biomarkers import BiomarkerFinding, find_biomarkers
from curation.schema import Span

#: The span group the qualifiers read: every entity of the document, once.
GROUP = "oncology"
RULE_SCORE = 0.95
#: Score of a HISTOLOGY span in a report whose ADICAP code says the lesion is a tumour.
ADICAP_SUPPORTED_SCORE = 0.99
#: Overlapping rule candidates: the higher priority wins, then the longer span.
PRIORITY = {"biomarkers": 3, "eds.tnm": 2, "eds.elston_ellis": 2}
#: A model span scoring less is not shown (tests/bench/bench_oncology.py measures it).
MODEL_MIN_SCORE = 0.8
#: Words that never make an entity on their own (a model's stray "par", "Pas", "de").
FUNCTION_WORDS = frozenset(
    {"a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "ou"}
    | {"par", "pas", "pour", "sans", "sur", "un", "une", "avec", "dans"}
)
_PREPOSITIONS = frozenset({"du", "de", "d'", "des", "la", "l'"})
_EE_PREFIX = re.compile(
    r"(?:grade\s+(?:histopronostique\s+)?(?:de\s+)?)?"
    r"(?:SBR|EE|elston\s*(?:&|et|and)?\s*ellis)\s*(?:modifi[ée]\s*)?[:=]?\s*$",
    re.IGNORECASE,
)
_ROMAN = {"I": 1, "II": 2, "III": 3}


@dataclass(slots=True)
class Candidate:
    """An entity with exact character offsets and the doc span the qualifiers flag."""

    span: Span
    doc_span: DocSpan
    priority: int = 0
    finding: int | None = None  # index in the document's biomarker findings
    organ_only: bool = False  # a bare organ, kept only as a named cancer's site


@dataclass(slots=True)
class Entity:
    """A qualified entity of one document."""

    span: Span
    negated: bool
    hypothetical: bool
    family: bool
    finding: int | None = None


def _elston_ellis_value(raw: str | None) -> int | None:
    """``"2"``, ``"II"`` or edsnlp's ``"(3+2+1)"`` -> the grade (1 to 3)."""
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return int(raw)
    if raw.upper() in _ROMAN:
        return _ROMAN[raw.upper()]
    total = sum(int(d) for d in re.findall(r"[1-3]", raw))
    return None if not total else 1 if total <= 5 else 2 if total <= 7 else 3


def _candidate(
    doc: Doc, start: int, end: int, label: str, origin: str, *, score: float = RULE_SCORE
) -> Candidate | None:
    doc_span = doc.char_span(start, end, label=label, alignment_mode="expand")
    if doc_span is None or end <= start:
        return None
    span = Span(start, end, label, doc.text[start:end], score, origin)
    return Candidate(span, doc_span, PRIORITY.get(origin.removeprefix("rule:"), 0))


def _from_doc_span(doc_span: DocSpan, label: str, origin: str, **kwargs: Any) -> Candidate:
    doc = doc_span.doc
    candidate = _candidate(doc, doc_span.start_char, doc_span.end_char, label, origin, **kwargs)
    assert candidate is not None
    return candidate


def _grades(doc: Doc) -> list[Candidate]:
    """Elston-Ellis values extended back to their mention ("grade SBR II"), and wordings."""
    out = []
    for value in doc.spans.get("elston_ellis", []):
        window_start = max(0, value.start_char - 60)
        before = doc.text[window_start : value.start_char]
        match = _EE_PREFIX.search(before)
        if match is None:
            continue
        c = _candidate(
            doc, window_start + match.start(), value.end_char, "GRADE", "rule:eds.elston_ellis"
        )
        if c is not None:
            out.append(c)
    for span in doc.spans.get("oncology_terms", []):
        if span.label_ == "grade":
            out.append(_from_doc_span(span, "GRADE", "rule:terms"))
    return out


def _tumour_anchor_ends(doc: Doc, candidates: list[Candidate]) -> set[int]:
    """Token ends of cancer mentions, histologies and grades: what a bare organ follows."""
    ends = {s.end for s in doc.spans.get("solid_tumor", [])}
    ends |= {c.doc_span.end for c in candidates if c.span.label in ("HISTOLOGY", "GRADE")}
    return ends


def _sites(doc: Doc, anchors: set[int]) -> list[Candidate]:
    out = []
    for span in doc.spans.get("oncology_terms", []):
        if span.label_ == "site":
            out.append(_from_doc_span(span, "TUMOR_SITE", "rule:terms"))
        elif span.label_ == "organ":
            i = span.start
            while i > 0 and doc[i - 1].norm_ in _PREPOSITIONS:
                i -= 1
            if i < span.start and i in anchors:
                c = _from_doc_span(span, "TUMOR_SITE", "rule:terms")
                c.organ_only = True
                out.append(c)
    return out


def _histologies(doc: Doc) -> list[Candidate]:
    tumoral = any(
        code._.adicap is not None and code._.adicap.pathology == "PATHOLOGIE TUMORALE"
        for code in doc.spans.get("adicap", [])
    )
    score = ADICAP_SUPPORTED_SCORE if tumoral else RULE_SCORE
    return [
        _from_doc_span(span, "HISTOLOGY", "rule:terms", score=score)
        for span in doc.spans.get("oncology_terms", [])
        if span.label_ == "histology"
    ]


def _biomarkers(doc: Doc, findings: list[BiomarkerFinding]) -> list[Candidate]:
    out = []
    for k, finding in enumerate(findings):
        for label, part in (("BIOMARKER", finding.marker), ("BIOMARKER_RESULT", finding.result)):
            if part is None:
                continue
            c = _candidate(doc, part.start, part.end, label, "rule:biomarkers")
            if c is not None:
                c.finding = k
                out.append(c)
    return out


# --------------------------------------------------------------------------- treatments


def _phrase_at(doc: Doc, i: int, phrases: tuple[tuple[str, ...], ...]) -> int:
    """Token index after the first of ``phrases`` (normalised tokens) found at ``i``, or ``i``."""
    for phrase in phrases:
        if tuple(t.norm_ for t in doc[i : i + len(phrase)]) == phrase:
            return i + len(phrase)
    return i


class _Regimen:
    """Drugs and protocols of a document, and how far a regimen starting at a token goes."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.items: dict[int, int] = {}  # token start -> token end of a drug or protocol
        self.standalone: set[int] = set()  # item starts that make a TREATMENT on their own
        drugs = [
            s
            for s in doc.spans.get("drug", [])
            if str(s.kb_id_ or "").startswith(terms.CANCER_ATC_PREFIXES)
        ]
        drugs += [s for s in doc.spans.get("oncology_terms", []) if s.label_ == "drug"]
        for span in drugs:
            self.items[span.start] = max(span.end, self.items.get(span.start, 0))
            self.standalone.add(span.start)
        for span in doc.spans.get("protocol", []):
            self.items[span.start] = max(span.end, self.items.get(span.start, 0))
            if len(span.text) >= 4:  # "EC", "AC", "TC" alone are too ambiguous
                self.standalone.add(span.start)

    def item(self, i: int) -> int | None:
        """End of the drug at ``i``, counting a dose count before it ("12 paclitaxel")."""
        doc, j = self.doc, i
        if j < len(doc) and doc[j].like_num:
            j += 1
            while j < len(doc) and doc[j].norm_ in terms.CYCLE_WORDS:
                j += 1
        end = self.items.get(j)
        if end is None:
            return None
        while end < len(doc) and doc[end].norm_ in terms.DRUG_TRAILERS:
            end += 1
        return end

    def extent(self, i: int) -> int | None:
        """End of the regimen at ``i``: items joined by "et", ",", "puis", "+"..."""
        end = self.item(i)
        while end is not None and end < len(self.doc) and self.doc[end].norm_ in terms.DRUG_JOINERS:
            following = self.item(end + 1)
            if following is None:
                break
            end = following
        return end


def _treatments(doc: Doc) -> list[Candidate]:
    """Modalities with their modifiers and drugs, surgery, and regimens on their own."""
    regimen = _Regimen(doc)
    out: list[Candidate] = []
    covered: set[int] = set()
    for span in doc.spans.get("oncology_terms", []):
        if span.label_ == "surgery":
            out.append(_from_doc_span(span, "TREATMENT", "rule:terms"))
            covered.update(range(span.start, span.end))
        if span.label_ != "modality":
            continue
        end = span.end
        while end < len(doc):
            if doc[end].norm_ in terms.MODALITY_MODIFIERS:
                end += 1
            elif (after := _phrase_at(doc, end, terms.MODALITY_PHRASES)) > end:
                end = after
            else:
                break
        after = _phrase_at(doc, end, terms.DRUG_INTRODUCERS)
        if after > end and (drugs_end := regimen.extent(after)) is not None:
            end = drugs_end
        out.append(_from_doc_span(doc[span.start : end], "TREATMENT", "rule:terms"))
        covered.update(range(span.start, end))
    i = 0
    while i < len(doc):
        end = regimen.extent(i) if i in regimen.standalone and i not in covered else None
        if end is None:
            i += 1
            continue
        source = (
            "rule:eds.drugs"
            if any(s.start == i for s in doc.spans.get("drug", []))
            else "rule:terms"
        )
        out.append(_from_doc_span(doc[i:end], "TREATMENT", source))
        covered.update(range(i, end))
        i = end
    return out


def resolve_overlaps(candidates: list[Candidate]) -> list[Candidate]:
    """Non-overlapping candidates: higher priority first, then longer, then earlier."""
    kept: list[Candidate] = []
    ranked = sorted(
        candidates,
        key=lambda c: (-c.priority, -(c.span.end - c.span.start), c.span.start, c.span.label),
    )
    for c in ranked:
        if all(c.span.end <= k.span.start or k.span.end <= c.span.start for k in kept):
            kept.append(c)
    return sorted(kept, key=lambda c: (c.span.start, c.span.end))


def rule_candidates(doc: Doc, findings: list[BiomarkerFinding]) -> list[Candidate]:
    """Every rule entity of ``doc``, before overlaps are resolved."""
    candidates = _biomarkers(doc, findings)
    candidates += [_from_doc_span(s, "TNM", "rule:eds.tnm") for s in doc.spans.get("tnm", [])]
    candidates += _grades(doc)
    candidates += _histologies(doc)
    candidates += _sites(doc, _tumour_anchor_ends(doc, candidates))
    candidates += _treatments(doc)
    return candidates


def plausible_model_span(text: str, span: Span, rules: list[Candidate]) -> bool:
    """Whether a model span that no rule span overlaps is worth a pre-annotation.

    A model's low-confidence guesses, function words ("par", "Pas", "de") and pieces glued to
    a rule entity ("par" before the rule's "osimertinib": a boundary the rules already drew)
    are dropped.
    """
    if span.score < MODEL_MIN_SCORE:
        return False
    words = re.findall(r"[^\W\d_]+", span.text.lower())
    if sum(map(len, words)) < 2 or all(w in FUNCTION_WORDS for w in words):
        return False
    for c in rules:
        gap = (
            text[c.span.end : span.start]
            if c.span.end <= span.start
            else text[span.end : c.span.start]
        )
        if not gap.strip(" \t"):
            return False
    return True


def merge_model(doc: Doc, rules: list[Candidate], model: list[Span]) -> list[Candidate]:
    """Rule entities first, then plausible model spans where no rule entity lies.

    A model span with a rule span's extent and label only adds its origin (and score);
    one overlapping a rule span otherwise is dropped, and so is an implausible one
    (:func:`plausible_model_span`). :func:`merge_spans` then drops noise and fuses agreements.
    """
    by_extent = {(c.span.start, c.span.end, c.span.label): c for c in rules}
    free = [
        s
        for s in model
        if (s.start, s.end, s.label) in by_extent
        or (
            all(s.end <= c.span.start or c.span.end <= s.start for c in rules)
            and plausible_model_span(doc.text, s, rules)
        )
    ]
    out = []
    for span in merge_spans([c.span for c in rules], free):
        rule = by_extent.get((span.start, span.end, span.label))
        if rule is not None:
            rule.span = span
            out.append(rule)
            continue
        c = _candidate(doc, span.start, span.end, span.label, span.origin or "model")
        if c is not None:
            c.span = span
            out.append(c)
    return out


class OncologyEntities:
    """Pipeline component: the document's entities, in :data:`GROUP`, for the qualifiers.

    Reads the matchers' span groups, the biomarker findings (``doc._.oncology_findings``)
    and a model's spans if set before the pipeline ran (``doc._.oncology_model_spans``);
    writes ``doc._.oncology_candidates`` and the span group.
    """

    def __init__(self, nlp: Any = None, name: str = "oncology_entities") -> None:
        self.name = name
        for name in ("oncology_findings", "oncology_model_spans", "oncology_candidates"):
            if not Doc.has_extension(name):
                Doc.set_extension(name, default=None)

    def __call__(self, doc: Doc) -> Doc:
        findings = find_biomarkers(doc.text)
        doc._.oncology_findings = findings
        candidates = resolve_overlaps(rule_candidates(doc, findings))
        model: list[Span] | None = doc._.oncology_model_spans
        if model:
            candidates = merge_model(doc, candidates, model)
        doc._.oncology_candidates = candidates
        doc.spans[GROUP] = [c.doc_span for c in candidates]
        return doc


#: Registered so that edsnlp knows what the component assigns (its matchers ask).
create_component = registry.factory.register("curation.oncology_entities", assigns=["doc.spans"])(
    OncologyEntities
)


@lru_cache(maxsize=1)
def pipeline() -> Any:
    """The edsnlp pipeline, built once per process (building it takes seconds)."""
    nlp = edsnlp.blank("eds")
    nlp.add_pipe(eds.sentences())
    nlp.add_pipe(eds.normalizer())
    nlp.add_pipe(eds.tnm(span_setter={"tnm": True}))
    nlp.add_pipe(
        eds.elston_ellis(
            regex=list(terms.ELSTON_ELLIS_MENTIONS),
            value_extract=terms.ELSTON_ELLIS_VALUE,
            score_normalization=_elston_ellis_value,
            window=4,
            span_setter={"elston_ellis": True},
        )
    )
    nlp.add_pipe(eds.adicap(span_setter={"adicap": True}))
    nlp.add_pipe(eds.drugs(span_setter={"drug": True}))
    nlp.add_pipe(eds.solid_tumor(span_setter={"solid_tumor": True}))
    nlp.add_pipe(
        eds.matcher(
            name="oncology_terms",
            terms={
                "site": list(terms.SITE_TERMS),
                "organ": list(terms.ORGAN_TERMS),
                "drug": [name for names in terms.EXTRA_DRUGS.values() for name in names],
            },
            regex={
                "histology": [terms.HISTOLOGY_REGEX],
                "grade": list(terms.GRADE_REGEXES),
                "modality": list(terms.MODALITY_REGEXES),
                "surgery": [terms.SURGERY_REGEX],
            },
            attr="NORM",
            span_setter={"oncology_terms": True},
        )
    )
    nlp.add_pipe(
        eds.matcher(
            name="oncology_protocols",
            regex={"protocol": [terms.PROTOCOL_REGEX]},
            attr="TEXT",
            span_setter={"protocol": True},
        )
    )
    nlp.add_pipe(create_component())
    getter = {GROUP: True}
    nlp.add_pipe(
        eds.negation(span_getter=getter, pseudo=[*negation_patterns.pseudo, *terms.NEGATION_PSEUDO])
    )
    nlp.add_pipe(
        eds.hypothesis(
            span_getter=getter,
            following=[*hypothesis_patterns.following, *terms.HYPOTHESIS_FOLLOWING],
        )
    )
    nlp.add_pipe(eds.family(span_getter=getter, use_sections=False))
    return nlp


def entities(doc: Doc) -> list[Entity]:
    """The qualified entities of a processed ``doc``, sorted by offsets.

    A bare organ in a hypothesis ("Suspicion de néoplasie du sein") is dropped: it is the
    reason for the exam, not a tumour's site. Negation never applies to a biomarker's result
    (a negative result is a status) nor to a marker that has a result.
    """
    findings: list[BiomarkerFinding] = doc._.oncology_findings or []
    out = []
    for c in doc._.oncology_candidates or []:
        negated = bool(c.doc_span._.negation)
        hypothetical = bool(c.doc_span._.hypothesis)
        family = bool(c.doc_span._.family)
        if c.organ_only and hypothetical:
            continue
        if c.finding is not None:
            finding = findings[c.finding]
            hypothetical = hypothetical or finding.hypothetical
            if c.span.label == "BIOMARKER_RESULT" or finding.result is not None:
                negated = False
        elif c.span.label == "BIOMARKER_RESULT":
            negated = False
        out.append(Entity(c.span, negated, hypothetical, family, c.finding))
    return out
