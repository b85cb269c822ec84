"""The offline pre-annotator of ``mcq_generation``: QRM items from facts read in the text.

Facts come from rules, so any pseudonymised report works, not only synthetic ones:

- **sections** (history, exams, diagnosis, reason, discharge treatment) from edsnlp's
  ``eds.sections`` with our titles (:mod:`curation.models.summary.sections`);
- **diagnoses**: affirmed ``eds.cim10`` matches (negated, hypothetical and family mentions
  dropped, :mod:`curation.models.coding.rules`), in the diagnosis or conclusion section first,
  then in the reason for admission (anywhere only when the report has neither title; never in
  the history of past illnesses);
- **drugs**: ``eds.drugs`` matches with their ATC codes, discharge treatment first;
- **biomarkers**: :func:`curation.models.oncology.biomarkers.find_biomarkers`, positive and
  affirmed results only;
- **patient**: the age ("74 ans") and the civility (M., Mme) the report writes.

Each template (:mod:`.templates`) gives at most one item per document, checked by
:func:`.validity.check_item`; the record keeps the first valid items in the order of
``templates`` (one by default: the Label Studio config edits one item per task). A report from
which no valid item can be built gets a record without items and a ``reason`` in provenance.
Items depend on the seed and the document id only, never on the order of documents.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from curation.models.mcq.templates import (
    Draft,
    Patient,
    biomarker_item,
    diagnosis_item,
    drug_class_item,
    drug_codes,
)
from curation.models.mcq.validity import check_item, is_valid, normalise
from curation.models.summary.sections import (
    Section,
    section_pipeline,
    sections_of,
    sentences_in,
)
from curation.schema import Record
from curation.settings import PreannotateSettings
from curation.usecases.base import UseCase

__all__ = [
    "TEMPLATES",
    "QuestionWriter",
    "build_question_writer",
    "check_item",
    "is_valid",
    "patient_of",
]

BACKEND = "extractive"
MODEL = "mcq-templates"
#: A change of behaviour is a new version, never an edit of this one.
VERSION = "v1"
TEMPLATES: tuple[str, ...] = ("diagnosis", "biomarker", "drug_class")

_AGE = re.compile(r"\b(\d{1,3})\s?ans\b")
_MAN = re.compile(r"\b(?:Monsieur|M\.|Mr)\s")
_WOMAN = re.compile(r"\b(?:Madame|Mme|Mlle|Mademoiselle)\b")


def patient_of(text: str, sections: Sequence[Section] = ()) -> Patient:
    """Age (in the reason for admission when titled, else the first "NN ans") and sex (the
    first civility) of the patient of a report.

    >>> patient_of("Patient : Mme X\\nMotif\\nMme X, 43 ans, hospitalisée.")
    Patient(age=43, sex='F')
    """
    motif = next((s for s in sections if s.summary == "motif"), None)
    found = _AGE.search(text, motif.start, motif.end) if motif else None
    found = found or _AGE.search(text)
    age = int(found.group(1)) if found and 0 < int(found.group(1)) < 120 else None
    man, woman = _MAN.search(text), _WOMAN.search(text)
    sex = None
    if man or woman:
        sex = "M" if man and (not woman or man.start() < woman.start()) else "F"
    return Patient(age, sex)


class QuestionWriter:
    """Template QRM items for ``(doc_id, text)`` pairs; streams records in input order.

    Parameters
    ----------
    use_case_id
        The use case written in the records (``mcq_generation``).
    seed
        Seed of the option order and distractor choice (with each document's id).
    templates
        Templates tried, in order of preference (:data:`TEMPLATES`).
    max_items
        Items kept per document.
    batch_size
        Documents per ``nlp.pipe`` batch.
    """

    def __init__(
        self,
        use_case_id: str = "mcq_generation",
        *,
        seed: int = 0,
        templates: Sequence[str] = TEMPLATES,
        max_items: int = 1,
        batch_size: int = 32,
    ) -> None:
        unknown = sorted(set(templates) - set(TEMPLATES))
        if unknown:
            raise ValueError(f"unknown templates {unknown}; known: {list(TEMPLATES)}")
        self.use_case_id = use_case_id
        self.seed = seed
        self.templates = tuple(templates)
        self.max_items = max_items
        self.batch_size = batch_size
        self.origin = f"{BACKEND}:{MODEL}.{VERSION}"

    # -- public API ---------------------------------------------------------------------
    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[Record]:
        """One record per document, with ``items`` (possibly none) and ``provenance``."""
        iterator = iter(docs)
        while chunk := list(islice(iterator, self.batch_size)):
            texts = [text for _, text in chunk]
            processed = section_pipeline(drugs=True).pipe(texts, batch_size=self.batch_size)
            mentions = self._diagnoses(texts)
            for (doc_id, _), doc, found in zip(chunk, processed, mentions, strict=True):
                yield self._record(doc_id, doc, found)

    def drafts(self, doc_id: str, text: str) -> tuple[list[Draft], dict[str, str]]:
        """Every valid draft of one document, in template order, and why each template
        that gave none did not."""
        doc = section_pipeline(drugs=True)(text)
        return self._drafts(doc_id, doc, self._diagnoses([text])[0])

    # -- internals --------------------------------------------------------------------------
    def _diagnoses(self, texts: list[str]) -> list[list[Any]]:
        if "diagnosis" not in self.templates:
            return [[] for _ in texts]
        from curation.models.coding.rules import rule_candidates

        return list(rule_candidates(texts, batch_size=self.batch_size))

    def _rng(self, doc_id: str, template: str) -> random.Random:
        return random.Random(f"{self.seed}:{doc_id}:{template}")

    def _record(self, doc_id: str, doc: Any, mentions: list[Any]) -> Record:
        drafts, reasons = self._drafts(doc_id, doc, mentions)
        kept = drafts[: self.max_items]
        provenance: dict[str, Any] = {
            "backend": BACKEND,
            "model": MODEL,
            "version": VERSION,
            "params": {
                "seed": self.seed,
                "templates": list(self.templates),
                "max_items": self.max_items,
            },
            "items": [{"template": d.template, "facts": d.facts} for d in kept],
        }
        if reasons:
            provenance["not_built"] = reasons
        if not kept:
            provenance["reason"] = "no valid item: " + "; ".join(
                f"{t} {r}" for t, r in reasons.items()
            )
        return Record(
            doc_id,
            self.use_case_id,
            self.origin,
            items=[d.item for d in kept],
            provenance=provenance,
        )

    def _drafts(
        self, doc_id: str, doc: Any, mentions: list[Any]
    ) -> tuple[list[Draft], dict[str, str]]:
        text: str = doc.text
        sections = sections_of(doc)
        patient = patient_of(text, sections)
        drafts: list[Draft] = []
        reasons: dict[str, str] = {}
        for template in self.templates:
            rng = self._rng(doc_id, template)
            if template == "diagnosis":
                draft, reason = self._diagnosis(doc, sections, mentions, patient, rng)
            elif template == "drug_class":
                draft, reason = self._drug(doc, sections, patient, rng)
            else:
                draft, reason = self._biomarker(text, patient, rng)
            if draft is not None:
                problems = check_item(draft.item)
                if problems:
                    draft, reason = None, "invalid: " + ", ".join(p.code for p in problems)
            if draft is None:
                reasons[template] = reason
            else:
                drafts.append(draft)
        return drafts, reasons

    def _diagnosis(
        self,
        doc: Any,
        sections: list[Section],
        mentions: list[Any],
        patient: Patient,
        rng: random.Random,
    ) -> tuple[Draft | None, str]:
        titled = any(s.summary in ("diagnostic", "motif") for s in sections)
        ranked: list[tuple[int, int, Any]] = []
        for mention in mentions:
            where = next((s for s in sections if s.title_start <= mention.start < s.end), None)
            summary = where.summary if where else None
            if summary == "diagnostic":
                ranked.append((0, mention.start, mention))
            elif summary == "motif":
                ranked.append((1, mention.start, mention))
            elif not titled and summary != "antecedents":
                ranked.append((2, mention.start, mention))
        if not ranked:
            return None, "no affirmed CIM-10 diagnosis found"
        history = [
            doc.text[a:b]
            for s in sections
            if s.summary == "histoire"
            for a, b in sentences_in(doc, s.start, s.end)
        ]
        exams = [
            doc.text[a:b]
            for s in sections
            if s.summary == "examens"
            for a, b in sentences_in(doc, s.start, s.end)
        ]
        for _, _, mention in sorted(ranked, key=lambda r: (r[0], r[1])):
            draft = diagnosis_item(mention.code, mention.text, history, exams, patient, rng)
            if draft is not None:
                return draft, ""
        return None, "no diagnosis with history or exams to show and enough distractors"

    def _drug(
        self, doc: Any, sections: list[Section], patient: Patient, rng: random.Random
    ) -> tuple[Draft | None, str]:
        discharge = [(s.start, s.end) for s in sections if s.summary == "traitement_sortie"]
        index = drug_codes()
        found: dict[str, tuple[bool, str, tuple[str, ...]]] = {}
        for ent in doc.spans.get("drug", []):
            key = normalise(ent.text)
            codes = tuple(sorted(index.get(key, frozenset({str(ent.kb_id_)}))))
            late = not any(a <= ent.start_char < b for a, b in discharge)
            if key not in found or (found[key][0] and not late):
                found[key] = (late, ent.text.lower() if ent.text.isupper() else ent.text, codes)
        if not found:
            return None, "no drug found"
        for late in (False, True):
            names = sorted(k for k, v in found.items() if v[0] is late)
            rng.shuffle(names)
            for key in names:
                _, written, codes = found[key]
                draft = drug_class_item(written, codes, patient, rng)
                if draft is not None:
                    return draft, ""
        return None, "no drug of a known therapeutic class"

    def _biomarker(
        self, text: str, patient: Patient, rng: random.Random
    ) -> tuple[Draft | None, str]:
        from curation.models.oncology.biomarkers import find_biomarkers

        positive = [
            f
            for f in find_biomarkers(text)
            if f.status == "positive" and f.result is not None and not f.hypothetical
        ]
        if not positive:
            return None, "no positive biomarker found"
        for finding in positive:
            assert finding.result is not None
            draft = biomarker_item(
                finding.marker.text, finding.result.text, finding.name, patient, rng
            )
            if draft is not None:
                return draft, ""
        return None, "no targetable positive biomarker"


def build_question_writer(
    use_case: UseCase, settings: PreannotateSettings, model_dir: Path | str | None = None
) -> QuestionWriter:
    """The template pre-annotator of ``use_case`` (``model_dir`` is unused: nothing is
    trained; ``settings`` carries nothing it reads yet, defaults apply)."""
    del settings, model_dir
    return QuestionWriter(use_case.id)
