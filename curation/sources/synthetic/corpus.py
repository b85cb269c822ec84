"""Patients, stays and documents of the synthetic corpus, with the answer key of every use case.

A patient is drawn from the corpus seed and the patient's index only, so the corpus is
deterministic and can be streamed: :func:`generate_documents` yields one document at a time.

Patients follow a journey: acute-care patients have one to three stays, each with a subset of
consultation, imaging, operative report, hospital report, discharge letter and prescription;
oncology patients go through diagnosis (imaging, biopsy, RCP, announcement), treatment
(surgery, pathology of the specimen, hospital report) and follow-up (imaging and consultation
with the RECIST response).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from curation.schema import Document, Record, Span
from curation.settings import GenerateSettings, SyntheticTrainingCorpus
from curation.sources.synthetic import clinical as cl
from curation.sources.synthetic.builder import DocBuilder, GoldSpan, Noise
from curation.sources.synthetic.context import BiomarkerResult, Ctx, OncoCase, Stay
from curation.sources.synthetic.documents import WRITERS
from curation.sources.synthetic.identities import Clinician, Hospital, IdentityFactory
from curation.sources.synthetic.mcq import make_question
from curation.sources.synthetic.vocab import CANCERS, COMORBIDITIES, CONDITIONS, RESPONSES
from curation.usecases import REGISTRY

ORIGIN = "synthetic-generator"
PSEUDO = "pseudonymisation"
#: Anchor of every date in the corpus (fixed, so that output never depends on today's date).
ANCHOR = date(2025, 6, 30)
ROLES = ("Praticien hospitalier", "Chef de clinique", "Praticien attaché", "Interne")


@dataclass(slots=True)
class Generated:
    """One synthetic document and its answer-key records, by use case."""

    document: Document
    records: dict[str, Record]
    #: Patient-level truth of an oncology patient, on the patient's last document only
    #: (a patient cut short by ``n_documents`` has none).
    patient: dict[str, Any] | None = None


@dataclass(slots=True)
class SiteStaff:
    hospital: Hospital
    clinicians: list[Clinician]


def _staff(settings: GenerateSettings, factory: IdentityFactory) -> dict[str, SiteStaff]:
    """Hospitals and clinicians of each site: the same people sign many documents."""
    staff: dict[str, SiteStaff] = {}
    for site in settings.sites:
        rng = random.Random(f"{settings.seed}:site:{site}")
        factory.seed(rng.getrandbits(64))
        hospital = factory.hospital(rng, site)
        people = [factory.clinician(rng, rng.choice(ROLES)) for _ in range(12)]
        staff[site] = SiteStaff(hospital, people)
    return staff


def _onco_case(rng: random.Random) -> OncoCase:
    cancer = rng.choice(CANCERS)
    site, site_code = rng.choice(cancer.sites)
    markers = [
        BiomarkerResult(m.name, *rng.choice(m.results))
        for m in cancer.biomarkers
        if not m.optional or rng.random() < 0.5
    ]
    metastatic = "M1" in rng.choice(cancer.tnm) or rng.random() < 0.2
    tnm = rng.choice([t for t in cancer.tnm if ("M1" in t) == metastatic] or list(cancer.tnm))
    metastatic = "M1" in tnm  # the stage the reports write is the truth
    treatments = rng.sample(cancer.treatments, k=min(2, len(cancer.treatments)))
    targeted = [  # most patients with a targetable result receive the therapy
        drug
        for m in markers
        if m.status == "positive" and (drug := cancer.targeted.get(m.name)) and rng.random() < 0.7
    ]
    return OncoCase(
        cancer=cancer,
        site=site,
        site_code=site_code,
        histology=rng.choice(cancer.histologies),
        grade=rng.choice(cancer.grades),
        tnm=tnm,
        biomarkers=markers,
        treatments=treatments,
        metastatic=metastatic,
        targeted=targeted,
    )


def _plan(rng: random.Random, oncology: bool, n_stays: int) -> list[tuple[str, list[str]]]:
    """(phase, document types) of each stay of a patient's journey."""
    if oncology:
        journey = [
            ("diagnosis", ["cr_imagerie", "cr_anapath", "fiche_rcp", "cr_consultation"]),
            ("treatment", ["cr_operatoire", "cr_anapath", "crh", "ordonnance"]),
            ("follow_up", ["cr_imagerie", "cr_consultation", "fiche_rcp"]),
        ]
        return journey[:n_stays]
    stays = []
    for _ in range(n_stays):
        kinds = ["crh"]
        if rng.random() < 0.3:
            kinds.insert(0, "cr_consultation")
        if rng.random() < 0.4:
            kinds.insert(len(kinds) - 1, "cr_imagerie")
        kinds.insert(len(kinds) - 1, "cr_operatoire")  # dropped below unless surgical
        if rng.random() < 0.7:
            kinds.append("lettre_liaison")
        if rng.random() < 0.8:
            kinds.append("ordonnance")
        stays.append(("acute", kinds))
    return stays


def _records(doc_id: str, b: DocBuilder, ctx: Ctx, doc_type: str) -> dict[str, Record]:
    """Answer-key records of one document, for the use cases it carries gold for."""

    def spans(items: list[GoldSpan]) -> list[Span]:
        return [Span(s.start, s.end, s.label, s.text) for s in items]

    out = {PSEUDO: Record(doc_id, PSEUDO, ORIGIN, spans=spans(b.spans.get(PSEUDO, [])))}
    codes: list[str] = ctx.facts.get(cl.ICD, [])  # type: ignore[assignment]
    if doc_type in ("crh", "lettre_liaison") and codes:
        out[cl.ICD] = Record(
            doc_id, cl.ICD, ORIGIN, labels=list(codes), spans=spans(b.spans.get(cl.ICD, []))
        )
    onco = b.spans.get(cl.ONCO, [])
    if onco:
        attributes: list[dict[str, Any]] = []
        for i, s in enumerate(onco):
            attrs = {"span": i, "negated": False, "hypothetical": False, "family": False}
            attrs.update(s.attrs)
            attributes.append(attrs)
        relations: list[dict[str, Any]] = ctx.facts.get("relations", [])  # type: ignore[assignment]
        out[cl.ONCO] = Record(
            doc_id, cl.ONCO, ORIGIN, spans=spans(onco), relations=relations, attributes=attributes
        )
    if cl.RESPONSE in ctx.facts:
        out[cl.RESPONSE] = Record(
            doc_id,
            cl.RESPONSE,
            ORIGIN,
            labels=list(ctx.facts[cl.RESPONSE]),  # type: ignore[call-overload]
            spans=spans(b.spans.get(cl.RESPONSE, [])),
        )
    if "summary" in ctx.facts:
        sections: dict[str, str] = ctx.facts["summary"]  # type: ignore[assignment]
        out["clinical_summary"] = Record(doc_id, "clinical_summary", ORIGIN, sections=sections)
        question = make_question(ctx)
        if question is not None:
            out["mcq_generation"] = Record(doc_id, "mcq_generation", ORIGIN, items=[question])
    unknown = set(out) - set(REGISTRY)
    assert not unknown, f"answer key for unregistered use cases {unknown}"
    return out


def patient_documents(
    index: int, settings: GenerateSettings, factory: IdentityFactory, staff: dict[str, SiteStaff]
) -> list[Generated]:
    """Every document of patient ``index`` (deterministic for the corpus seed)."""
    rng = random.Random(f"{settings.seed}:patient:{index}")
    factory.seed(rng.getrandbits(64))
    noise = Noise(settings.noise, rng)
    patient = factory.patient(rng, ANCHOR)
    site = rng.choice(settings.sites)
    team = staff[site]
    gp = factory.clinician(rng, "Médecin généraliste")
    gp_city = factory.fake.city()
    oncology = rng.random() < settings.oncology_share
    onco = _onco_case(rng) if oncology else None
    comorbid = rng.sample(COMORBIDITIES, k=rng.randint(0, 3))
    absent = [c for c in rng.sample(COMORBIDITIES, k=2) if c not in comorbid]
    patient_id = f"pat-{index:07d}"
    start = ANCHOR - timedelta(days=rng.randint(60, 6 * 365))
    out: list[Generated] = []
    n_stays = rng.choice((2, 3, 3)) if oncology else rng.randint(1, 3)
    for s, (phase, kinds) in enumerate(_plan(rng, oncology, n_stays)):
        condition = None if oncology else rng.choice(CONDITIONS)
        admission = start + timedelta(days=120 * s + rng.randint(0, 30))
        stay = Stay(
            stay_id=f"{patient_id}-s{s + 1}",
            nda=f"{admission.year % 100:02d}{rng.randint(0, 9_999_999):07d}",
            admission=admission,
            discharge=admission + timedelta(days=rng.randint(1, 12)),
            specialty=condition.specialty if condition else "oncologie",
            service=condition.service if condition else "Oncologie médicale",
            condition=condition,
            phase=phase,
        )
        if onco is not None and phase == "follow_up":
            onco.responses.append(rng.choice(list(RESPONSES)))
        for kind in kinds:
            if kind == "cr_operatoire" and condition is not None and condition.surgery is None:
                continue
            if settings.doc_types is not None and kind not in settings.doc_types:
                continue
            author = rng.choice(team.clinicians)
            ctx = Ctx(
                rng=rng,
                patient=patient,
                hospital=team.hospital,
                author=author,
                colleagues=[team.clinicians[0], *rng.sample(team.clinicians[1:], k=2)],
                gp=gp,
                gp_city=gp_city,
                stay=stay,
                comorbidities=comorbid,
                absent=absent,
                onco=onco,
                lowercase_name_rate=settings.noise.lowercase_name_rate,
            )
            b = DocBuilder(rng, noise)
            WRITERS[kind](b, ctx)
            doc_id = f"syn-{index:07d}-{len(out) + 1:02d}"
            text = b.text
            doc = Document(
                doc_id=doc_id,
                text=text,
                patient_id=patient_id,
                stay_id=stay.stay_id,
                site=site,
                doc_type=kind,
                specialty=stay.specialty,
                created_at=stay.admission.isoformat(),
                source="synthetic",
            )
            out.append(Generated(doc, _records(doc_id, b, ctx, kind)))
            if onco is not None and onco.diagnosis is None:
                onco.diagnosis = stay.admission
    if onco is not None and out:
        out[-1].patient = onco.truth(patient_id, [g.document.doc_id for g in out])
    return out


def generate_documents(settings: GenerateSettings) -> Iterator[Generated]:
    """Yield ``settings.n_documents`` documents, patient after patient."""
    factory = IdentityFactory()
    staff = _staff(settings, factory)
    produced = 0
    index = 0
    while produced < settings.n_documents:
        for item in patient_documents(index, settings, factory, staff):
            yield item
            produced += 1
            if produced == settings.n_documents:
                return
        index += 1


def training_documents(corpus: SyntheticTrainingCorpus) -> Iterator[Generated]:
    """The synthetic training corpus a trainer uses until expert gold exists: the generator
    with the corpus's own seed, many invented sites and its document types, so the pipeline's
    corpus stays a held-out test."""
    return generate_documents(
        GenerateSettings(
            seed=corpus.seed,
            n_documents=corpus.n_documents,
            sites=[f"train-site-{i}" for i in range(corpus.n_sites)],
            doc_types=corpus.doc_types,
            noise=corpus.noise,
        )
    )
