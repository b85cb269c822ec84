"""Structured summary of a hospital stay report, section by section."""

from curation.usecases.base import UseCase

SECTIONS = (
    "motif",
    "antecedents",
    "histoire",
    "examens",
    "diagnostic",
    "traitement_sortie",
    "suivi",
)

USE_CASE = UseCase(
    id="clinical_summary",
    version="v1",
    kind="sections",
    labels=SECTIONS,
    description="Fixed-section structured summary of a hospital stay report.",
)
