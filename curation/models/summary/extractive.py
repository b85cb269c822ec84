"""The offline baseline of ``clinical_summary``: each summary section is a few sentences copied
from the matching sections of the report.

1. **Sections**: titles found by edsnlp's ``eds.sections`` with our additions, mapped to the
   seven summary sections (:mod:`curation.models.summary.sections`). Several report sections
   may feed one summary section ("Conclusion" and "Diagnostic retenu" -> ``diagnostic``); a
   summary section the report has no title for stays empty.
2. **Sentences**: ``eds.sentences``, a bullet starting a new one, clipped to the section.
3. **Ranking**, when a section's sentences exceed its character budget: each sentence scores
   ``w * position + (1 - w) * centrality``, where position is ``1 - i / n`` (reports put the
   point first) and centrality the cosine similarity of its TF-IDF vector (scikit-learn, fitted
   on the document's sentences) to the mean vector of its section (the sentence most like
   the others says what the section is about). Sentences are taken best first while they fit,
   the best always (cut at a word with " […]" if it alone is over budget), and written back in
   text order, one per line.

The draft is deterministic: no sampling, ties go to the earlier sentence.

Examples
--------
>>> text = ("Motif d'hospitalisation\\nDyspnée aiguë.\\n\\nConclusion\\nEmbolie pulmonaire "
...         "bilatérale.\\n\\nSuivi\\nConsultation de médecine vasculaire à 3 mois.\\n")
>>> summary = ExtractiveSummariser().summarise(text)
>>> summary["motif"], summary["diagnostic"], summary["antecedents"]
('Dyspnée aiguë.', 'Embolie pulmonaire bilatérale.', '')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from curation.models.summary.sections import section_pipeline, sections_of, sentences_in
from curation.schema import Record
from curation.settings import PreannotateSettings
from curation.usecases.base import UseCase
from curation.usecases.clinical_summary import SECTIONS

BACKEND = "extractive"
MODEL = "sections-tfidf"
#: A change of behaviour is a new version, never an edit of this one.
VERSION = "v1"

#: Characters per summary section: short for the reason and the diagnosis, longer for lists.
DEFAULT_BUDGETS: Mapping[str, int] = MappingProxyType(
    {
        "motif": 200,
        "antecedents": 300,
        "histoire": 400,
        "examens": 400,
        "diagnostic": 250,
        "traitement_sortie": 400,
        "suivi": 250,
    }
)
_CUT = " […]"


@dataclass(frozen=True, slots=True)
class SummaryParams:
    """Tunables of the extractive summary, recorded in every record's provenance.

    Parameters
    ----------
    budgets
        Characters per summary section (sentences joined by line breaks).
    position_weight
        Weight of the position score against TF-IDF centrality, in ``[0, 1]``.
    batch_size
        Documents per ``nlp.pipe`` batch.
    """

    budgets: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    position_weight: float = 0.5
    batch_size: int = 32

    def __post_init__(self) -> None:
        unknown = sorted(set(self.budgets) - set(SECTIONS))
        if unknown:
            raise ValueError(f"budgets for unknown summary sections {unknown}; known: {SECTIONS}")
        if not 0.0 <= self.position_weight <= 1.0:
            raise ValueError("position_weight must lie in [0, 1]")

    def budget(self, section: str) -> int:
        return int(self.budgets.get(section, DEFAULT_BUDGETS[section]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "budgets": {s: self.budget(s) for s in SECTIONS},
            "position_weight": self.position_weight,
        }


def centrality(sentences: Sequence[str], groups: Sequence[int]) -> np.ndarray:
    """Cosine similarity of each sentence's TF-IDF vector to the mean vector of its group
    (its section); 0 where the document has no usable word.

    >>> centrality(["Fièvre et toux.", "Toux productive.", "Radiographie normale."], [0, 0, 1])
    array([0.8, 0.8, 1. ])
    """
    scores = np.zeros(len(sentences))
    try:
        matrix = TfidfVectorizer(strip_accents="unicode", lowercase=True).fit_transform(sentences)
    except ValueError:  # no word at all (empty vocabulary)
        return scores
    dense = matrix.toarray()
    labels = np.asarray(groups)
    for group in np.unique(labels):
        rows = np.flatnonzero(labels == group)
        centroid = dense[rows].mean(axis=0)
        norm = np.linalg.norm(centroid)
        if norm == 0:
            continue
        for row in rows:
            length = np.linalg.norm(dense[row])
            if length:
                scores[row] = float(dense[row] @ centroid) / (length * norm)
    return np.round(scores, 2)


def select(sentences: Sequence[str], scores: Sequence[float], budget: int) -> list[int]:
    """Indexes of the sentences kept, in text order: best first while they fit in ``budget``
    characters (with one line break between two), the best one always.

    >>> select(["a" * 50, "b" * 30, "c" * 30], [0.2, 0.9, 0.5], budget=70)
    [1, 2]
    """
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    used = 0
    for i in order:
        cost = len(sentences[i]) + (1 if kept else 0)
        if not kept or used + cost <= budget:
            kept.append(i)
            used += cost
    return sorted(kept)


def _shorten(sentence: str, budget: int) -> str:
    """``sentence`` cut at a word boundary to fit ``budget`` characters, marked " […]"."""
    if len(sentence) <= budget:
        return sentence
    room = max(budget - len(_CUT), 1)
    head = sentence[:room]
    cut = head.rfind(" ")
    return (head[:cut] if cut > room // 2 else head).rstrip(" ,;:") + _CUT


class ExtractiveSummariser:
    """Extractive drafts of the seven summary sections; streams records in input order.

    Parameters
    ----------
    use_case_id
        The use case written in the records (``clinical_summary``).
    params
        Budgets and ranking weights (:class:`SummaryParams`).
    """

    def __init__(
        self, use_case_id: str = "clinical_summary", params: SummaryParams | None = None
    ) -> None:
        self.use_case_id = use_case_id
        self.params = params or SummaryParams()
        self.origin = f"{BACKEND}:{MODEL}.{VERSION}"

    # -- public API ---------------------------------------------------------------------
    def summarise(self, text: str) -> dict[str, str]:
        """The seven sections of one report (empty string where it has none)."""
        return self._summarise_doc(section_pipeline()(text))[0]

    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[Record]:
        """One record per ``(doc_id, text)``, with ``sections`` and ``provenance``."""
        nlp = section_pipeline()
        iterator = iter(docs)
        while chunk := list(islice(iterator, self.params.batch_size)):
            processed = nlp.pipe([text for _, text in chunk], batch_size=self.params.batch_size)
            for (doc_id, _), doc in zip(chunk, processed, strict=True):
                sections, found = self._summarise_doc(doc)
                provenance: dict[str, Any] = {
                    "backend": BACKEND,
                    "model": MODEL,
                    "version": VERSION,
                    "params": self.params.to_dict(),
                    "sections_found": found,
                }
                if not found:
                    provenance["reason"] = "no section title recognised"
                yield Record(
                    doc_id, self.use_case_id, self.origin, sections=sections, provenance=provenance
                )

    # -- internals --------------------------------------------------------------------------
    def _summarise_doc(self, doc: Any) -> tuple[dict[str, str], list[str]]:
        """Sections of a processed document, and the summary sections it has titles for."""
        text: str = doc.text
        pieces: list[str] = []
        groups: list[int] = []
        for section in sections_of(doc):
            if section.summary is None:
                continue
            for a, b in sentences_in(doc, section.start, section.end):
                pieces.append(text[a:b])
                groups.append(SECTIONS.index(section.summary))
        found = [s for i, s in enumerate(SECTIONS) if i in groups]
        central = centrality(pieces, groups) if pieces else np.zeros(0)
        out: dict[str, str] = {}
        weight = self.params.position_weight
        for g, name in enumerate(SECTIONS):
            rows = [i for i, group in enumerate(groups) if group == g]
            if not rows:
                out[name] = ""
                continue
            n = len(rows)
            scores = [weight * (1 - k / n) + (1 - weight) * central[i] for k, i in enumerate(rows)]
            sentences = [pieces[i] for i in rows]
            budget = self.params.budget(name)
            kept = [sentences[k] for k in select(sentences, scores, budget)]
            if len(kept) == 1:
                kept = [_shorten(kept[0], budget)]
            out[name] = "\n".join(kept)
        return out, found


def build_summariser(
    use_case: UseCase, settings: PreannotateSettings, model_dir: Path | str | None = None
) -> ExtractiveSummariser:
    """The extractive pre-annotator of ``use_case`` (``model_dir`` is unused: nothing is
    trained; ``settings`` carries nothing it reads yet, default budgets apply)."""
    del settings, model_dir
    return ExtractiveSummariser(use_case.id)
