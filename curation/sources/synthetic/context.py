"""What a document writer knows: the patient, the stay, the hospital, the clinical facts.

Also the shared pieces of every French hospital document (letterhead, patient banner,
signature) and the ways people's names and dates are written, each as gold spans.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from curation.sources.synthetic.builder import DocBuilder, Ent, phi
from curation.sources.synthetic.identities import (
    Clinician,
    Hospital,
    Patient,
    Person,
    ascii_slug,
    format_date,
)
from curation.sources.synthetic.vocab import Cancer, Comorbidity, Condition


@dataclass(slots=True)
class BiomarkerResult:
    name: str
    result: str
    status: str


@dataclass(slots=True)
class OncoCase:
    """A patient's cancer: the facts the oncology answer keys are made of."""

    cancer: Cancer
    site: str
    site_code: str
    histology: str
    grade: str
    tnm: str
    biomarkers: list[BiomarkerResult]
    treatments: list[str]
    metastatic: bool
    targeted: list[str] = field(default_factory=list)  # targeted therapies given
    responses: list[str] = field(default_factory=list)  # one per follow-up
    diagnosis: date | None = None  # date of the first diagnosis document

    def truth(self, patient_id: str, documents: list[str]) -> dict[str, object]:
        """Patient-level ground truth of the structuring deliverable (no identifier but the
        internal patient id; dates are the generator's, before pseudonymisation shifts them)."""
        return {
            "patient_id": patient_id,
            "cancer": self.cancer.key,
            "site": self.site,
            "site_code": self.site_code,
            "histology": self.histology,
            "grade": self.grade,
            "tnm": self.tnm,
            "metastatic": self.metastatic,
            "biomarkers": [
                {"name": m.name, "result": m.result, "status": m.status} for m in self.biomarkers
            ],
            "treatments": [*self.treatments, *self.targeted],
            "responses": list(self.responses),
            "documents": documents,
            "diagnosis_date": self.diagnosis.isoformat() if self.diagnosis else None,
        }


@dataclass(slots=True)
class Stay:
    stay_id: str
    nda: str
    admission: date
    discharge: date
    specialty: str
    service: str
    condition: Condition | None  # None for an oncology stay
    phase: str = "acute"  # acute | diagnosis | treatment | follow_up


@dataclass(slots=True)
class Ctx:
    rng: random.Random
    patient: Patient
    hospital: Hospital
    author: Clinician
    colleagues: list[Clinician]
    gp: Clinician
    gp_city: str
    stay: Stay
    comorbidities: list[Comorbidity]
    absent: list[Comorbidity]
    onco: OncoCase | None
    lowercase_name_rate: float
    facts: dict[str, object] = field(default_factory=dict)


# -- names and dates ------------------------------------------------------------------------


def civility(p: Person) -> str:
    return "M." if p.sex == "M" else "Mme"


def patient_name(ctx: Ctx) -> list[str | Ent]:
    """The patient's name as reports write it: ``M. Jean DUPONT``, ``DUPONT Jean``..."""
    p, rng = ctx.patient, ctx.rng
    if rng.random() < ctx.lowercase_name_rate:  # hard case: lower-case names
        return [phi(p.first.lower(), "PRENOM"), " ", phi(p.last.lower(), "NOM")]
    style = rng.randrange(4)
    if style == 0:
        return [f"{civility(p)} ", phi(p.first, "PRENOM"), " ", phi(p.last.upper(), "NOM")]
    if style == 1:
        return [phi(p.last.upper(), "NOM"), " ", phi(p.first, "PRENOM")]
    if style == 2:
        return [f"{'Monsieur' if p.sex == 'M' else 'Madame'} ", phi(p.last, "NOM")]
    return [f"{civility(p)} ", phi(p.last, "NOM")]


def doctor_name(c: Clinician, rng: random.Random) -> list[str | Ent]:
    """``Dr Jean MARTIN``, ``Dr Martin``, ``Pr J. Martin``."""
    style = rng.randrange(3)
    if style == 0:
        return [f"{c.title} ", phi(c.first, "PRENOM"), " ", phi(c.last.upper(), "NOM")]
    if style == 1:
        return [f"{c.title} ", phi(c.last, "NOM")]
    return [f"{c.title} ", phi(f"{c.first[0]}.", "PRENOM"), " ", phi(c.last, "NOM")]


def day(d: date, rng: random.Random) -> Ent:
    return phi(format_date(d, rng), "DATE")


def born(ctx: Ctx) -> list[str | Ent]:
    """``né le 12/03/1950`` / ``DDN : 12.03.1950`` (DATE_NAISSANCE, decided by context)."""
    p = ctx.patient
    text = format_date(p.birth, ctx.rng)
    cue = ctx.rng.choice(["né(e) le ", "DDN : ", "né le " if p.sex == "M" else "née le "])
    return [cue, phi(text, "DATE_NAISSANCE")]


def age(ctx: Ctx) -> int:
    b, d = ctx.patient.birth, ctx.stay.admission
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


# -- shared blocks --------------------------------------------------------------------------


def letterhead(b: DocBuilder, ctx: Ctx) -> None:
    """Hospital, service, address, phone and secretariat e-mail."""
    h, rng = ctx.hospital, ctx.rng
    b.line("{h}", h=phi(h.name, "HOPITAL"))
    b.line(f"Service : {ctx.stay.service}")
    b.line(
        "{street} - {zip} {city}",
        street=phi(h.street, "ADRESSE"),
        zip=phi(h.zip, "ZIP"),
        city=phi(h.city, "VILLE"),
    )
    mail = f"secretariat.{ascii_slug(ctx.stay.specialty)}@{h.mail_domain}"
    if rng.random() < 0.5:
        b.line(
            "Tél. secrétariat : {tel} - Mail : {mail}",
            tel=phi(h.phone, "TEL"),
            mail=phi(mail, "MAIL"),
        )
    else:
        b.line("Secrétariat : {tel}", tel=phi(h.phone, "TEL"))
    b.line("Chef de service : {name}", name=doctor_name(ctx.colleagues[0], rng))
    b.line()


def banner(b: DocBuilder, ctx: Ctx, *, with_contact: bool = False) -> None:
    """Patient identification block: name, birth date, IPP, NDA, sometimes NIR and address."""
    rng, p = ctx.rng, ctx.patient
    b.line("Patient : {name}, {born}", name=patient_name(ctx), born=born(ctx))
    ipp_cue = rng.choice(["IPP : ", "IPP n° ", "N° patient (IPP) : "])
    nda_cue = rng.choice(["N° de séjour : ", "NDA : ", "N° venue : "])
    b.line(
        "{c1}{ipp}   {c2}{nda}",
        c1=ipp_cue,
        ipp=phi(p.ipp, "IPP"),
        c2=nda_cue,
        nda=phi(ctx.stay.nda, "NDA"),
    )
    if with_contact or rng.random() < 0.3:
        b.line(
            "Adresse : {street}, {zip} {city}",
            street=phi(p.street, "ADRESSE"),
            zip=phi(p.zip, "ZIP"),
            city=phi(p.city, "VILLE"),
        )
        b.line("Tél : {tel}  Courriel : {mail}", tel=phi(p.phone, "TEL"), mail=phi(p.mail, "MAIL"))
    if rng.random() < 0.25:
        b.line("N° SS : {nir}", nir=phi(p.nir, "SECU"))
    b.line(
        "Médecin traitant : {gp} ({city})",
        gp=doctor_name(ctx.gp, rng),
        city=phi(ctx.gp_city, "VILLE"),
    )


def signature(b: DocBuilder, ctx: Ctx, when: date) -> None:
    rng, a = ctx.rng, ctx.author
    b.line()
    if rng.random() < 0.5:
        b.line("{v}, le {d}", v=phi(ctx.hospital.city, "VILLE"), d=day(when, rng))
    b.line("{name}", name=doctor_name(a, rng))
    b.line(f"{a.role} - {ctx.stay.service}")
    if rng.random() < 0.4:
        b.line("Document signé électroniquement le {d}", d=day(when, rng))
    if rng.random() < 0.5:
        b.line("Copie : {gp}, médecin traitant", gp=doctor_name(ctx.gp, rng))


def join_pieces(items: list[Ent], sep: str = ", ") -> list[str | Ent]:
    """``a, b, c`` from gold pieces."""
    out: list[str | Ent] = []
    for i, item in enumerate(items):
        if i:
            out.append(sep)
        out.append(item)
    return out
