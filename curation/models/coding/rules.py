"""Rule candidates: affirmed mentions of CIM-10 terms found by edsnlp's ``eds.cim10`` matcher
and of the terms the coder learnt from evidence (:mod:`curation.models.coding.lexicon`).

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

The learnt terms go through an ``eds.matcher`` on ``NORM`` (label = code, span group
:data:`LEXICON`) placed before the qualifiers, which qualify that group as well as the
entities: "DT2" is evidence of ``E1198``, "Pas de DT2" or "père DT2" of nothing.

Building the pipeline takes 10 to 40 s (every term goes through the tokenizer), so it is built
once per process (:func:`rule_pipeline`) and texts go through ``nlp.pipe`` in batches. A
lexicon depends on the model folder: :func:`lexicon_pipeline` assembles, once per lexicon
hash, a pipeline that shares the base pipeline's vocabulary and components and adds the
lexicon's matcher (built in well under a second); the base pipeline is never modified.
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
from curation.models.coding.lexicon import Lexicon

#: Origin of the rule candidates, in provenance ``sources``.
MATCHER = "cim10_matcher"
#: Origin of the learnt terms' candidates, in provenance ``sources``; also their span group.
LEXICON = "coding_lexicon"
#: Qualifier extensions set by edsnlp on each entity; any of them true discards a mention.
QUALIFIERS = ("negation", "hypothesis", "family")


#: A written code the matcher may keep: upper-case letter and at least three digits, in one
#: piece ("E119", "I5002"). Shorter or spaced forms are days, scores or numbers far more
#: often than codes: "contrôle à J10", "Glasgow à 15", "A 233".
WRITTEN_CODE = re.compile(r"[A-Z]\d{3,}")


@dataclass(frozen=True, slots=True)
class Mention:
    """An affirmed mention of a CIM-10 term: character offsets into the exact text, and what
    found it (:data:`MATCHER` or :data:`LEXICON`)."""

    code: str
    start: int
    end: int
    text: str
    source: str = MATCHER


@cache
def rule_pipeline() -> Any:
    """The edsnlp pipeline (built once per process; the matcher's own progress bar hidden).

    Its qualifiers read the entities and the :data:`LEXICON` span group, which only a
    :func:`lexicon_pipeline` fills."""
    import edsnlp
    import edsnlp.pipes as eds

    qualified = ["ents", LEXICON]
    nlp = edsnlp.blank("eds")
    nlp.add_pipe(eds.sentences())
    nlp.add_pipe(eds.normalizer())
    with contextlib.redirect_stderr(io.StringIO()):  # edsnlp forces a tqdm bar on its terms
        nlp.add_pipe(eds.cim10())
    nlp.add_pipe(eds.negation(span_getter=qualified))
    nlp.add_pipe(eds.hypothesis(span_getter=qualified))
    nlp.add_pipe(eds.family(use_sections=False, span_getter=qualified))
    return nlp


_LEXICON_PIPELINES: dict[str, Any] = {}


def lexicon_pipeline(lexicon: Lexicon | None) -> Any:
    """The base pipeline with ``lexicon``'s matcher before the qualifiers (the base pipeline
    itself when the lexicon is empty); assembled once per lexicon hash and process."""
    base = rule_pipeline()
    if not lexicon:
        return base
    key = lexicon.sha256()
    if key not in _LEXICON_PIPELINES:
        import edsnlp.pipes as eds
        from edsnlp.core.pipeline import Pipeline

        nlp = Pipeline("eds", vocab=base.vocab)
        for name, pipe in base.pipeline:
            if name == "negation":
                matcher = eds.matcher(
                    terms=lexicon.patterns(), attr="NORM", span_setter={LEXICON: True}
                )
                nlp.add_pipe(matcher, name=LEXICON)
            nlp.add_pipe(pipe, name=name)
        _LEXICON_PIPELINES[key] = nlp
    return _LEXICON_PIPELINES[key]


def mentions_of(doc: Any) -> list[Mention]:
    """Affirmed ``eds.cim10`` then lexicon mentions of one processed document, each in text
    order (a lexicon code outside the ATIH list is left out)."""
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
    for span in sorted(doc.spans.get(LEXICON, ()), key=lambda s: (s.start, s.end)):
        code = normalise(span.label_)
        if code in known and not any(getattr(span._, q) for q in QUALIFIERS):
            out.append(Mention(code, span.start_char, span.end_char, span.text, LEXICON))
    return out


def rule_candidates(
    texts: Iterable[str], lexicon: Lexicon | None = None, batch_size: int = 64
) -> Iterator[list[Mention]]:
    """Affirmed mentions of each text, in input order (streamed through ``nlp.pipe``)."""
    nlp = lexicon_pipeline(lexicon)
    for doc in nlp.pipe(texts, batch_size=batch_size):
        yield mentions_of(doc)
