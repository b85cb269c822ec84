"""What every noise check shares: the flag, its kinds, the fold count and small helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: Kinds of span flags and of document-label flags.
SPAN_KINDS = ("relabel", "spurious", "missed")
LABEL_KINDS = ("label_absent", "label_missing")
#: The token label outside every gold span.
OUTSIDE = "O"


@dataclass(frozen=True, slots=True)
class NoiseFlag:
    """A gold span or document label that the out-of-fold model contradicts with confidence.

    Parameters
    ----------
    doc_id
        The document.
    start, end
        Character offsets of the flagged region (span flags); ``None`` for document labels.
    gold
        The gold label there; ``None`` when the model sees an entity that gold lacks.
    suggested
        The model's label instead; ``None`` when the model says no entity / label absent.
    confidence
        Model probability of ``suggested`` (or of absence), rounded to 4 decimals.
    kind
        ``relabel``, ``spurious`` or ``missed`` for spans; ``label_absent`` or
        ``label_missing`` for document labels.

    Examples
    --------
    >>> NoiseFlag("doc-1", 12, 18, "VILLE", "NOM", 0.97, "relabel").to_dict()["suggested"]
    'NOM'
    """

    doc_id: str
    start: int | None
    end: int | None
    gold: str | None
    suggested: str | None
    confidence: float
    kind: str

    def to_dict(self) -> dict[str, Any]:
        """The flag as a JSON-ready dict (offsets and labels only, no document text)."""
        return asdict(self)


def _text_of(doc_id: str, texts: Mapping[str, str]) -> str:
    try:
        return texts[doc_id]
    except KeyError:
        raise ValueError(
            f"gold {doc_id}: no document text for it; pass the texts of every gold document"
        ) from None


def effective_folds(n_documents: int, folds: int) -> int:
    """Folds actually used: ``folds`` capped by the number of documents, at least 2.

    Returns 0 when there are fewer than two documents (nothing to cross-validate).

    Examples
    --------
    >>> effective_folds(300, 5), effective_folds(3, 5), effective_folds(1, 5)
    (5, 3, 0)
    """
    if n_documents < 2:
        return 0
    return max(2, min(folds, n_documents))


def _by_confidence(flags: list[NoiseFlag]) -> list[NoiseFlag]:
    return sorted(flags, key=lambda f: (-f.confidence, f.doc_id, f.start or 0, f.kind))
