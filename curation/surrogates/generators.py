"""One surrogate maker per pseudonymisation label, and the surrogates of one patient.

:class:`PatientSurrogates` draws every surrogate of a patient from generators derived from
the secret key, the patient and the value (:mod:`curation.surrogates.keys`): ``Dupont`` gets
the same surrogate in all of the patient's documents, whatever their order, and another one
for another patient. Dates move by the patient's offset, so intervals and ages hold.

Two different values of one patient may, rarely, draw the same surrogate (Faker fr_FR has 400
last names): the cost of surrogates that do not depend on the other values or on order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from faker import Faker

from curation.surrogates import names, numbers
from curation.surrogates.dates import shift_date_text
from curation.surrogates.keys import derive_rng
from curation.surrogates.text import apply_casing, casing, fold
from curation.usecases.pseudonymisation import LABELS


@dataclass(frozen=True, slots=True)
class SurrogateConfig:
    """Tunables of surrogate generation (from ``params.yaml``'s ``pseudonymise`` section)."""

    keep_gender: bool = True
    keep_zip_department: bool = False
    date_shift_min_days: int = 30
    date_shift_max_days: int = 365

    def __post_init__(self) -> None:
        if not 1 <= self.date_shift_min_days <= self.date_shift_max_days:
            raise ValueError("date shift: need 1 <= date_shift_min_days <= date_shift_max_days")


@dataclass(slots=True)
class DocContext:
    """What one document tells the makers, and what they report back.

    ``names`` maps the folded NOM and PRENOM mentions of the document to their label, so that
    an e-mail's local part is recognised as the names it holds.
    """

    names: dict[str, str] = field(default_factory=dict)
    unparsable_dates: int = 0


Maker = Callable[["PatientSurrogates", str, DocContext], str]


def _name(label: str) -> Maker:
    def make(p: PatientSurrogates, original: str, ctx: DocContext) -> str:
        return apply_casing(p.base(label, original), casing(original))

    return make


def _date(p: PatientSurrogates, original: str, ctx: DocContext) -> str:
    text, parsed = shift_date_text(original, p.date_offset, p.rng("DATE", fold(original)))
    if not parsed:
        ctx.unparsable_dates += 1
    return text


def _secu(p: PatientSurrogates, original: str, ctx: DocContext) -> str:
    rng = p.rng("SECU", fold(original))
    out = numbers.nir(original, rng, p.date_offset)
    return out if out is not None else numbers.identifier(original, rng)


def _zip(p: PatientSurrogates, original: str, ctx: DocContext) -> str:
    rng = p.rng("ZIP", original)
    return numbers.postcode(original, rng, keep_department=p.config.keep_zip_department)


def _mail(p: PatientSurrogates, original: str, ctx: DocContext) -> str:
    return names.mail(p, original, ctx)


#: The surrogate maker of each label (its keys are exactly the use case's labels).
MAKERS: dict[str, Maker] = {
    "ADRESSE": _name("ADRESSE"),
    "DATE": _date,
    "DATE_NAISSANCE": _date,
    "HOPITAL": _name("HOPITAL"),
    "IPP": lambda p, original, ctx: numbers.identifier(original, p.rng("IPP", original)),
    "MAIL": _mail,
    "NDA": lambda p, original, ctx: numbers.identifier(original, p.rng("NDA", original)),
    "NOM": _name("NOM"),
    "PRENOM": _name("PRENOM"),
    "SECU": _secu,
    "TEL": lambda p, original, ctx: numbers.phone(original, p.rng("TEL", original)),
    "VILLE": _name("VILLE"),
    "ZIP": _zip,
}
assert set(MAKERS) == set(LABELS), "one surrogate maker per pseudonymisation label"

_BASES: dict[str, Callable[[PatientSurrogates, str], str]] = {
    "NOM": names.last_name,
    "PRENOM": names.first_name,
    "VILLE": names.city,
    "ADRESSE": names.address,
    "HOPITAL": names.hospital,
}


class PatientSurrogates:
    """Every surrogate of one patient, drawn from the key and the patient only.

    Parameters
    ----------
    key
        The secret key (never printed: not in ``repr``).
    patient
        Parts naming the patient: ``("patient", patient_id)``, or ``("document", doc_id)``
        for a document without a patient, which is then its own patient.
    config
        Tunables.
    fake
        A Faker ``fr_FR`` instance, reseeded before each draw.

    Examples
    --------
    >>> p = PatientSurrogates(b"0123456789abcdef", ("patient", "pat-1"), SurrogateConfig(),
    ...                       Faker("fr_FR"))
    >>> ctx = DocContext()
    >>> p.make("NOM", "DUPONT", ctx) == p.make("NOM", "Dupont", ctx).upper()
    True
    """

    def __init__(
        self, key: bytes, patient: tuple[str, str], config: SurrogateConfig, fake: Faker
    ) -> None:
        self._key = key
        self._patient = patient
        self.config = config
        self._fake = fake
        self._bases: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        return f"PatientSurrogates({self._patient[0]}={self._patient[1]!r})"

    def rng(self, *parts: str) -> random.Random:
        """A generator for one draw of this patient: ``HMAC(key, patient | parts)``."""
        return derive_rng(self._key, *self._patient, *parts)

    def faker(self, rng: random.Random) -> Faker:
        """The shared Faker, reseeded from ``rng`` (so its draws are deterministic too)."""
        self._fake.seed_instance(rng.getrandbits(64))
        return self._fake

    @cached_property
    def date_offset(self) -> int:
        """The patient's date shift in days: never 0, at most ``date_shift_max_days``."""
        low, high = self.config.date_shift_min_days, self.config.date_shift_max_days
        rng = self.rng("date-shift")
        return rng.choice((-1, 1)) * rng.randint(low, high)

    def base(self, label: str, original: str) -> str:
        """Surrogate of a name or place in Faker's natural case (memoised per folded value)."""
        key = (label, fold(original))
        if key not in self._bases:
            self._bases[key] = _BASES[label](self, original.strip())
        return self._bases[key]

    def make(self, label: str, original: str, ctx: DocContext) -> str:
        """The surrogate of ``original`` (a ``label`` mention), spaces around it kept."""
        core = original.strip()
        if not core:
            return original
        lead = original[: len(original) - len(original.lstrip())]
        trail = original[len(original.rstrip()) :]
        return lead + MAKERS[label](self, core, ctx) + trail
