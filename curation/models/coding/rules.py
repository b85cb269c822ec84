"""Rule candidates: affirmed mentions of CIM-10 terms found by edsnlp's ``eds.cim10`` matcher.

The matcher looks up the 42,886 ATIH terms (labels and written codes, on the ``NORM``
attribute: lower case, accents folded); ``eds.negation``, ``eds.hypothesis`` and
``eds.family`` then qualify each match, and a mention that is negated ("Pas d'insuffisance
cardiaque"), hypothetical ("suspicion d'insuffisance cardiaque") or about a relative ("mère
atteinte d'une maladie d'Alzheimer") suggests nothing. ``eds.sentences`` bounds the scope of
the qualifiers. ``eds.family`` reads sections only when ``eds.sections`` runs; ours does not
(hospital reports title their sections freely), so it looks for cues in the sentence alone.

The matcher also knows written codes ("E119", "E 119"); as it compares normalised text,
"tabagisme à 30 PA" would give ``A30`` (leprosy) and "contrôle à J10" ``J10`` (influenza): a
match holding digits is kept only when it is written as a precise code in one piece, with its
upper-case letter (:data:`WRITTEN_CODE`).

The matcher is exact: its recall is low ("diabète de type 2" is not the ATIH label "Diabète
sucré de type 2"), and its precision high. It gives evidence spans and a second opinion; the
trained classifier does most of the recall (:mod:`curation.models.coding.merge`).

Building the pipeline takes 10 to 40 s (every term goes through the tokenizer), so it is built
once per process (:func:`rule_pipeline`) and texts go through ``nlp.pipe`` in batches.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from curation.cim10 import codes, normalise

#: Origin of the rule candidates, in provenance ``sources``.
MATCHER = "cim10_matcher"
#: Qualifier extensions set by edsnlp on each entity; any of them true discards a mention.
QUALIFIERS = ("negation", "hypothesis", "family")


#: A written code the matcher may keep: upper-case letter and at least three digits, in one
#: piece ("E119", "I5002"). Shorter or spaced forms are days, scores or numbers far more
#: often than codes: "contrôle à J10", "Glasgow à 15", "A 233".
WRITTEN_CODE = re.compile(r"[A-Z]\d{3,}")


@dataclass(frozen=True, slots=True)
class Mention:
    """An affirmed mention of a CIM-10 term: character offsets into the exact text."""

    code: str
    start: int
    end: int
    text: str


@cache
def rule_pipeline() -> Any:
    """The edsnlp pipeline (built once per process; the matcher's own progress bar hidden)."""
    import edsnlp
    import edsnlp.pipes as eds

    nlp = edsnlp.blank("eds")
    nlp.add_pipe(eds.sentences())
    nlp.add_pipe(eds.normalizer())
    with contextlib.redirect_stderr(io.StringIO()):  # edsnlp forces a tqdm bar on its terms
        nlp.add_pipe(eds.cim10())
    nlp.add_pipe(eds.negation())
    nlp.add_pipe(eds.hypothesis())
    nlp.add_pipe(eds.family(use_sections=False))
    return nlp


def mentions_of(doc: Any) -> list[Mention]:
    """Affirmed ``eds.cim10`` mentions of one processed document, in text order."""
    known = codes()
    out = []
    for ent in doc.ents:
        if ent.label_ != "cim10" or any(getattr(ent._, q) for q in QUALIFIERS):
            continue
        code = normalise(ent.kb_id_)
        if any(c.isdigit() for c in ent.text) and not WRITTEN_CODE.fullmatch(ent.text):
            continue  # "à 30 PA" normalised to "a 30" is not the code A30
        if code in known:
            out.append(Mention(code, ent.start_char, ent.end_char, ent.text))
    return out


def rule_candidates(texts: Iterable[str], batch_size: int = 64) -> Iterator[list[Mention]]:
    """Affirmed mentions of each text, in input order (streamed through ``nlp.pipe``)."""
    nlp = rule_pipeline()
    for doc in nlp.pipe(texts, batch_size=batch_size):
        yield mentions_of(doc)
