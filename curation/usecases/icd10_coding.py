"""CIM-10 (ATIH) coding of a hospital document: principal diagnosis first, then the others.

Codes are written as in the ATIH list that edsnlp ships, without the dot (``J189``).
The label set is open-ended (any of the ~42,000 codes), so ``labels`` holds the roles.
"""

from curation.usecases.base import UseCase

ROLES = ("DP", "DAS")

USE_CASE = UseCase(
    id="icd10_coding",
    version="v1",
    kind="labels",
    labels=ROLES,
    description="CIM-10 codes of a hospital document (principal diagnosis first), with evidence.",
    metric="curation.metrics.coding:coding_metrics",
)
