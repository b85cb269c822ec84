"""CIM-10 (ATIH) coding of a hospital document: principal diagnosis first, then the others.

Unit of annotation: one document (a compte rendu d'hospitalisation or a lettre de liaison),
not a stay. The PMSI codes a stay from its discharge documents, and in our corpus (as in
AP-HP's) each stay has one CRH or one letter that states its diagnoses; a task per document
keeps every offset in one immutable text, so evidence spans need no re-mapping, and the
stay is kept in ``stay_id`` for grouping (splits never separate a patient's documents).

Codes are written as in the ATIH list that edsnlp ships, without the dot (``J189``). The
label set is open (any of the 42,886 codes: :func:`curation.cim10.codes`); each code has a
role, marked on its evidence: diagnostic principal (``DP``, one per document, first in
``labels``) or diagnostic associé significatif (``DAS``).
"""

from curation.usecases.base import UseCase

ROLES = ("DP", "DAS")

USE_CASE = UseCase(
    id="icd10_coding",
    version="v1",
    kind="labels",
    labels=(),
    description="CIM-10 codes of a hospital document (principal diagnosis first), with evidence.",
    preannotator="curation.models.coding:build_coder",
    trainer="curation.models.coding:train",
    metric="curation.metrics.coding:coding_metrics",
    roles=ROLES,
    vocabulary="curation.cim10:codes",
    doc_types=("crh", "lettre_liaison"),
)
