"""The coder's term lexicon: how reports write each code, learnt from evidence spans.

The ATIH labels that ``eds.cim10`` matches are rarely what reports write ("DT2", "diabète de
type 2 déséquilibré", "SAOS appareillé" for "Diabète sucré de type 2, sans complication").
Training reads the evidence spans of its documents (expert gold, or the generator's answer
key), normalises each one as edsnlp's matcher does with ``attr="NORM"`` (``eds.normalizer``:
lower case, accents and quotes folded) and keeps a form:

- seen in at least ``lexicon_min_count`` training documents (one annotator's slip, or one
  document repeating itself, does not make a term);
- **unambiguous**: a form written for several codes goes to its majority code only when that
  code holds at least ``lexicon_min_share`` of its documents ("insuffisance cardiaque" as
  ``I509`` in 9 documents of 10, ``I500`` in 1: kept for ``I509``), and is dropped otherwise
  (5 and 5: the text does not tell the code);
- holding a letter and two characters or more (a lone "2" or "D" is no term).

At prediction an ``eds.matcher`` finds the terms (label = code) before the qualifiers, so that
"Pas de DT2" or "père DT2" gives no evidence (:mod:`curation.models.coding.rules`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

#: Format of ``lexicon.json``.
FORMAT = "icd10-lexicon.v1"


@dataclass(frozen=True, slots=True)
class Term:
    """A normalised form, its code, its training documents, and its most frequent spelling
    (what the matcher is given: it normalises it again)."""

    norm: str
    code: str
    count: int
    text: str


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Terms sorted by code then form; empty when training had no evidence spans."""

    terms: tuple[Term, ...] = ()

    def __len__(self) -> int:
        return len(self.terms)

    def patterns(self) -> dict[str, list[str]]:
        """``eds.matcher`` terms: code -> spellings."""
        out: dict[str, list[str]] = {}
        for term in self.terms:
            out.setdefault(term.code, []).append(term.text)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "terms": [asdict(t) for t in self.terms]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lexicon:
        if data.get("format") != FORMAT:
            raise ValueError(f"lexicon format {data.get('format')!r}, expected {FORMAT!r}")
        return cls(tuple(Term(**t) for t in data["terms"]))

    def sha256(self) -> str:
        """Hash of the terms (part of the model version; keys the matcher's pipeline)."""
        payload = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@cache
def _normaliser() -> Any:
    """Tokenizer + ``eds.normalizer``: the ``NORM`` the matcher compares (built in ~1 s)."""
    import edsnlp
    import edsnlp.pipes as eds

    nlp = edsnlp.blank("eds")
    nlp.add_pipe(eds.normalizer())
    return nlp


def normalise_terms(texts: Iterable[str]) -> dict[str, str]:
    """Each distinct text -> its ``NORM`` tokens joined by spaces ("Diabète  de type 2" ->
    "diabete de type 2")."""
    distinct = sorted(set(texts))
    nlp = _normaliser()
    return {
        text: " ".join(tok.norm_ for tok in doc if not tok.is_space)
        for text, doc in zip(distinct, nlp.pipe(distinct), strict=True)
    }


def learn_lexicon(
    documents: Iterable[Iterable[tuple[str, str]]], *, min_count: int, min_share: float
) -> Lexicon:
    """The lexicon of training documents, each given as its evidence ``(text, code)`` pairs."""
    evidence = [{(text.strip(), code) for text, code in doc if text.strip()} for doc in documents]
    norms = normalise_terms(text for doc in evidence for text, _ in doc)
    by_norm: dict[str, Counter[str]] = defaultdict(Counter)  # form -> code -> documents
    spellings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for doc in evidence:
        for norm, code in {(norms[text], code) for text, code in doc}:
            by_norm[norm][code] += 1
        for text, code in doc:
            spellings[(norms[text], code)][text] += 1
    terms = []
    for norm, counts in by_norm.items():
        if len(norm) < 2 or not any(c.isalpha() for c in norm):
            continue
        (code, n), *_ = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if n < min_count or n < min_share * sum(counts.values()):
            continue
        text = min(spellings[(norm, code)].items(), key=lambda item: (-item[1], item[0]))[0]
        terms.append(Term(norm, code, n, text))
    return Lexicon(tuple(sorted(terms, key=lambda t: (t.code, t.norm))))
