"""Pre-annotators of ``clinical_summary``: the offline extractive baseline (section detection
with edsnlp's ``eds.sections`` and TF-IDF sentence ranking). The ``local`` and ``endpoint``
generation back-ends live in :mod:`curation.models.generation`."""

from curation.models.summary.extractive import (
    ExtractiveSummariser,
    SummaryParams,
    build_summariser,
)
from curation.models.summary.sections import Section, find_sections

__all__ = [
    "ExtractiveSummariser",
    "Section",
    "SummaryParams",
    "build_summariser",
    "find_sections",
]
