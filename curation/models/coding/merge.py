"""The merge policy of the CIM-10 coder: classifier probabilities + rule mentions (``eds.cim10``
matches and learnt lexicon terms) -> ranked suggestions, one principal diagnosis first.

Policy
------
1. **Candidates.** Every code the classifier scores, and every code of an affirmed mention,
   of the ``eds.cim10`` matcher or of the lexicon learnt from training evidence (negated,
   hypothetical and family mentions were dropped upstream). A lexicon code the classifier
   does not propose (never learnt, or too rare) is a candidate with the lexicon's score alone,
   which by default (``lexicon_score`` 0.15) stays under ``min_score`` (0.2): a learnt term
   supports and highlights the classifier's codes but does not add codes of its own (see 4).
2. **Absorption.** A mention code that the classifier refines (the classifier knows codes
   under it: ``I50`` matched, ``I5002`` learnt) is absorbed by the refinement the classifier
   finds most likely: its mentions become that code's evidence and count as its support
   ("insuffisance cardiaque" matched as ``I50`` -> one suggestion ``I5002`` with both
   sources). Any other mention code stands alone, with its own mentions as evidence. A
   mention nested in another evidence mention of the same code is left out (one highlight).
3. **Symptoms.** A code of chapter XVIII (``R``: symptoms and signs) that the classifier does
   not propose is dropped when the document has another suggestion: the PMSI codes a symptom
   only when no diagnosis explains it, and reports mention "dyspnée" or "toux" on the way to
   a diagnosis.
4. **Score.** Independent opinions are combined by noisy-OR:
   ``score = 1 - (1 - p_classifier) * (1 - matcher_score) * (1 - lexicon_score)``, each
   rule factor present only when a mention of that origin supports the code
   (``p_classifier`` is 0 for a code the classifier never learnt). So a code the classifier
   and the text agree on outranks one either proposes alone, and ``matcher_score`` or
   ``lexicon_score`` alone is the score of a rules-only suggestion. ``lexicon_score`` was
   measured on 500 held-out synthetic documents (``tests/bench/bench_coding.py
   --lexicon-scores``, 1,500 training documents): 0.15 lifts micro F1 from 0.976 (no
   lexicon) to 0.986 (recall 0.969 -> 0.998: a learnt term lifts a classifier code from
   p >= 0.06 over ``min_score``), while 0.3 and above suggest lexicon codes alone and fall to
   0.934 (precision 0.98 -> 0.88: reports name conditions that are not coded for the stay).
   Either way 99.9 % of the true codes found have evidence (16 % without the lexicon).
5. **Cut.** Suggestions scoring at least ``min_score``, best first, at most ``top_k``
   (ties broken by code, so the output is deterministic).
6. **Principal diagnosis.** Among the kept suggestions, the one the DP model finds most
   likely to be principal, ties broken by score; when the DP model knows none of them (rules
   only, or codes it never saw as DP), the best scoring, then the earliest mention (reports
   state the reason for the stay first). If the DP model's favourite code is not kept but
   has probability at least ``min_score`` as a DP, it is added as DP (with its own score):
   the principal diagnosis is the one code a coder must never miss. The DP comes first, then
   the diagnoses associés (DAS) by decreasing score; the list stays within ``top_k``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from curation.models.coding.rules import LEXICON, MATCHER, Mention

#: Origin of the classifier's opinion, in provenance ``sources``.
CLASSIFIER = "classifier"


@dataclass(slots=True)
class Suggestion:
    """One suggested code with its role, score, sources and evidence mentions."""

    code: str
    score: float
    role: str = "DAS"
    sources: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    def first_offset(self) -> int:
        """Where its earliest evidence starts (texts without evidence sort last)."""
        return min((m.start for m in self.mentions), default=1 << 62)


def _noisy_or(*probabilities: float) -> float:
    remaining = 1.0
    for p in probabilities:
        remaining *= 1.0 - p
    return 1.0 - remaining


def _outermost(mentions: list[Mention]) -> list[Mention]:
    """Mentions in text order, less those inside another one (same offsets: the first kept)."""
    ordered = sorted(mentions, key=lambda m: (m.start, -m.end, m.source))
    kept: list[Mention] = []
    for mention in ordered:
        if not any(k.start <= mention.start and mention.end <= k.end for k in kept):
            kept.append(mention)
    return kept


def merge_suggestions(
    classifier_scores: Mapping[str, float],
    dp_scores: Mapping[str, float],
    mentions: Sequence[Mention],
    *,
    matcher_score: float,
    lexicon_score: float,
    min_score: float,
    top_k: int,
) -> list[Suggestion]:
    """Ranked suggestions of one document, DP first (empty when nothing reaches ``min_score``).

    ``classifier_scores`` maps codes to the classifier's probability, ``dp_scores`` codes to
    the DP model's probability; both are empty in rules-only mode.
    """
    by_code: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_code.setdefault(mention.code, []).append(mention)

    # Step 2: a mention code goes to the classifier's likeliest refinement of it.
    absorbed: dict[str, list[str]] = {}  # classifier code -> mention codes it absorbs
    for matched in by_code:
        refinements = [c for c in classifier_scores if c != matched and c.startswith(matched)]
        if refinements:
            best = max(refinements, key=lambda c: (classifier_scores[c], c))
            absorbed.setdefault(best, []).append(matched)
    absorbed_codes = {m for ms in absorbed.values() for m in ms}

    candidates: dict[str, Suggestion] = {}
    for code in sorted(set(classifier_scores) | set(by_code)):
        if code in absorbed_codes and code not in classifier_scores:
            continue
        evidence = list(by_code.get(code, []))
        for matched in sorted(absorbed.get(code, [])):
            evidence.extend(by_code[matched])
        sources = [CLASSIFIER] if code in classifier_scores else []
        opinions = [classifier_scores.get(code, 0.0)]
        for source, weight in ((MATCHER, matcher_score), (LEXICON, lexicon_score)):
            if any(m.source == source for m in evidence):
                sources.append(source)
                opinions.append(weight)
        evidence = _outermost(evidence)
        candidates[code] = Suggestion(
            code, _noisy_or(*opinions), sources=sources, mentions=evidence
        )

    # Step 3: a symptom the classifier does not propose yields to any other suggestion.
    symptoms = {
        c for c, s in candidates.items() if c.startswith("R") and CLASSIFIER not in s.sources
    }
    if any(s.score >= min_score for c, s in candidates.items() if c not in symptoms):
        for code in symptoms:
            del candidates[code]

    ranked = sorted(candidates.values(), key=lambda s: (-s.score, s.code))
    kept = [s for s in ranked if s.score >= min_score][:top_k]
    favourite = max(dp_scores.items(), key=lambda item: (item[1], item[0]), default=None)
    if (
        favourite is not None
        and favourite[1] >= min_score
        and favourite[0] in candidates
        and favourite[0] not in {s.code for s in kept}
    ):
        kept = [*kept[: top_k - 1], candidates[favourite[0]]]
    if not kept:
        return []
    principal = max(
        kept,
        key=lambda s: (dp_scores.get(s.code, 0.0), s.score, -s.first_offset(), s.code),
    )
    principal.role = "DP"
    return [principal, *(s for s in kept if s is not principal)]
