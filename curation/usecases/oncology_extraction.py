"""Tumour information of pathology reports and RCP forms: site, histology, grade, TNM,
biomarkers with their result, treatments; biomarker -> result relations; a status on every
result and context flags (negated, hypothetical, family) on every entity.

Records hold ``spans``, ``relations`` (``{"from": i, "to": j, "type": "has_result"}``, span
indexes, from the BIOMARKER to its BIOMARKER_RESULT) and one ``attributes`` entry per span:
``{"span": i, "negated": bool, "hypothetical": bool, "family": bool}``, plus ``"status"``
(:data:`STATUSES`) on a BIOMARKER_RESULT. A negative result ("absence de mutation") is a
status, never the negated flag: the guide is ``annotation_configs/guides/oncology_extraction.md``.
"""

from curation.usecases.base import SpanAttribute, UseCase

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
FLAGS = ("negated", "hypothetical", "family")

USE_CASE = UseCase(
    id="oncology_extraction",
    version="v1",
    kind="spans",
    labels=LABELS,
    description="Oncology entities with biomarker -> result relations and status attributes.",
    preannotator="curation.models.oncology:build_extractor",
    trainer="curation.models.oncology:train",
    metric="curation.metrics.oncology:extraction_metrics",
    doc_types=("cr_anapath", "fiche_rcp"),
    relations=RELATIONS,
    relation_ends=(("has_result", "BIOMARKER", "BIOMARKER_RESULT"),),
    span_attributes=(
        *(SpanAttribute(flag) for flag in FLAGS),
        SpanAttribute("status", values=STATUSES, labels=("BIOMARKER_RESULT",)),
    ),
)
