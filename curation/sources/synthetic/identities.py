"""Synthetic identities (Faker ``fr_FR``) and the identifier formats French hospitals write.

Everything here is invented: names, addresses and numbers come from Faker and from a seeded
random generator. NIRs (numéros de sécurité sociale) carry a valid key, computed as
``97 - (number mod 97)`` with Corsica's ``2A``/``2B`` read as ``19``/``18``.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from faker import Faker

from curation.french import MONTHS, nir_key
from curation.sources.synthetic.vocab import (
    COMMON_WORD_SURNAMES,
    HOSPITAL_KINDS,
    MAIL_DOMAINS,
    SAINTS,
)


@dataclass(slots=True)
class Person:
    first: str
    last: str
    sex: str  # "M" or "F"


@dataclass(slots=True)
class Patient(Person):
    birth: date
    street: str
    zip: str
    city: str
    phone: str
    mail: str
    nir: str
    ipp: str


@dataclass(slots=True)
class Clinician(Person):
    title: str  # "Dr" or "Pr"
    role: str


@dataclass(slots=True)
class Hospital:
    site: str
    name: str
    street: str
    zip: str
    city: str
    phone: str
    mail_domain: str


def make_nir(rng: random.Random, sex: str, birth: date) -> str:
    """A NIR with a valid key, spaced the way it is printed on a carte Vitale half the time."""
    dept = rng.choice(["75", "69", "13", "59", "33", "2A", "2B", "44", "67", "31", "06"])
    body = (
        ("1" if sex == "M" else "2")
        + f"{birth.year % 100:02d}{birth.month:02d}"
        + dept
        + f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    )
    key = nir_key(body)
    if rng.random() < 0.5:
        return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key}"
    return body + key


def make_phone(rng: random.Random, mobile: bool = False) -> str:
    """A French phone number in one of the formats found in reports (spaced, dotted, +33...)."""
    first = rng.choice("67") if mobile else rng.choice("12345")
    pairs = [f"{rng.randint(0, 99):02d}" for _ in range(4)]
    style = rng.randrange(6)
    if style == 0:
        return f"0{first} " + " ".join(pairs)
    if style == 1:
        return f"0{first}." + ".".join(pairs)
    if style == 2:
        return f"0{first}" + "".join(pairs)
    if style == 3:
        return f"+33 {first} " + " ".join(pairs)
    if style == 4:
        return f"+33 (0){first} " + " ".join(pairs)
    return f"0{first}-" + "-".join(pairs)


def ascii_slug(text: str) -> str:
    """Lower-case ASCII form of a name for e-mail addresses (``Hélène`` -> ``helene``)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "-".join(folded.lower().replace("'", " ").split())


def format_date(d: date, rng: random.Random) -> str:
    """A date in one of the formats French reports use (``12/03/2024``, ``12 mars 2024``...)."""
    style = rng.randrange(7)
    if style == 0:
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if style == 1:
        return f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}"
    if style == 2:
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if style == 3:
        day = "1er" if d.day == 1 else str(d.day)
        return f"{day} {MONTHS[d.month - 1]} {d.year}"
    if style == 4:
        return d.isoformat()
    if style == 5:
        return f"{d.day:02d}-{d.month:02d}-{d.year}"
    return f"{d.day}/{d.month}/{d.year}"


class IdentityFactory:
    """Draws patients, clinicians and hospitals from one Faker ``fr_FR`` instance.

    The caller reseeds (:meth:`seed`) before each patient so that a patient depends only on
    the corpus seed and the patient's index: generation is deterministic and can be split.
    """

    def __init__(self) -> None:
        self.fake = Faker("fr_FR")

    def seed(self, value: int) -> None:
        self.fake.seed_instance(value)

    def person(self, rng: random.Random, sex: str | None = None) -> Person:
        sex = sex or rng.choice("MF")
        first = self.fake.first_name_male() if sex == "M" else self.fake.first_name_female()
        common = rng.random() < 0.15  # a surname that is also a common word: Petit, Boulanger
        last = rng.choice(COMMON_WORD_SURNAMES) if common else self.fake.last_name()
        return Person(first=first, last=last, sex=sex)

    def patient(self, rng: random.Random, today: date) -> Patient:
        base = self.person(rng)
        birth = today - timedelta(days=rng.randint(18 * 365, 92 * 365))
        mail = f"{ascii_slug(base.first)}.{ascii_slug(base.last)}@{rng.choice(MAIL_DOMAINS)}"
        if rng.random() < 0.3:
            mail = f"{ascii_slug(base.last)}{birth.year % 100:02d}@{rng.choice(MAIL_DOMAINS)}"
        return Patient(
            first=base.first,
            last=base.last,
            sex=base.sex,
            birth=birth,
            street=self.fake.street_address().replace("\n", " "),
            zip=self.fake.postcode(),
            city=self.fake.city(),
            phone=make_phone(rng, mobile=rng.random() < 0.6),
            mail=mail,
            nir=make_nir(rng, base.sex, birth),
            ipp=f"80{rng.randint(0, 99_999_999):08d}",
        )

    def clinician(self, rng: random.Random, role: str) -> Clinician:
        base = self.person(rng)
        title = "Pr" if rng.random() < 0.15 else "Dr"
        return Clinician(first=base.first, last=base.last, sex=base.sex, title=title, role=role)

    def hospital(self, rng: random.Random, site: str) -> Hospital:
        city = self.fake.city()
        name = rng.choice(HOSPITAL_KINDS).format(city=city, saint=rng.choice(SAINTS))
        return Hospital(
            site=site,
            name=name,
            street=self.fake.street_address().replace("\n", " "),
            zip=self.fake.postcode(),
            city=city,
            phone=make_phone(rng),
            mail_domain=f"{site}.fr",
        )
