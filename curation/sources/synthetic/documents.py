"""The eight document types of the synthetic corpus, one writer each.

A writer lays out a document the way French hospitals do (letterhead, patient banner, titled
sections, signature) and records gold as it writes. ``WRITERS`` maps ``doc_type`` to writer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from curation.sources.synthetic import clinical as cl
from curation.sources.synthetic.builder import DocBuilder
from curation.sources.synthetic.context import (
    Ctx,
    age,
    banner,
    born,
    day,
    doctor_name,
    join_pieces,
    letterhead,
    patient_name,
    signature,
)
from curation.sources.synthetic.vocab import EPONYM_SENTENCES

Writer = Callable[[DocBuilder, Ctx], None]


def _history(b: DocBuilder, ctx: Ctx) -> None:
    """``Antécédents`` with abbreviations (ATCD, HTA, DT2...) and explicit negations."""
    rng = ctx.rng
    b.title(rng.choice(["Antécédents", "ATCD", "Antécédents médicaux"]))
    if ctx.comorbidities:
        items = [cl.comorbidity(ctx, c) for c in ctx.comorbidities]
        b.line("{items}.", items=join_pieces(list(items)))
    else:
        b.line("Pas d'antécédent notable.")
    for absent in ctx.absent:
        b.line(absent.negation)
    if ctx.onco is not None and rng.random() < 0.5:
        cl.family_history(b, ctx)


def _usual_treatment(b: DocBuilder, ctx: Ctx) -> list[str]:
    drugs = [c.treatment for c in ctx.comorbidities if c.treatment]
    if drugs and b.keep_section():
        b.title(ctx.rng.choice(["Traitement habituel", "TTT habituel", "Traitement à l'entrée"]))
        for drug in drugs:
            b.line(f"- {drug}")
    return drugs


def _discharge_drugs(ctx: Ctx) -> list[str]:
    cond = ctx.stay.condition
    drugs = list(cond.treatments) if cond else []
    return drugs + [c.treatment for c in ctx.comorbidities if c.treatment]


def _reason(ctx: Ctx) -> str:
    cond = ctx.stay.condition
    if cond is not None:
        return cond.mentions[0]
    assert ctx.onco is not None
    return f"{ctx.onco.histology} du {ctx.onco.site}"


def _diagnoses(ctx: Ctx) -> str:
    """``principal (code); associated (code)...`` for the reference summary."""
    codes: list[str] = ctx.facts.get(cl.ICD, [])  # type: ignore[assignment]
    names = [_reason(ctx)] + [c.mentions[-1] for c in ctx.comorbidities]
    return "; ".join(f"{name} ({code})" for name, code in zip(names, codes, strict=False))


def crh(b: DocBuilder, ctx: Ctx) -> None:
    """Compte rendu d'hospitalisation: the fullest document of a stay."""
    rng, stay, cond = ctx.rng, ctx.stay, ctx.stay.condition
    letterhead(b, ctx)
    banner(b, ctx)
    b.line()
    b.line(rng.choice(["COMPTE RENDU D'HOSPITALISATION", "Compte-rendu d'hospitalisation", "CRH"]))
    b.line(
        "Hospitalisation du {a} au {d} (" + stay.service + ").",
        a=day(stay.admission, rng),
        d=day(stay.discharge, rng),
    )
    b.title(rng.choice(["Motif d'hospitalisation", "Motif d'admission", "Motif"]))
    if cond is not None:
        b.line(
            "{name}, {age} ans, hospitalisé(e) pour {dx}.",
            name=patient_name(ctx),
            age=str(age(ctx)),
            dx=cl.dx(ctx, cond),
        )
    else:
        assert ctx.onco is not None
        b.line(
            "{name}, {age} ans, admis(e) pour prise en charge d'un {h} du {s}.",
            name=patient_name(ctx),
            age=str(age(ctx)),
            h=cl.onco(ctx.onco.histology, "HISTOLOGY"),
            s=cl.tumour_site(ctx, ctx.onco),
        )
    _history(b, ctx)
    _usual_treatment(b, ctx)
    if b.keep_section():
        b.title(rng.choice(["Histoire de la maladie", "HDM", "Anamnèse"]))
        symptoms = cond.symptoms if cond else ("asthénie", "amaigrissement")
        b.line(
            "Depuis le {d}, apparition de " + ", ".join(symptoms) + ".",
            d=day(stay.admission - timedelta(days=rng.randint(2, 10)), rng),
        )
    b.title(rng.choice(["Examen clinique", "Examen à l'entrée"]))
    b.line(
        f"TA 13{rng.randint(0, 9)}/8{rng.randint(0, 9)} mmHg, FC {rng.randint(60, 110)}/min, "
        f"SpO2 {rng.randint(90, 99)} % en AA, T {rng.choice(['37,2', '38,4', '36,8'])} °C."
    )
    b.line(rng.choice(EPONYM_SENTENCES))
    findings = (
        list(cond.findings) if cond else [f"{ctx.onco.cancer.imaging} de bilan"] if ctx.onco else []
    )
    b.title(rng.choice(["Examens complémentaires", "Bilan paraclinique", "Examens"]))
    for finding in findings:
        b.line(f"- {finding}")
    if cond and cond.surgery:
        b.line(
            "Prise en charge chirurgicale le {d} : " + cond.surgery + ".",
            d=day(stay.admission + timedelta(days=1), rng),
        )
    b.title(rng.choice(["Évolution", "Evolution dans le service"]))
    b.line("Évolution favorable sous traitement, apyrexie, reprise de l'autonomie.")
    b.title(rng.choice(["Diagnostic retenu", "Conclusion", "Diagnostic de sortie"]))
    if cond is not None:
        b.line("{dx}.", dx=cl.dx(ctx, cond))
    else:
        assert ctx.onco is not None
        cl.histology_sentence(b, ctx, ctx.onco, coded=True)
    drugs = _discharge_drugs(ctx)
    b.title(rng.choice(["Traitement de sortie", "TTT de sortie", "Ordonnance de sortie"]))
    for drug in drugs:
        b.line(f"- {drug}")
    follow = cond.follow_up if cond else "Consultation d'oncologie dans 15 jours."
    b.title(rng.choice(["Suivi", "Conduite à tenir", "Rendez-vous"]))
    b.line(follow)
    signature(b, ctx, stay.discharge)
    ctx.facts["summary"] = {
        "motif": f"Hospitalisation pour {_reason(ctx)}.",
        "antecedents": ", ".join(c.mentions[-1] for c in ctx.comorbidities) or "Aucun.",
        "histoire": ", ".join(cond.symptoms) if cond else "Bilan d'un cancer.",
        "examens": "; ".join(findings),
        "diagnostic": _diagnoses(ctx),
        "traitement_sortie": "; ".join(drugs) or "Aucun.",
        "suivi": follow,
    }


def lettre_liaison(b: DocBuilder, ctx: Ctx) -> None:
    """Lettre de liaison (de sortie) addressed to the general practitioner."""
    rng, stay, cond = ctx.rng, ctx.stay, ctx.stay.condition
    letterhead(b, ctx)
    b.line(rng.choice(["LETTRE DE LIAISON", "Lettre de sortie", "Lettre de liaison à la sortie"]))
    b.line("Destinataire : {gp}", gp=doctor_name(ctx.gp, rng))
    b.line()
    b.line(rng.choice(["Cher confrère,", "Chère consœur, cher confrère,", "Mon cher confrère,"]))
    reason = cl.dx(ctx, cond) if cond else cl.tumour_site(ctx, ctx.onco) if ctx.onco else ""
    lead = "pour " if cond else "pour la prise en charge d'un cancer du "
    b.line(
        "Votre patient(e) {name}, {born}, a été hospitalisé(e) du {a} au {d} " + lead + "{r}.",
        name=patient_name(ctx),
        born=born(ctx),
        a=day(stay.admission, rng),
        d=day(stay.discharge, rng),
        r=reason,
    )
    if ctx.comorbidities and b.keep_section():
        b.line(
            "Pour rappel, ATCD : {items}.",
            items=join_pieces([cl.comorbidity(ctx, c) for c in ctx.comorbidities]),
        )
    b.line("Le séjour s'est déroulé sans complication. TTT de sortie :")
    for drug in _discharge_drugs(ctx):
        b.line(f"  {drug}")
    b.line(cond.follow_up if cond else "Suivi en oncologie.")
    b.line("Je vous prie de croire, cher confrère, à l'assurance de mes sentiments confraternels.")
    signature(b, ctx, stay.discharge)


def ordonnance(b: DocBuilder, ctx: Ctx) -> None:
    """A discharge prescription (ordonnance), with patient weight and a non-renewal mention."""
    rng = ctx.rng
    letterhead(b, ctx)
    b.line("{name}", name=doctor_name(ctx.author, rng))
    b.line("N° RPPS : 10" + "".join(str(rng.randint(0, 9)) for _ in range(9)))
    b.line()
    b.line(rng.choice(["ORDONNANCE", "Ordonnance", "ORDONNANCE DE SORTIE"]))
    b.line("Le {d}", d=day(ctx.stay.discharge, rng))
    b.line(
        "{name}, {born} - Poids : " + str(rng.randint(48, 110)) + " kg",
        name=patient_name(ctx),
        born=born(ctx),
    )
    b.line()
    for drug in _discharge_drugs(ctx) or ["paracétamol 1 g : 1 cp x 3/j si douleur"]:
        b.line(drug)
    b.line(rng.choice(["QSP 1 mois.", "QSP 3 mois, à renouveler 2 fois.", "Non renouvelable."]))
    signature(b, ctx, ctx.stay.discharge)


def cr_operatoire(b: DocBuilder, ctx: Ctx) -> None:
    """Compte rendu opératoire: team, indication, procedure, course, post-operative orders."""
    rng, stay, cond = ctx.rng, ctx.stay, ctx.stay.condition
    surgery = cond.surgery if cond and cond.surgery else ctx.onco.cancer.surgery if ctx.onco else ""
    when = stay.admission + timedelta(days=1)
    letterhead(b, ctx)
    banner(b, ctx)
    b.line()
    b.line(rng.choice(["COMPTE RENDU OPÉRATOIRE", "Compte rendu opératoire", "CRO"]))
    b.line("Date de l'intervention : {d}", d=day(when, rng))
    b.line("Opérateur : {o}", o=doctor_name(ctx.author, rng))
    b.line(
        "Aide : {a} - Anesthésiste : {n}",
        a=doctor_name(ctx.colleagues[1], rng),
        n=doctor_name(ctx.colleagues[2], rng),
    )
    b.title("Indication")
    if cond is not None:
        b.line("{dx} chez un(e) patient(e) de {age} ans.", dx=cl.dx(ctx, cond), age=str(age(ctx)))
    elif ctx.onco is not None:
        b.line(
            "{h} du {s}, {t}, après validation en RCP.",
            h=cl.onco(ctx.onco.histology.capitalize(), "HISTOLOGY"),
            s=cl.tumour_site(ctx, ctx.onco, coded=False),
            t=cl.onco(ctx.onco.tnm, "TNM"),
        )
    b.title("Intervention")
    b.line(surgery.capitalize() + ".")
    b.title(rng.choice(["Déroulement", "Description"]))
    b.line(
        "Installation en décubitus dorsal, anesthésie générale, antibioprophylaxie par "
        "céfazoline 2 g."
    )
    b.line("Exploration sans particularité. Hémostase soigneuse. Fermeture plan par plan.")
    if rng.random() < 0.5:
        b.line("Pièce adressée en anatomopathologie.")
    b.title(rng.choice(["Suites", "Consignes post-opératoires"]))
    b.line("Lever à J1, reprise alimentaire progressive, antalgiques de palier 1.")
    signature(b, ctx, when)


def cr_consultation(b: DocBuilder, ctx: Ctx) -> None:
    """Compte rendu de consultation: pre-admission for acute care, announcement or follow-up in
    oncology (with the treatment response)."""
    rng, stay = ctx.rng, ctx.stay
    letterhead(b, ctx)
    b.line(
        rng.choice(["COMPTE RENDU DE CONSULTATION", "Consultation du jour", "CR de consultation"])
    )
    b.line("Consultation du {d}", d=day(stay.admission, rng))
    b.line("{name}, {born}, vu(e) ce jour.", name=patient_name(ctx), born=born(ctx))
    if ctx.onco is not None:
        case = ctx.onco
        if stay.phase == "follow_up" and case.responses:
            b.line("Suivi sous {t}.", t=cl.onco(case.treatments[-1], "TREATMENT"))
            b.line("Examen clinique : état général conservé, OMS 1.")
            cl.response_sentence(b, ctx, case.responses[-1])
        else:
            b.line(
                "Consultation d'annonce d'un {h} du {s}.",
                h=cl.onco(case.histology, "HISTOLOGY"),
                s=cl.tumour_site(ctx, case, coded=False),
            )
            if rng.random() < 0.5:
                cl.family_history(b, ctx)
            b.line("Le dossier a été présenté en RCP. Proposition expliquée au patient.")
    else:
        cond = stay.condition
        assert cond is not None
        b.line("Adressé(e) par son médecin traitant pour " + ", ".join(cond.symptoms[:2]) + ".")
        _history(b, ctx)
        b.line(rng.choice(EPONYM_SENTENCES))
        b.line("Conclusion : suspicion de {dx}, hospitalisation programmée.", dx=cl.dx(ctx, cond))
    signature(b, ctx, stay.admission)


def cr_imagerie(b: DocBuilder, ctx: Ctx) -> None:
    """Compte rendu d'imagerie: indication, technique, results, conclusion."""
    rng, stay = ctx.rng, ctx.stay
    letterhead(b, ctx)
    onco_case = ctx.onco
    exam = (
        onco_case.cancer.imaging
        if onco_case
        else rng.choice(
            ["radiographie thoracique de face", "scanner thoracique", "échographie abdominale"]
        )
    )
    b.line(f"COMPTE RENDU - {exam.upper()}")
    b.line(
        "Examen du {d} - Demandeur : {dr}",
        d=day(stay.admission, rng),
        dr=doctor_name(ctx.colleagues[1], rng),
    )
    b.line("{name}, {born}", name=patient_name(ctx), born=born(ctx))
    b.title("Indication")
    if onco_case is not None and stay.phase == "follow_up" and onco_case.responses:
        b.line("Évaluation sous {t}.", t=cl.onco(onco_case.treatments[-1], "TREATMENT"))
        b.title(rng.choice(["Technique", "Protocole"]))
        b.line("Acquisition après injection de produit de contraste iodé.")
        b.title("Résultats")
        if onco_case.responses[-1] == "complete_response":
            b.line("Pas de lésion cible résiduelle visible.")
        else:
            b.line(f"Lésion cible du {onco_case.cancer.organ} mesurée à {rng.randint(8, 45)} mm.")
        cl.response_sentence(b, ctx, onco_case.responses[-1])
    elif onco_case is not None:
        b.line("Bilan d'extension.")
        b.title("Résultats")
        b.line(
            f"Masse tissulaire de {rng.randint(12, 60)} mm du {{s}}.",
            s=cl.tumour_site(ctx, onco_case, coded=False),
        )
        if onco_case.metastatic:
            b.line("Lésions secondaires " + onco_case.cancer.metastasis[0] + ".")
        else:
            b.line("Pas de lésion secondaire décelable.")
        b.line(
            "Conclusion : aspect en faveur d'une lésion néoplasique, à confronter à l'histologie."
        )
    else:
        cond = stay.condition
        assert cond is not None
        b.line(", ".join(cond.symptoms[:2]).capitalize() + ".")
        b.title("Résultats")
        b.line(cond.findings[0].split(" : ")[-1].capitalize() + ".")
        b.line("Conclusion : aspect compatible avec une {dx}.", dx=cl.dx(ctx, cond))
    signature(b, ctx, stay.admission)


def cr_anapath(b: DocBuilder, ctx: Ctx) -> None:
    """Compte rendu anatomo-pathologique: specimen, macroscopy, microscopy, IHC/molecular
    biology, conclusion with (p)TNM."""
    rng, stay, case = ctx.rng, ctx.stay, ctx.onco
    assert case is not None
    letterhead(b, ctx)
    b.line("COMPTE RENDU ANATOMO-PATHOLOGIQUE")
    b.line(f"N° d'examen : {stay.admission.year % 100}H{rng.randint(10000, 99999)}")
    b.line(
        "Prélèvement du {d} - Reçu le {r}",
        d=day(stay.admission, rng),
        r=day(stay.admission + timedelta(days=1), rng),
    )
    b.line("{name}, {born}", name=patient_name(ctx), born=born(ctx))
    b.line("Prescripteur : {dr}", dr=doctor_name(ctx.colleagues[1], rng))
    specimen = "pièce opératoire" if stay.phase == "treatment" else "biopsies"
    b.title("Renseignements cliniques")
    b.line(f"Suspicion de néoplasie du {case.cancer.organ}, {specimen}.")
    if b.keep_section():
        b.title("Macroscopie")
        b.line(
            f"{specimen.capitalize()} mesurant au total {rng.randint(5, 40)} mm, incluse en "
            "totalité."
        )
    b.title("Microscopie")
    b.line(
        "Prolifération tumorale d'architecture glandulaire et massive, "
        f"{rng.choice(['sans', 'avec'])} emboles vasculaires."
    )
    b.title(
        rng.choice(
            ["Immunohistochimie et biologie moléculaire", "Biomarqueurs", "Étude complémentaire"]
        )
    )
    cl.biomarker_lines(b, ctx, case)
    b.title("Conclusion")
    cl.histology_sentence(b, ctx, case, coded=False)
    signature(b, ctx, stay.admission + timedelta(days=6))


def fiche_rcp(b: DocBuilder, ctx: Ctx) -> None:
    """Fiche de RCP d'oncologie: participants, case summary, stage, therapeutic proposal."""
    rng, stay, case = ctx.rng, ctx.stay, ctx.onco
    assert case is not None
    letterhead(b, ctx)
    b.line(f"FICHE RCP - ONCOLOGIE {case.cancer.organ.upper()}")
    b.line("RCP du {d}", d=day(stay.admission + timedelta(days=7), rng))
    b.line(
        "Participants : {a}, {b_}, {c}",
        a=doctor_name(ctx.author, rng),
        b_=doctor_name(ctx.colleagues[1], rng),
        c=doctor_name(ctx.colleagues[2], rng),
    )
    b.line("Patient : {name}, {born}", name=patient_name(ctx), born=born(ctx))
    b.title("Histoire")
    b.line(
        "Découverte d'une lésion du {s} en {d}.",
        s=cl.tumour_site(ctx, case, coded=False),
        d=day(stay.admission, rng),
    )
    if rng.random() < 0.5:
        cl.family_history(b, ctx)
        cl.genetic_testing(b, ctx, case)
    b.title("Anatomopathologie")
    cl.histology_sentence(b, ctx, case, coded=False)
    cl.biomarker_lines(b, ctx, case)
    b.title("Stade")
    b.line(
        "{tnm}, " + ("maladie métastatique" if case.metastatic else "maladie localisée") + ".",
        tnm=cl.onco(case.tnm, "TNM"),
    )
    b.title(rng.choice(["Proposition thérapeutique", "Décision de la RCP"]))
    cl.treatment_plan(b, ctx, case)
    if rng.random() < 0.3:
        b.line("Patient(e) éligible à un essai thérapeutique : à discuter en consultation.")
    signature(b, ctx, stay.admission + timedelta(days=7))


WRITERS: dict[str, Writer] = {
    "crh": crh,
    "lettre_liaison": lettre_liaison,
    "cr_operatoire": cr_operatoire,
    "cr_anapath": cr_anapath,
    "fiche_rcp": fiche_rcp,
    "cr_consultation": cr_consultation,
    "cr_imagerie": cr_imagerie,
    "ordonnance": ordonnance,
}
