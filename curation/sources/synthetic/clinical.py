"""Clinical sentences that carry gold for the coding and oncology use cases.

Each helper writes French report text into a :class:`DocBuilder` and records what it states:
CIM-10 evidence spans (``icd10_coding``), oncology entities with their attributes and
biomarker -> result relations (``oncology_extraction``), response evidence
(``oncology_response``).
"""

from __future__ import annotations

from typing import Any

from curation.sources.synthetic.builder import DocBuilder, Ent
from curation.sources.synthetic.context import Ctx, OncoCase
from curation.sources.synthetic.vocab import RESPONSES, Comorbidity, Condition

ICD = "icd10_coding"
ONCO = "oncology_extraction"
RESPONSE = "oncology_response"


def code(ctx: Ctx, value: str) -> None:
    """Remember ``value`` among the document's codes (principal first, no repeats)."""
    codes: list[str] = ctx.facts.setdefault(ICD, [])  # type: ignore[assignment]
    if value not in codes:
        codes.append(value)


def dx(ctx: Ctx, condition: Condition) -> Ent:
    """A mention of the stay's diagnosis, as CIM-10 evidence."""
    code(ctx, condition.code)
    return Ent(ctx.rng.choice(condition.mentions), ((ICD, condition.code),))


def comorbidity(ctx: Ctx, c: Comorbidity) -> Ent:
    code(ctx, c.code)
    return Ent(ctx.rng.choice(c.mentions), ((ICD, c.code),))


def onco(text: str, label: str, **attrs: Any) -> Ent:
    """An oncology entity; ``attrs`` may set negated, hypothetical, family or status."""
    return Ent(text, ((ONCO, label),), {ONCO: attrs} if attrs else {})


def tumour_site(ctx: Ctx, case: OncoCase, *, coded: bool = True) -> Ent:
    """The tumour site: an oncology entity and, in coded documents, the principal diagnosis."""
    tags: tuple[tuple[str, str], ...] = ((ONCO, "TUMOR_SITE"),)
    if coded:
        code(ctx, case.site_code)
        tags = (*tags, (ICD, case.site_code))
    return Ent(case.site, tags)


#: Genes whose negative result a report may state before the name ("Absence de mutation de KRAS").
GENES = ("EGFR", "KRAS", "NRAS", "BRAF")


def biomarker_lines(b: DocBuilder, ctx: Ctx, case: OncoCase) -> None:
    """One line per biomarker: ``- HER2 : score 3+`` with the relation and the result's status;
    a gene's negative result is sometimes a sentence, result first: ``Absence de mutation de
    KRAS.`` (the relation still goes from the marker to the result)."""
    relations: list[dict[str, Any]] = ctx.facts.setdefault("relations", [])  # type: ignore[assignment]
    rng = ctx.rng
    for marker in case.biomarkers:
        if marker.name in GENES and marker.status == "negative" and rng.random() < 0.3:
            phrase = rng.choice(["Absence de mutation", "Pas de mutation"])
            tail = b.ent(onco(phrase, "BIOMARKER_RESULT", status="negative"))
            b.add(" de l'" if marker.name[0] in "AEIOU" else " de ")
            head = b.ent(onco(marker.name, "BIOMARKER"))
        else:
            b.add(rng.choice(["- ", "* ", ""]))
            head = b.ent(onco(marker.name, "BIOMARKER"))
            b.add(rng.choice([" : ", " ", " = "]))
            tail = b.ent(onco(marker.result, "BIOMARKER_RESULT", status=marker.status))
        relations.append({"from": head[ONCO], "to": tail[ONCO], "type": "has_result"})
        b.line(".")


def genetic_testing(b: DocBuilder, ctx: Ctx, case: OncoCase) -> None:
    """A germline test proposed but not done: a hypothetical BIOMARKER without result."""
    if case.cancer.key != "sein" or any(m.name.startswith("BRCA") for m in case.biomarkers):
        return
    b.line(
        "Une consultation d'oncogénétique sera proposée pour une recherche de mutation {m}.",
        m=onco("BRCA1/2", "BIOMARKER", hypothetical=True),
    )


def histology_sentence(b: DocBuilder, ctx: Ctx, case: OncoCase, *, coded: bool) -> None:
    b.line(
        "{histo} {grade} du {site}, {tnm}.",
        histo=onco(case.histology.capitalize(), "HISTOLOGY"),
        grade=onco(case.grade, "GRADE"),
        site=tumour_site(ctx, case, coded=coded),
        tnm=onco(case.tnm, "TNM"),
    )


def treatment_plan(b: DocBuilder, ctx: Ctx, case: OncoCase) -> None:
    """Proposed treatments, with a hypothetical targeted therapy and a negated one."""
    rng = ctx.rng
    for treatment in case.treatments:
        b.line("- {t}", t=onco(treatment, "TREATMENT"))
    for marker in case.biomarkers:
        drug = case.cancer.targeted.get(marker.name)
        if drug and drug in case.targeted:
            b.line("- thérapie ciblée par {t}", t=onco(drug, "TREATMENT"))
        elif drug and rng.random() < 0.5:
            b.line(
                "En cas de positivité de {m} sur un nouveau prélèvement, un traitement par {t} "
                "pourra être discuté.",
                m=onco(marker.name, "BIOMARKER", hypothetical=True),
                t=onco(drug, "TREATMENT", hypothetical=True),
            )
    if rng.random() < 0.4:
        b.line("Pas d'indication à une {t}.", t=onco("radiothérapie", "TREATMENT", negated=True))


def family_history(b: DocBuilder, ctx: Ctx) -> None:
    """A relative's cancer: a TUMOR_SITE with ``family`` set, never the patient's own disease."""
    relative = ctx.rng.choice(["mère", "père", "sœur", "tante maternelle"])
    organ = ctx.rng.choice(["sein", "côlon", "ovaire", "prostate"])
    b.line(
        "ATCD familiaux : {r} traitée pour un cancer du {o}.".replace(
            "traitée", "traité" if relative == "père" else "traitée"
        ),
        r=relative,
        o=onco(organ, "TUMOR_SITE", family=True),
    )


def response_sentence(b: DocBuilder, ctx: Ctx, label: str) -> None:
    """The RECIST-style conclusion of a follow-up, as evidence for ``oncology_response``."""
    ctx.facts[RESPONSE] = [label]
    text = ctx.rng.choice(RESPONSES[label])
    b.line("Conclusion : {r}.", r=Ent(text, ((RESPONSE, label),)))
