"""Tumour information: site, histology, grade, TNM, biomarkers with result and status."""

from curation.usecases.base import UseCase

LABELS = (
    "TUMOR_SITE",
    "HISTOLOGY",
    "GRADE",
    "TNM",
    "BIOMARKER",
    "BIOMARKER_RESULT",
    "TREATMENT",
)
RELATIONS = ("has_result",)
STATUSES = ("positive", "negative", "equivocal", "not_assessed")

USE_CASE = UseCase(
    id="oncology_extraction",
    version="v1",
    kind="spans",
    labels=LABELS,
    description="Oncology entities with biomarker -> result relations and status attributes.",
)
