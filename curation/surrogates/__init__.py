"""Surrogates for pseudonymisation: realistic French replacements, consistent per patient.

Each identifying span (AP-HP's 13 labels) is replaced by a Faker ``fr_FR`` surrogate of the
same kind, drawn from a secret key and the patient: the same value gets the same surrogate in
all the patient's documents, dates move by one offset per patient (intervals and ages hold)
and keep their format, numbers keep their layout. The real-value -> surrogate mapping is a
secret output, never logged.

>>> from curation.schema import Span
>>> pseudo = Pseudonymiser(b"cle-de-demonstration-0001")
>>> text = "Patient : M. Robin, DDN : 4 juillet 1973"
>>> out = pseudo.pseudonymise(text, [Span(13, 18, "NOM", "Robin"),
...     Span(26, 40, "DATE_NAISSANCE", "4 juillet 1973")], doc_id="d1", patient_id="p1")
>>> out.text.startswith("Patient : M. ") and "Robin" not in out.text
True
"""

from curation.surrogates.generators import MAKERS, DocContext, PatientSurrogates, SurrogateConfig
from curation.surrogates.keys import KeyConfigError, derive_rng, derive_seed, resolve_key
from curation.surrogates.pseudonymiser import (
    PseudonymisedText,
    Pseudonymiser,
    Replacement,
    SpanError,
    patient_parts,
)
from curation.surrogates.records import (
    JsonlIndex,
    RecordFileError,
    RemapCounts,
    TextRewriter,
    remap_record,
)
from curation.surrogates.replace import (
    Edit,
    MappedSpan,
    OffsetMap,
    apply_replacements,
    resolve_overlaps,
)

__all__ = [
    "MAKERS",
    "DocContext",
    "Edit",
    "JsonlIndex",
    "KeyConfigError",
    "MappedSpan",
    "OffsetMap",
    "PatientSurrogates",
    "PseudonymisedText",
    "Pseudonymiser",
    "RecordFileError",
    "RemapCounts",
    "Replacement",
    "SpanError",
    "SurrogateConfig",
    "TextRewriter",
    "apply_replacements",
    "derive_rng",
    "derive_seed",
    "patient_parts",
    "remap_record",
    "resolve_key",
    "resolve_overlaps",
]
