"""Pseudonymisation: find every identifying span (AP-HP's 13-label schema).

Eponyms in disease names (maladie de Crohn, signe de Babinski) are not identifying.
"""

from curation.usecases.base import UseCase

LABELS = (
    "ADRESSE",
    "DATE",
    "DATE_NAISSANCE",
    "HOPITAL",
    "IPP",
    "MAIL",
    "NDA",
    "NOM",
    "PRENOM",
    "SECU",
    "TEL",
    "VILLE",
    "ZIP",
)

USE_CASE = UseCase(
    id="pseudonymisation",
    version="v1",
    kind="spans",
    labels=LABELS,
    description="Identifying spans (names, dates, contacts, identifiers) to replace.",
    documents="raw",
    preannotator="curation.models.phi:build_detector",
    trainer="curation.models.span_trainer:train",
    metric="curation.metrics.scoring:phi_metrics",
)
