"""Names, places and e-mails: casing, gender, initials, hospitals, mails rebuilt from names."""

from __future__ import annotations

import re

from faker import Faker

from curation.schema import Span
from curation.surrogates import DocContext, PatientSurrogates, Pseudonymiser, SurrogateConfig
from curation.surrogates.names import (
    FEMALE_FIRST_NAMES,
    FIRST_NAMES,
    FREE_MAIL_DOMAINS,
    LAST_NAMES,
    MALE_FIRST_NAMES,
)
from curation.surrogates.text import ascii_slug, fold

KEY = b"cle-de-test-noms-0123456789"
FAKE = Faker("fr_FR")


def patient(pid: str = "pat-1", **config: bool) -> PatientSurrogates:
    return PatientSurrogates(KEY, ("patient", pid), SurrogateConfig(**config), FAKE)


def spans_of(text: str, marked: dict[str, str]) -> list[Span]:
    """Spans for each ``mention: label`` (first occurrence)."""
    out = []
    for mention, label in marked.items():
        start = text.index(mention)
        out.append(Span(start, start + len(mention), label, mention))
    return out


def test_casing_is_kept_and_names_compare_without_case_or_accents() -> None:
    p, ctx = patient(), DocContext()
    title = p.make("NOM", "Dupont", ctx)
    assert title in LAST_NAMES
    assert p.make("NOM", "DUPONT", ctx) == title.upper()
    assert p.make("NOM", "dupont", ctx) == title.lower()
    assert p.make("PRENOM", "HÉLÈNE", ctx) == p.make("PRENOM", "Helene", ctx).upper()
    assert fold(title) != "dupont"


def test_gender_is_kept_when_asked() -> None:
    ctx = DocContext()
    for i, name in enumerate(MALE_FIRST_NAMES[:30]):
        assert patient(f"p{i}").make("PRENOM", name, ctx) in MALE_FIRST_NAMES
    for i, name in enumerate(FEMALE_FIRST_NAMES[:30]):
        assert patient(f"p{i}").make("PRENOM", name, ctx) in FEMALE_FIRST_NAMES
    assert patient().make("PRENOM", "Zorglub", ctx) in FIRST_NAMES  # unknown: any gender


def test_gender_is_free_when_not_asked() -> None:
    ctx = DocContext()
    drawn = {patient(f"p{i}", keep_gender=False).make("PRENOM", "Pierre", ctx) for i in range(60)}
    assert drawn & set(FEMALE_FIRST_NAMES) and drawn & set(MALE_FIRST_NAMES)


def test_initials_stay_initials_and_compounds_stay_compound() -> None:
    p, ctx = patient(), DocContext()
    assert re.fullmatch(r"[A-ZÉ]\.", p.make("PRENOM", "J.", ctx))
    assert re.fullmatch(r"[A-ZÉ]\.-[A-ZÉ]\.", p.make("PRENOM", "J.-P.", ctx))
    compound = p.make("PRENOM", "Jean-Pierre", ctx)
    first, second = compound.split("-")
    assert first == p.make("PRENOM", "Jean", ctx) and second == p.make("PRENOM", "Pierre", ctx)
    double = p.make("NOM", "DUPONT-DURAND", ctx)
    assert double == f"{p.make('NOM', 'Dupont', ctx)}-{p.make('NOM', 'Durand', ctx)}".upper()


def test_surrogate_is_never_the_original() -> None:
    ctx = DocContext()
    for i, name in enumerate(LAST_NAMES[:100]):
        assert fold(patient(f"p{i}").make("NOM", name, ctx)) != fold(name)
    for i, city in enumerate(["Lyon", "Saint-Étienne", "Brest", "Gautier"]):
        assert fold(patient(f"p{i}").make("VILLE", city, ctx)) != fold(city)


def test_mail_is_rebuilt_from_the_surrogate_names() -> None:
    text = "Patient : Julien ROBIN, mail julien.robin@free.fr, tél. 06 12 34 56 78."
    spans = spans_of(text, {"Julien": "PRENOM", "ROBIN": "NOM", "julien.robin@free.fr": "MAIL"})
    out = Pseudonymiser(KEY).pseudonymise(text, spans, doc_id="d1", patient_id="p1")
    first, last, mail = (s.text for s in out.spans)
    local, domain = mail.split("@")
    assert local == f"{ascii_slug(first)}.{ascii_slug(last)}"
    assert domain in FREE_MAIL_DOMAINS
    assert "robin" not in mail and "julien" not in mail


def test_mail_with_initial_and_digits() -> None:
    text = "Dr Anne SIMON (a.simon92@gmail.com)"
    spans = spans_of(text, {"Anne": "PRENOM", "SIMON": "NOM", "a.simon92@gmail.com": "MAIL"})
    out = Pseudonymiser(KEY).pseudonymise(text, spans, doc_id="d1", patient_id="p1")
    first, last, mail = (s.text for s in out.spans)
    assert re.fullmatch(rf"{ascii_slug(first)[0]}\.{ascii_slug(last)}\d\d@[a-z.-]+", mail), mail


def test_mail_without_names_is_drawn_and_keeps_its_kind_of_domain() -> None:
    p, ctx = patient(), DocContext()
    mail = p.make("MAIL", "secretariat.oncologie@chu-nord.fr", ctx)
    local, domain = mail.split("@")
    assert local != "secretariat.oncologie"
    assert re.fullmatch(r"chu-[a-z0-9-]+\.fr", domain) and domain != "chu-nord.fr"
    assert p.make("MAIL", "secretariat.oncologie@chu-nord.fr", ctx) == mail  # consistent


def test_hospital_keeps_its_kind_and_agrees_with_the_city() -> None:
    p, ctx = patient(), DocContext()
    city = p.make("VILLE", "Lemoineboeuf", ctx)
    assert p.make("HOPITAL", "Centre Hospitalier de Lemoineboeuf", ctx) == (
        f"Centre Hospitalier de {city}"
    )
    assert p.make("HOPITAL", "CHU DE LEMOINEBOEUF", ctx) == f"CHU DE {city.upper()}"
    saint = p.make("HOPITAL", "Hôpital Saint-Louis", ctx)
    assert re.fullmatch(r"Hôpital Saint-\S+", saint) and saint != "Hôpital Saint-Louis"
    assert p.make("HOPITAL", "Clinique Sainte-Anne", ctx).startswith("Clinique Sainte-")
    other = p.make("HOPITAL", "Hôpital Européen Georges-Pompidou", ctx)
    assert other.startswith("Hôpital de ") and "Pompidou" not in other


def test_address_keeps_its_number_or_lack_of_one() -> None:
    p, ctx = patient(), DocContext()
    assert re.match(r"\d+, ", p.make("ADRESSE", "55, chemin de Allain", ctx))
    assert re.match(r"\d+ [a-zé]", p.make("ADRESSE", "55 chemin de Allain", ctx))
    assert not re.match(r"\d", p.make("ADRESSE", "rue de Reynaud", ctx))
    assert p.make("ADRESSE", "RUE DE REYNAUD", ctx).isupper()
