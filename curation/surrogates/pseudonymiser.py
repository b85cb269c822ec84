"""Pseudonymise one document: check its spans, draw surrogates, rewrite the text.

:class:`Pseudonymiser` is the pure core shared by the ``pseudonymise`` stage and the file
mode of the command line: text and spans in, new text, new spans, offset map and the secret
replacements out. It logs nothing and its errors name ``doc_id`` and offsets, never text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from faker import Faker

from curation.schema import Span
from curation.surrogates.generators import DocContext, PatientSurrogates, SurrogateConfig
from curation.surrogates.names import is_initials
from curation.surrogates.records import TextRewriter
from curation.surrogates.replace import OffsetMap, apply_replacements, resolve_overlaps
from curation.surrogates.text import fold
from curation.usecases.pseudonymisation import LABELS

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class SpanError(ValueError):
    """A predicted span does not fit its document (offsets, text or label)."""


@dataclass(frozen=True, slots=True)
class Replacement:
    """One replaced mention: old and new offsets, the original and its surrogate (secret)."""

    start: int
    end: int
    label: str
    original: str
    surrogate: str
    new_start: int
    new_end: int

    def to_mapping(self, doc_id: str) -> dict[str, Any]:
        """A line of the secret mapping file."""
        return {
            "doc_id": doc_id,
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "original": self.original,
            "surrogate": self.surrogate,
            "new_start": self.new_start,
            "new_end": self.new_end,
        }


@dataclass(slots=True)
class PseudonymisedText:
    """A pseudonymised document: its new text and spans, and how to move other offsets."""

    text: str
    spans: list[Span]
    offsets: OffsetMap
    replacements: list[Replacement] = field(default_factory=list)
    unparsable_dates: int = 0
    merged_overlaps: int = 0

    def rewriter(self) -> TextRewriter:
        """Replaces this document's originals in free text that quotes it."""
        return TextRewriter({r.original: r.surrogate for r in self.replacements})


def patient_parts(doc_id: str, patient_id: str | None) -> tuple[str, str]:
    """Who a document belongs to: its patient, or itself when it has no patient_id."""
    return ("patient", patient_id) if patient_id else ("document", doc_id)


class Pseudonymiser:
    """Surrogates for the documents of many patients, from one secret key.

    Parameters
    ----------
    key
        The secret key (:func:`curation.surrogates.keys.resolve_key`); never shown.
    config
        Tunables (gender, postcode department, date shift range).

    Examples
    --------
    >>> pseudo = Pseudonymiser(b"cle-de-test-0123456789")
    >>> text = "Mme DUPONT, née le 12/03/1961, revue le 02/04/2024."
    >>> spans = [Span(4, 10, "NOM", "DUPONT"), Span(19, 29, "DATE_NAISSANCE", "12/03/1961"),
    ...          Span(40, 50, "DATE", "02/04/2024")]
    >>> out = pseudo.pseudonymise(text, spans, doc_id="d1", patient_id="p1")
    >>> [s.text.isupper() for s in out.spans][0], all(out.text[s.start:s.end] == s.text
    ...                                                for s in out.spans)
    (True, True)
    """

    def __init__(self, key: bytes, config: SurrogateConfig | None = None) -> None:
        self._key = key
        self.config = config or SurrogateConfig()
        self._fake = Faker("fr_FR")
        self._last: PatientSurrogates | None = None
        self._last_parts: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"Pseudonymiser({self.config!r})"

    def patient(self, doc_id: str, patient_id: str | None) -> PatientSurrogates:
        """The surrogates of the document's patient (kept while the same patient follows)."""
        parts = patient_parts(doc_id, patient_id)
        if self._last is None or self._last_parts != parts:
            self._last = PatientSurrogates(self._key, parts, self.config, self._fake)
            self._last_parts = parts
        return self._last

    @staticmethod
    def check_spans(text: str, spans: list[Span], doc_id: str) -> None:
        """Refuse a span outside the text, whose text differs, or with an unknown label."""
        for span in spans:
            where = f"doc_id {doc_id!r}, span {span.start}:{span.end} ({span.label})"
            if span.label not in LABELS:
                known = ", ".join(LABELS)
                raise SpanError(f"{where}: unknown label; pseudonymisation labels are {known}")
            if not 0 <= span.start <= span.end <= len(text):
                raise SpanError(f"{where}: outside the document ({len(text)} characters)")
            if text[span.start : span.end] != span.text:
                raise SpanError(
                    f"{where}: span text differs from the document at these offsets; "
                    "predictions must refer to the stored text"
                )

    def pseudonymise(
        self, text: str, spans: list[Span], *, doc_id: str, patient_id: str | None = None
    ) -> PseudonymisedText:
        """Replace every span of ``text`` by a surrogate of its patient.

        Raises
        ------
        SpanError
            A span does not fit the text (see :meth:`check_spans`).
        """
        self.check_spans(text, spans, doc_id)
        resolved, merges = resolve_overlaps(text, spans)
        patient = self.patient(doc_id, patient_id)
        ctx = DocContext(names=_names(resolved))
        new_text, new_spans, offsets = apply_replacements(
            text, resolved, lambda s: patient.make(s.label, s.text, ctx)
        )
        replacements = [
            Replacement(old.start, old.end, old.label, old.text, new.text, new.start, new.end)
            for old, new in zip(resolved, new_spans, strict=True)
        ]
        return PseudonymisedText(
            new_text, new_spans, offsets, replacements, ctx.unparsable_dates, merges
        )

    def shift_timestamp(self, value: str, *, doc_id: str, patient_id: str | None) -> str | None:
        """An ISO date or timestamp (``created_at``) moved by the patient's date offset.

        ``None`` when ``value`` does not start with an ISO date: left as it is, it could undo
        the shift of the dates in the text.
        """
        m = _ISO_DATE.match(value)
        if m is None:
            return None
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            shifted = day + timedelta(days=self.patient(doc_id, patient_id).date_offset)
        except (ValueError, OverflowError):
            return None
        return shifted.isoformat() + value[m.end() :]


def _names(spans: list[Span]) -> dict[str, str]:
    """Folded NOM and PRENOM mentions of a document (and the parts of compound ones)."""
    out: dict[str, str] = {}
    for span in spans:
        if span.label not in ("NOM", "PRENOM") or is_initials(span.text):
            continue
        for part in re.split(r"[-\s]+", span.text):
            if len(part) > 1:
                out.setdefault(fold(part), span.label)
    return out
