"""Treatment response (RECIST-style) of a follow-up imaging or consultation report, with the
sentence that states it as evidence.

One label per document (:data:`RESPONSES`) and its evidence span, labelled with the same
response. Tasks are the imaging and consultation reports that assess a treatment
(:func:`assesses_response`): a diagnosis work-up has no response to give.
"""

import re

from curation.usecases.base import UseCase

RESPONSES = (
    "complete_response",
    "partial_response",
    "stable_disease",
    "progression",
    "not_evaluable",
)

_ASSESSMENT = re.compile(
    r"\b(?:[ée]valuation|r[ée][ée]valuation|suivi|contr[ôo]le)\s+(?:sous|apr[èe]s)\b"
    r"|\bRECIST\b|\br[ée]ponse\s+(?:th[ée]rapeutique|tumorale|au\s+traitement)\b",
    re.IGNORECASE,
)


def assesses_response(text: str) -> bool:
    """Whether a report assesses a treatment ("Évaluation sous ...", "Suivi sous ...", RECIST).

    >>> assesses_response("Indication : Évaluation sous FOLFOX.")
    True
    >>> assesses_response("Indication : Bilan d'extension.")
    False
    """
    return _ASSESSMENT.search(text) is not None


USE_CASE = UseCase(
    id="oncology_response",
    version="v1",
    kind="labels",
    labels=RESPONSES,
    description="RECIST-style treatment response of an imaging or consultation report.",
    preannotator="curation.models.response:build_classifier",
    trainer="curation.models.response:train",
    metric="curation.metrics.response:response_metrics",
    doc_types=("cr_imagerie", "cr_consultation"),
    selector="curation.usecases.oncology_response:assesses_response",
)
