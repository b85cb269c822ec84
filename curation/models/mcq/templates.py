"""QRM templates from structured facts: what a teacher asks about a case, and where the
distractors come from.

Three templates, each a pure function of facts read in the document (see
:mod:`curation.models.mcq`) and of a seeded ``random.Random``:

- ``diagnosis``: "Quel est le diagnostic le plus probable ?" from the case's history and key
  exams; the answer is the CIM-10 label of the diagnosis, the distractors are other
  categories of the **same CIM-10 block** (:func:`curation.cim10.block`), then of the nearest
  categories of the same chapter when the block is too small, with their French ATIH labels;
- ``drug_class``: "À quelle classe thérapeutique appartient ce médicament ?"; the answers are
  the classes of every ATC code edsnlp gives the drug's name (aspirin is both an antiplatelet
  and an analgesic), the distractors other classes, of the same ATC anatomical group first;
- ``biomarker``: "Quel traitement est spécifiquement indiqué au vu de ce résultat ?" for a
  positive, targetable biomarker; the distractors are therapies aimed at other markers.

edsnlp ships the ATC *codes* of substances (``resources/drugs.json``, used by ``eds.drugs``) but
no class names, and no biomarker -> therapy table: :data:`ATC_CLASSES` and
:data:`TARGETED_THERAPIES` are small tables written here, from the WHO ATC index (level 4,
French names as the ANSM writes them) and from the French guidelines (INCa, ESMO) for the
targeted therapies.

Examples
--------
>>> import random
>>> draft = drug_class_item("bisoprolol", ("C07AB07",), Patient(74, "M"), random.Random(0))
>>> draft.item["stem"]
"Un homme de 74 ans sort d'hospitalisation avec une prescription de bisoprolol. À quelle(s) \
classe(s) thérapeutique(s) appartient ce médicament ?"
>>> [draft.item["options"][a] for a in draft.item["answers"]]
['bêtabloquant cardiosélectif']
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from curation import cim10
from curation.models.mcq.validity import LETTERS, contains, detector, normalise

#: ATC prefixes (level 4, a few level 3) -> French therapeutic class.
ATC_CLASSES: dict[str, str] = {
    "A02BC": "inhibiteur de la pompe à protons",
    "A07EA": "corticoïde à action intestinale locale",
    "A07EC": "aminosalicylé",
    "A10A": "insuline",
    "A10BA": "biguanide",
    "A10BB": "sulfamide hypoglycémiant",
    "A10BH": "inhibiteur de la DPP-4 (gliptine)",
    "A10BK": "inhibiteur du SGLT2 (gliflozine)",
    "B01AA": "antivitamine K",
    "B01AB": "héparine",
    "B01AC": "antiagrégant plaquettaire",
    "B01AE": "inhibiteur direct de la thrombine",
    "B01AF": "anticoagulant oral direct anti-Xa",
    "B03AA": "fer par voie orale",
    "C01AA": "digitalique",
    "C01BD": "antiarythmique de classe III",
    "C03AA": "diurétique thiazidique",
    "C03CA": "diurétique de l'anse",
    "C03DA": "antagoniste de l'aldostérone",
    "C07AB": "bêtabloquant cardiosélectif",
    "C08CA": "inhibiteur calcique dihydropyridinique",
    "C09AA": "inhibiteur de l'enzyme de conversion",
    "C09CA": "antagoniste des récepteurs de l'angiotensine II",
    "C10AA": "statine",
    "H02AB": "glucocorticoïde",
    "H03AA": "hormone thyroïdienne",
    "J01CA": "pénicilline à large spectre",
    "J01CR": "pénicilline associée à un inhibiteur de bêtalactamase",
    "J01DD": "céphalosporine de troisième génération",
    "J01FA": "macrolide",
    "J01MA": "fluoroquinolone",
    "J05AB": "antiviral nucléosidique",
    "L01BA": "antimétabolite analogue de l'acide folique",
    "L01CD": "taxane",
    "L01XA": "sel de platine",
    "L01XC": "anticorps monoclonal antinéoplasique",
    "L01XE": "inhibiteur de protéine kinase",
    "L02BA": "anti-œstrogène",
    "L02BG": "inhibiteur de l'aromatase",
    "L04AB": "inhibiteur du TNF alpha",
    "M01AE": "anti-inflammatoire non stéroïdien",
    "M04AA": "inhibiteur de la xanthine oxydase",
    "N02AA": "opioïde fort",
    "N02AX": "opioïde faible",
    "N02BA": "antalgique salicylé",
    "N02BE": "antalgique antipyrétique (anilide)",
    "N03AX": "antiépileptique",
    "N04BA": "précurseur de la dopamine",
    "N05BA": "benzodiazépine anxiolytique",
    "N06AB": "inhibiteur sélectif de la recapture de la sérotonine",
    "N06DA": "anticholinestérasique",
    "R03AC": "bêta-2 mimétique inhalé",
    "R03BA": "corticoïde inhalé",
    "R03BB": "anticholinergique inhalé",
    "R06AE": "antihistaminique H1",
}


@dataclass(frozen=True, slots=True)
class TargetedTherapy:
    """A therapy aimed at a biomarker: the ``markers`` it targets (canonical names of
    :mod:`curation.models.oncology.biomarker_status`), why, and a ``requires`` pattern the
    result must show (sotorasib: the KRAS G12C variant only)."""

    drug: str
    markers: frozenset[str]
    rationale: str
    requires: str | None = None


TARGETED_THERAPIES: tuple[TargetedTherapy, ...] = (
    TargetedTherapy(
        "trastuzumab",
        frozenset({"HER2"}),
        "anticorps monoclonal anti-HER2, indiqué si HER2 est surexprimé (3+) ou amplifié",
    ),
    TargetedTherapy(
        "osimertinib",
        frozenset({"EGFR"}),
        "inhibiteur de tyrosine kinase de l'EGFR, indiqué sur une mutation activatrice",
    ),
    TargetedTherapy(
        "alectinib",
        frozenset({"ALK"}),
        "inhibiteur de tyrosine kinase d'ALK, indiqué sur un réarrangement d'ALK",
    ),
    TargetedTherapy(
        "crizotinib",
        frozenset({"ROS1", "ALK"}),
        "inhibiteur de tyrosine kinase de ROS1 (et d'ALK), indiqué sur un réarrangement de ROS1",
    ),
    TargetedTherapy(
        "sotorasib",
        frozenset({"KRAS"}),
        "inhibiteur de KRAS G12C, indiqué sur ce seul variant",
        requires=r"g12c",
    ),
    TargetedTherapy(
        "olaparib",
        frozenset({"BRCA", "BRCA1", "BRCA2"}),
        "inhibiteur de PARP, indiqué sur une mutation pathogène de BRCA1/2",
    ),
    TargetedTherapy(
        "pembrolizumab",
        frozenset({"MSI", "PDL1"}),
        "anticorps anti-PD-1, indiqué sur une tumeur dMMR/MSI ou exprimant PD-L1",
    ),
    TargetedTherapy(
        "larotrectinib",
        frozenset({"NTRK"}),
        "inhibiteur de TRK, indiqué sur une fusion de NTRK",
    ),
    TargetedTherapy(
        "selpercatinib",
        frozenset({"RET"}),
        "inhibiteur sélectif de RET, indiqué sur une fusion ou une mutation de RET",
    ),
)

#: CIM-10 chapters a "most probable diagnosis" is never taken from: symptoms (XVIII),
#: external causes (XX), factors and reasons for contact (XXI), special codes (XXII).
NOT_DIAGNOSES: frozenset[str] = frozenset({"XVIII", "XX", "XXI", "XXII"})
#: CIM-10 labels that make poor distractors: residual classes, cross-references, sequelae.
_POOR_LABEL = re.compile(
    r"^autres?\b|classée?s? ailleurs|sans précision|non précisée?s?|^séquelles|^complications",
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"\s*[(\[][^()\[\]]*[)\]]")
_TRAILING = re.compile(r"[,\s]*(?:sans précision|non précisée?s?)?[,\s]*$", re.IGNORECASE)
_DATE_CUE = re.compile(r"(?:\b(?:depuis\s+le|depuis|en\s+date\s+du|le|du|au)\s+)?$", re.IGNORECASE)
_MAX_CONTEXT = 160


@dataclass(frozen=True, slots=True)
class Patient:
    """What a stem says of the patient: age in years and sex (``M``/``F``), when known."""

    age: int | None = None
    sex: str | None = None

    def subject(self) -> str:
        """``Un homme de 74 ans``, ``Une femme``, ``Un(e) patient(e) de 43 ans``."""
        head = {"M": "Un homme", "F": "Une femme"}.get(self.sex or "", "Un(e) patient(e)")
        return head + (f" de {self.age} ans" if self.age is not None else "")

    def agree(self, word: str) -> str:
        """``hospitalisé`` -> ``hospitalisée`` (F), ``hospitalisé(e)`` (unknown)."""
        return {"M": word, "F": word + "e"}.get(self.sex or "", word + "(e)")


@dataclass(slots=True)
class Draft:
    """A built item and the facts it rests on (recorded in provenance, never in the item)."""

    template: str
    item: dict[str, Any]
    facts: dict[str, Any] = field(default_factory=dict)


# -- tables ------------------------------------------------------------------------------------


def atc_class(code: str) -> str | None:
    """The class prefix of :data:`ATC_CLASSES` an ATC code falls in (longest first).

    >>> atc_class("B01AF02"), atc_class("A10AE04"), atc_class("Z99ZZ99")
    ('B01AF', 'A10A', None)
    """
    for size in (5, 4, 3):
        if code[:size] in ATC_CLASSES:
            return code[:size]
    return None


@cache
def drug_codes() -> dict[str, frozenset[str]]:
    """Every ATC code of each drug name (brand or substance) of edsnlp's ``drugs.json``,
    keyed by :func:`~curation.models.mcq.validity.normalise`'d name."""
    path = resources.files("edsnlp") / "resources" / "drugs.json"
    table: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for code, names in table.items():
        for name in names:
            out.setdefault(normalise(name), set()).add(code)
    return {name: frozenset(codes) for name, codes in out.items()}


def therapy_for(marker: str, result: str) -> TargetedTherapy | None:
    """The therapy aimed at a positive ``marker`` whose result reads ``result``.

    >>> therapy_for("KRAS", "mutation G12C").drug, therapy_for("KRAS", "muté (G12D)")
    ('sotorasib', None)
    """
    for therapy in TARGETED_THERAPIES:
        if marker in therapy.markers and (
            therapy.requires is None or re.search(therapy.requires, normalise(result))
        ):
            return therapy
    return None


def readable(label: str) -> str:
    """An ATIH label as an option: no bracketed aside, no trailing "sans précision".

    >>> readable("Embolie pulmonaire, (sans mention de coeur pulmonaire aigu)")
    'Embolie pulmonaire'
    >>> readable("Fibrillation et flutter auriculaires, sans précision")
    'Fibrillation et flutter auriculaires'
    """
    return _TRAILING.sub("", _BRACKETS.sub("", label)).strip()


def diagnosis_distractors(code: str, rng: random.Random, n: int = 4) -> list[str]:
    """``n`` CIM-10 categories to offer beside ``code``: others of its block (in random
    order), then the nearest categories of its chapter; none that is a residual class or
    whose label overlaps the answer's.

    >>> diagnosis_distractors("K810", random.Random(0))  # cholécystite aiguë
    ['K80', 'K85', 'K74', 'K90']
    """
    answer = readable(cim10.lookup(code).label)
    category = cim10.normalise(code)[:3]
    numeral = cim10.chapter(category)
    block = cim10.block(category)

    def usable(candidate: str) -> bool:
        label = cim10.lookup(candidate).label
        text = readable(label)
        return (
            candidate != category
            and not _POOR_LABEL.search(label)
            and not contains(text, answer)
            and not contains(answer, text)
        )

    same_block = [c for c in cim10.node_children(block) if usable(c)] if block else []
    rng.shuffle(same_block)
    chapter = sorted(
        c
        for node in cim10.node_children(numeral)
        for c in (cim10.node_children(node) if "-" in node else [node])
        if len(c) == 3 and c not in same_block and usable(c)
    )
    chapter.sort(key=lambda c: (abs(_rank(c) - _rank(category)), c))
    picked: list[str] = []
    seen = {normalise(answer)}
    for candidate in [*same_block, *chapter]:
        key = normalise(readable(cim10.lookup(candidate).label))
        if key not in seen:
            picked.append(candidate)
            seen.add(key)
        if len(picked) == n:
            break
    return picked


def _rank(category: str) -> int:
    return (ord(category[0]) - ord("A")) * 100 + int(category[1:3])


# -- building ----------------------------------------------------------------------------------


def arrange(
    correct: Sequence[str], distractors: Sequence[str], rng: random.Random
) -> tuple[dict[str, str], list[str]]:
    """Five options in random order and the letters of the correct ones.

    >>> arrange(["a"], ["b", "c", "d", "e"], random.Random(1))
    ({'A': 'c', 'B': 'd', 'C': 'e', 'D': 'a', 'E': 'b'}, ['D'])
    """
    texts = [*correct, *distractors][: len(LETTERS)]
    order = list(range(len(texts)))
    rng.shuffle(order)
    options = {letter: texts[i] for letter, i in zip(LETTERS, order, strict=False)}
    answers = [letter for letter, i in zip(LETTERS, order, strict=False) if i < len(correct)]
    return options, answers


def clean_context(sentence: str) -> str | None:
    """A sentence fit for a stem: dates taken out with their cue ("Depuis le 12/03/2024, ");
    ``None`` when it holds other identifying data or is too long."""
    spans = detector()(sentence)
    if any(s.label != "DATE" for s in spans) or len(sentence) > _MAX_CONTEXT:
        return None
    out = sentence
    for span in sorted(spans, key=lambda s: -s.start):
        head = out[: span.start]
        cue = _DATE_CUE.search(head)
        start = cue.start() if cue else span.start
        tail = re.sub(r"^\s*,?\s*", "", out[span.end :])
        out = (head[:start] + tail).strip()
    out = out.strip(" ,;:")
    return out[:1].upper() + out[1:] if out else None


def _of(word: str) -> str:
    """``d'`` before a vowel or a mute h, else ``de ``."""
    return "d'" if normalise(word)[:1] in tuple("aeiouyh") else "de "


def _phrase(sentences: Sequence[str]) -> str:
    return "; ".join(s.rstrip(" .;") for s in sentences) + "."


def diagnosis_item(
    code: str,
    mention: str,
    history: Sequence[str],
    exams: Sequence[str],
    patient: Patient,
    rng: random.Random,
) -> Draft | None:
    """The item "most probable diagnosis" for a stay coded ``code`` (written ``mention``), from its
    history and exams sentences; ``None`` when no sentence can be shown or too few
    distractors exist. Sentences that name the answer or an option are left out."""
    if cim10.chapter(code) in NOT_DIAGNOSES:
        return None
    distractors = diagnosis_distractors(code, rng)
    if len(distractors) < len(LETTERS) - 1:
        return None
    answer = readable(cim10.lookup(code).label)
    texts = [answer] + [readable(cim10.lookup(c).label) for c in distractors]
    options, answers = arrange(texts[:1], texts[1:], rng)

    def shown(sentences: Sequence[str], limit: int) -> list[str]:
        kept = []
        for sentence in sentences:
            clean = clean_context(sentence)
            if (
                clean
                and not contains(clean, mention)
                and not any(contains(clean, t) for t in texts)
            ):
                kept.append(clean)
        return kept[:limit]

    told, found = shown(history, 2), shown(exams, 4)
    if not told and not found:
        return None
    stem = f"{patient.subject()} est {patient.agree('hospitalisé')}."
    if told:
        stem += f" Histoire de la maladie : {_phrase(told)}"
    if found:
        stem += f" Examens : {_phrase(found)}"
    stem += " Quel est le diagnostic le plus probable ?"
    codes = {letter: [code, *distractors][texts.index(text)] for letter, text in options.items()}
    return Draft(
        "diagnosis",
        {
            "stem": stem,
            "options": options,
            "answers": answers,
            "explanation": f"Le tableau et les examens orientent vers : {answer} (CIM-10 "
            f"{cim10.dotted(code)}). Les autres propositions sont des affections voisines de "
            "la classification, que les éléments du cas n'étayent pas.",
        },
        {"code": code, "codes": codes, "block": cim10.block(code[:3])},
    )


def drug_class_item(
    drug: str, codes: Sequence[str], patient: Patient, rng: random.Random
) -> Draft | None:
    """The item "which therapeutic class" for a drug written ``drug`` with ATC ``codes``;
    every class of its codes is a correct answer. ``None`` when none has a known class."""
    classes = sorted({c for code in codes if (c := atc_class(code)) is not None})
    if not classes or len(classes) > 2:
        return None
    groups = {c[0] for c in classes}
    others = [
        p for p in ATC_CLASSES if p not in classes and not any(p.startswith(c) for c in classes)
    ]
    near = [p for p in others if p[0] in groups]
    far = [p for p in others if p[0] not in groups]
    rng.shuffle(near)
    rng.shuffle(far)
    picked = [*near, *far][: len(LETTERS) - len(classes)]
    options, answers = arrange(
        [ATC_CLASSES[c] for c in classes], [ATC_CLASSES[p] for p in picked], rng
    )
    named = " et ".join(ATC_CLASSES[c] for c in classes)
    written = ", ".join(sorted(codes))
    return Draft(
        "drug_class",
        {
            "stem": f"{patient.subject()} sort d'hospitalisation avec une prescription "
            f"{_of(drug)}{drug}. À quelle(s) classe(s) thérapeutique(s) appartient ce "
            "médicament ?",
            "options": options,
            "answers": answers,
            "explanation": f"{drug[:1].upper()}{drug[1:]} (ATC {written}) : {named}.",
        },
        {
            "atc": sorted(codes),
            "classes": {
                letter: next(p for p in ATC_CLASSES if ATC_CLASSES[p] == text)
                for letter, text in options.items()
            },
        },
    )


def biomarker_item(
    marker: str, result: str, name: str, patient: Patient, rng: random.Random
) -> Draft | None:
    """The item "which treatment is indicated" for a positive biomarker ``name`` (written
    ``marker``) with ``result``; ``None`` when no targeted therapy fits it."""
    therapy = therapy_for(name, result)
    if therapy is None:
        return None
    others = [t for t in TARGETED_THERAPIES if not (t.markers & therapy.markers)]
    rng.shuffle(others)
    picked = others[: len(LETTERS) - 1]
    options, answers = arrange([therapy.drug], [t.drug for t in picked], rng)
    return Draft(
        "biomarker",
        {
            "stem": f"{patient.subject()} est {patient.agree('suivi')} pour un cancer. "
            f"L'analyse de la tumeur montre : {marker} {result}. Quel traitement est "
            "spécifiquement indiqué au vu de ce résultat ?",
            "options": options,
            "answers": answers,
            "explanation": f"{marker} {result} : {therapy.drug}, {therapy.rationale}. Les autres "
            "propositions visent d'autres altérations.",
        },
        {"marker": name, "therapy": therapy.drug},
    )
