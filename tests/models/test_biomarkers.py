"""Biomarker rules: every family (positive, negative, equivocal or not assessed, negative
wording, hypothetical), result before its marker, linking, text that holds no biomarker, and
precision/recall against the synthetic corpus's answer key.

Gold is written inline: ``"<B>HER2</B> : <R>score 3+</R>"`` is the text ``"HER2 : score 3+"``
with a BIOMARKER span and a BIOMARKER_RESULT span. Every text here is invented.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.models.oncology.biomarker_status import KI67_HIGH_THRESHOLD
from curation.models.oncology.biomarkers import (
    ORIGIN,
    canonical_marker,
    find_biomarkers,
    link_results,
    result_status,
)
from curation.schema import Span
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents

TAG = re.compile(r"<(?P<tag>[BR])>(?P<text>.*?)</(?P=tag)>", re.DOTALL)
LABEL = {"B": "BIOMARKER", "R": "BIOMARKER_RESULT"}

Expected = list[tuple[str, str | None, str | None, bool]]  # name, result, status, hypothetical


def parse(marked: str) -> tuple[str, list[Span]]:
    """``"<B>RE</B> <R>positifs</R>"`` -> ``"RE positifs"`` and its two gold spans."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = length = 0
    for m in TAG.finditer(marked):
        before = marked[pos : m.start()]
        parts.append(before)
        length += len(before)
        spans.append(Span(length, length + len(m["text"]), LABEL[m["tag"]], m["text"]))
        parts.append(m["text"])
        length += len(m["text"])
        pos = m.end()
    parts.append(marked[pos:])
    return "".join(parts), spans


def check(marked: str, expected: Expected) -> None:
    text, gold = parse(marked)
    findings = find_biomarkers(text)
    found = []
    for f in findings:
        for span in (f.marker, f.result):
            if span is not None:
                assert text[span.start : span.end] == span.text
                assert span.origin == ORIGIN
                found.append((span.start, span.end, span.label))
    assert sorted(found) == sorted((s.start, s.end, s.label) for s in gold), marked
    got = [
        (f.name, f.result.text if f.result else None, f.status, f.hypothetical) for f in findings
    ]
    assert got == expected, marked


def test_parse_helper() -> None:
    text, spans = parse("<B>RE</B> : <R>positifs à 90 %</R>.")
    assert text == "RE : positifs à 90 %."
    assert [(s.start, s.end, s.label) for s in spans] == [
        (0, 2, "BIOMARKER"),
        (5, 20, "BIOMARKER_RESULT"),
    ]


CASES: list[tuple[str, Expected]] = [
    # -- HER2 --------------------------------------------------------------------------------
    ("- <B>HER2</B> : <R>score 3+</R>.", [("HER2", "score 3+", "positive", False)]),
    ("<B>HER2</B> <R>score 0</R>.", [("HER2", "score 0", "negative", False)]),
    ("* <B>HER2</B> = <R>score 1+</R>.", [("HER2", "score 1+", "negative", False)]),
    (
        "Statut <B>HER2</B> : <R>score 2+, ISH non amplifié</R>.",
        [("HER2", "score 2+, ISH non amplifié", "negative", False)],
    ),
    (
        "<B>HER2</B> : <R>score 2+, FISH amplifiée</R>.",
        [("HER2", "score 2+, FISH amplifiée", "positive", False)],
    ),
    (
        "<B>HER2</B> : <R>score 2+, SISH en attente</R>.",
        [("HER2", "score 2+, SISH en attente", "equivocal", False)],
    ),
    ("<B>Her2</B> : <R>score 2+</R>.", [("HER2", "score 2+", "equivocal", False)]),
    (
        "<B>HER2</B> : <R>score 1+ (HER2-low)</R>.",
        [("HER2", "score 1+ (HER2-low)", "negative", False)],
    ),
    (
        "Le statut <B>HER2</B> est <R>négatif (score 1+)</R>.",
        [("HER2", "négatif (score 1+)", "negative", False)],
    ),
    ("<B>HER2</B> <R>non surexprimé</R>.", [("HER2", "non surexprimé", "negative", False)]),
    ("<B>HER2</B> : <R>non évaluable</R>.", [("HER2", "non évaluable", "not_assessed", False)]),
    ("Carcinome <B>HER2</B><R>+</R>.", [("HER2", "+", "positive", False)]),
    (
        "En cas de positivité de <B>HER2</B>, un traitement par trastuzumab pourra être discuté.",
        [("HER2", None, None, True)],
    ),
    # -- RE / RP -------------------------------------------------------------------------------
    (
        "<B>RE</B> : <R>positifs à 90 %</R>, <B>RP</B> : <R>positifs à 40 %</R>.",
        [
            ("ER", "positifs à 90 %", "positive", False),
            ("PR", "positifs à 40 %", "positive", False),
        ],
    ),
    (
        "<B>Récepteurs aux œstrogènes</B> : <R>négatifs (0 %)</R>.",
        [("ER", "négatifs (0 %)", "negative", False)],
    ),
    ("<B>RO</B> <R>< 1 %</R>.", [("ER", "< 1 %", "negative", False)]),
    (
        "<B>Récepteurs à la progestérone</B> <R>faiblement positifs à 5 %</R>.",
        [("PR", "faiblement positifs à 5 %", "positive", False)],
    ),
    (
        "Les <B>récepteurs aux œstrogènes</B> sont <R>exprimés par 80 %</R> des cellules.",
        [("ER", "exprimés par 80 %", "positive", False)],
    ),
    (
        "<B>RE</B> et <B>RP</B> <R>négatifs</R>.",
        [("ER", None, None, False), ("PR", "négatifs", "negative", False)],
    ),
    ("Tumeur <B>RH</B><R>+</R>.", [("ER", "+", "positive", False)]),
    (
        "<B>RP</B> : <R>non évaluables, matériel insuffisant</R>.",
        [("PR", "non évaluables, matériel insuffisant", "not_assessed", False)],
    ),
    # -- Ki67 ---------------------------------------------------------------------------------
    ("<B>Ki67</B> : <R>à 25 %</R>.", [("KI67", "à 25 %", "positive", False)]),
    ("<B>Ki-67</B> estimé <R>à 10 %</R>.", [("KI67", "à 10 %", "negative", False)]),
    ("Index <B>MIB1</B> : <R>30 %</R>.", [("KI67", "30 %", "positive", False)]),
    ("<B>Ki67</B> <R>non évaluable</R>.", [("KI67", "non évaluable", "not_assessed", False)]),
    ("Index <B>Ki67</B> : <R>15-20 %</R>.", [("KI67", "15-20 %", "negative", False)]),
    ("<B>KI67</B> <R>élevé</R>.", [("KI67", "élevé", "positive", False)]),
    # -- EGFR / KRAS / NRAS / BRAF -----------------------------------------------------------
    (
        "<B>EGFR</B> : <R>mutation de l'exon 19 (délétion)</R>.",
        [("EGFR", "mutation de l'exon 19 (délétion)", "positive", False)],
    ),
    (
        "<R>mutation L858R</R> de l'<B>EGFR</B>.",
        [("EGFR", "mutation L858R", "positive", False)],
    ),
    ("<B>EGFR</B> : <R>sauvage</R>.", [("EGFR", "sauvage", "negative", False)]),
    ("<R>Pas de mutation</R> de l'<B>EGFR</B>.", [("EGFR", "Pas de mutation", "negative", False)]),
    (
        "<R>Absence de mutation</R> de <B>KRAS</B>.",
        [("KRAS", "Absence de mutation", "negative", False)],
    ),
    ("<B>KRAS</B> = <R>muté (G12D)</R>.", [("KRAS", "muté (G12D)", "positive", False)]),
    ("<B>KRAS</B> : <R>mutation G12C</R>.", [("KRAS", "mutation G12C", "positive", False)]),
    (
        "<B>KRAS</B> et <B>NRAS</B> <R>sauvages</R>.",
        [("KRAS", None, None, False), ("NRAS", "sauvages", "negative", False)],
    ),
    ("<B>BRAF</B> : <R>mutation V600E</R>.", [("BRAF", "mutation V600E", "positive", False)]),
    ("<B>BRAF</B> <R>non muté</R>.", [("BRAF", "non muté", "negative", False)]),
    (
        "<B>EGFR</B> : <R>mutation T790M détectée</R>.",
        [("EGFR", "mutation T790M détectée", "positive", False)],
    ),
    (
        "<B>KRAS</B> : <R>variant de signification inconnue</R>.",
        [("KRAS", "variant de signification inconnue", "equivocal", False)],
    ),
    (
        "Recherche de mutation de l'<B>EGFR</B> <R>en cours</R>.",
        [("EGFR", "en cours", "not_assessed", False)],
    ),
    (
        "Mutation <B>EGFR</B> <R>non détectée</R>.",
        [("EGFR", "non détectée", "negative", False)],
    ),
    (
        "Si <B>KRAS</B> sauvage, un traitement par cetuximab sera proposé.",
        [("KRAS", None, None, True)],
    ),
    ("Une recherche de mutation <B>EGFR</B> sera demandée.", [("EGFR", None, None, True)]),
    # -- ALK / ROS1 / RET / NTRK -------------------------------------------------------------
    (
        "<B>ALK</B> : <R>positif en IHC (D5F3)</R>.",
        [("ALK", "positif en IHC (D5F3)", "positive", False)],
    ),
    ("<B>ALK</B> : <R>négatif en IHC</R>.", [("ALK", "négatif en IHC", "negative", False)]),
    ("<B>ALK</B> : <R>fusion EML4-ALK</R>.", [("ALK", "fusion EML4-ALK", "positive", False)]),
    ("<B>ALK</B> <R>réarrangé en FISH</R>.", [("ALK", "réarrangé en FISH", "positive", False)]),
    ("<B>ROS1</B> : <R>non réarrangé</R>.", [("ROS1", "non réarrangé", "negative", False)]),
    (
        "<B>ROS1</B> : <R>fusion CD74-ROS1 détectée</R>.",
        [("ROS1", "fusion CD74-ROS1 détectée", "positive", False)],
    ),
    (
        "<R>Pas de réarrangement</R> de <B>ROS1</B>.",
        [("ROS1", "Pas de réarrangement", "negative", False)],
    ),
    (
        "<B>RET</B> : <R>absence de réarrangement</R>.",
        [("RET", "absence de réarrangement", "negative", False)],
    ),
    ("<B>NTRK</B> : <R>non évaluable</R>.", [("NTRK", "non évaluable", "not_assessed", False)]),
    (
        "<R>Présence d'une fusion</R> <B>EML4-ALK</B>.",
        [("ALK", "Présence d'une fusion", "positive", False)],
    ),
    (
        "En cas de réarrangement de <B>ALK</B>, un traitement par alectinib sera discuté.",
        [("ALK", None, None, True)],
    ),
    # -- PD-L1 --------------------------------------------------------------------------------
    ("<B>PD-L1</B> : <R>TPS à 80 %</R>.", [("PDL1", "TPS à 80 %", "positive", False)]),
    ("<B>PD-L1</B> <R>TPS < 1 %</R>.", [("PDL1", "TPS < 1 %", "negative", False)]),
    ("<B>PDL1</B> : <R>CPS à 15</R>.", [("PDL1", "CPS à 15", "positive", False)]),
    ("<B>PD-L1</B> : <R>CPS < 1</R>.", [("PDL1", "CPS < 1", "negative", False)]),
    (
        "<B>PD-L1</B> : <R>TPS entre 1 et 49 %</R>.",
        [("PDL1", "TPS entre 1 et 49 %", "positive", False)],
    ),
    (
        "<B>PD-L1</B> : <R>non évaluable, matériel insuffisant</R>.",
        [("PDL1", "non évaluable, matériel insuffisant", "not_assessed", False)],
    ),
    ("<B>PD-L1</B> <R>négatif</R>.", [("PDL1", "négatif", "negative", False)]),
    (
        "Le <B>PD-L1</B> sera demandé sur la pièce opératoire.",
        [("PDL1", None, None, True)],
    ),
    # -- MSI / MMR ----------------------------------------------------------------------------
    ("<B>MSI</B> : <R>statut MSS (pMMR)</R>.", [("MSI", "statut MSS (pMMR)", "negative", False)]),
    (
        "<B>MSI</B> <R>instabilité microsatellitaire (dMMR)</R>.",
        [("MSI", "instabilité microsatellitaire (dMMR)", "positive", False)],
    ),
    (
        "Immunohistochimie <B>MMR</B> : <R>perte d'expression de MLH1 et PMS2</R>.",
        [("MSI", "perte d'expression de MLH1 et PMS2", "positive", False)],
    ),
    (
        "<R>Perte d'expression</R> de <B>MLH1 et PMS2</B>.",
        [("MSI", "Perte d'expression", "positive", False)],
    ),
    (
        "<B>MMR</B> : <R>expression conservée</R> des quatre protéines.",
        [("MSI", "expression conservée", "negative", False)],
    ),
    ("<B>MSI</B> : <R>non contributif</R>.", [("MSI", "non contributif", "not_assessed", False)]),
    ("Tumeur <B>dMMR</B>.", [("MSI", None, None, False)]),
    ("Une recherche de <B>MSI</B> est à prévoir.", [("MSI", None, None, True)]),
    # -- BRCA ---------------------------------------------------------------------------------
    (
        "<B>BRCA1/2</B> : <R>absence de variant pathogène</R>.",
        [("BRCA", "absence de variant pathogène", "negative", False)],
    ),
    (
        "<B>BRCA1/2</B> : <R>mutation pathogène de BRCA2</R>.",
        [("BRCA", "mutation pathogène de BRCA2", "positive", False)],
    ),
    (
        "<R>Mutation germinale délétère</R> de <B>BRCA1</B>.",
        [("BRCA1", "Mutation germinale délétère", "positive", False)],
    ),
    (
        "<B>BRCA2</B> : <R>variant de signification inconnue (classe 3)</R>.",
        [("BRCA2", "variant de signification inconnue (classe 3)", "equivocal", False)],
    ),
    ("<B>BRCA1</B> : <R>VSI</R>.", [("BRCA1", "VSI", "equivocal", False)]),
    (
        "Analyse <B>BRCA1/2</B> <R>en cours</R>.",
        [("BRCA", "en cours", "not_assessed", False)],
    ),
    ("Une recherche de mutation <B>BRCA</B> sera proposée.", [("BRCA", None, None, True)]),
]


#: Report wording beyond the synthetic generator's: lists, prose, clones, signs, genes named
#: in the result, a confirmation pending.
REAL_WORDING: list[tuple[str, Expected]] = [
    (
        "<B>ER</B> <R>90%</R>, <B>PR</B> <R>10%</R>, "
        "<B>HER2</B> <R>1+</R>, <B>Ki-67</B> <R>20%</R>.",
        [
            ("ER", "90%", "positive", False),
            ("PR", "10%", "positive", False),
            ("HER2", "1+", "negative", False),
            ("KI67", "20%", "positive", False),
        ],
    ),
    (
        "Carcinome <B>RH</B><R>+</R> <B>HER2</B><R>-</R>.",
        [("ER", "+", "positive", False), ("HER2", "-", "negative", False)],
    ),
    (
        "<B>HER2</B> <R>score 0</R>, <B>Ki67</B> estimé <R>à 15 %</R>.",
        [("HER2", "score 0", "negative", False), ("KI67", "à 15 %", "negative", False)],
    ),
    (
        "Statut <B>HER2-low</B> (<R>score 2+, ISH non amplifié</R>).",
        [("HER2", "score 2+, ISH non amplifié", "negative", False)],
    ),
    (
        "<B>RE</B> <R>positifs à 80 % (intensité forte, score d'Allred 8/8)</R>.",
        [("ER", "positifs à 80 % (intensité forte, score d'Allred 8/8)", "positive", False)],
    ),
    (
        "L'expression de <B>PD-L1</B> est évaluée <R>à 5 %</R> des cellules tumorales (TPS).",
        [("PDL1", "à 5 %", "positive", False)],
    ),
    (
        "<B>PD-L1</B> (clone 22C3) : <R>TPS = 60 %</R>.",
        [("PDL1", "TPS = 60 %", "positive", False)],
    ),
    (
        "<B>ROS1</B> (D4D6) : <R>positif, FISH de confirmation en cours</R>.",
        [("ROS1", "positif, FISH de confirmation en cours", "equivocal", False)],
    ),
    (
        "<R>Pas de mutation activatrice</R> de l'<B>EGFR</B> "
        "<R>ni de réarrangement</R> <B>ALK</B>.",
        [
            ("EGFR", "Pas de mutation activatrice", "negative", False),
            ("ALK", "ni de réarrangement", "negative", False),
        ],
    ),
    (
        "<B>MMR</B> : <R>expression conservée de MLH1, PMS2, MSH2 et MSH6 (phénotype pMMR)</R>.",
        [
            (
                "MSI",
                "expression conservée de MLH1, PMS2, MSH2 et MSH6 (phénotype pMMR)",
                "negative",
                False,
            )
        ],
    ),
    (
        "Analyse <B>BRCA1/BRCA2</B> : <R>variant de classe 3 (VSI) du gène BRCA2</R>.",
        [("BRCA", "variant de classe 3 (VSI) du gène BRCA2", "equivocal", False)],
    ),
    (
        "Réarrangement de <B>ROS1</B> <R>non retrouvé</R>.",
        [("ROS1", "non retrouvé", "negative", False)],
    ),
    ("<B>BRAF</B> <R>V600E muté</R>.", [("BRAF", "V600E muté", "positive", False)]),
    (
        "<B>KRAS</B> <R>muté (c.35G>A, p.G12D)</R>, <B>NRAS</B> et <B>BRAF</B> <R>sauvages</R>.",
        [
            ("KRAS", "muté (c.35G>A, p.G12D)", "positive", False),
            ("NRAS", None, None, False),
            ("BRAF", "sauvages", "negative", False),
        ],
    ),
    (
        "Sous réserve de la confirmation de la mutation de <B>KRAS</B>, un traitement par "
        "sotorasib pourrait être proposé.",
        [("KRAS", None, None, True)],
    ),
    (
        "<B>HER2</B> : <R>score 2+, SISH : ratio HER2/CEP17 = 1,3</R>.",
        [("HER2", "score 2+, SISH : ratio HER2/CEP17 = 1,3", "negative", False)],
    ),
    (
        "<B>RE</B> : <R>100 %</R> ; <B>RP</B> : <R>< 1 %</R> ; <B>HER2</B> : <R>score 3+</R>",
        [
            ("ER", "100 %", "positive", False),
            ("PR", "< 1 %", "negative", False),
            ("HER2", "score 3+", "positive", False),
        ],
    ),
]


@pytest.mark.parametrize(("marked", "expected"), CASES + REAL_WORDING)
def test_families(marked: str, expected: Expected) -> None:
    check(marked, expected)


@pytest.mark.parametrize(
    "text",
    [
        "Score de Glasgow à 15.",
        "RE-hospitalisation prévue le 12/03/2024.",
        "HTA, diabète de type 2, dyslipidémie.",
        "Sein droit : 2 cm.",
        "Vue par le Pr Martin et le PR DUPONT le 03/04/2024 à 10 h.",
        "RCP du 12/03/2024. RAS. Patiente ER 2 fois en 2023.",
        "Traitement anti-HER2 par trastuzumab, ITK de l'EGFR à discuter.",
        "",
    ],
)
def test_no_false_positive(text: str) -> None:
    assert find_biomarkers(text) == []


def test_several_lines_sorted_and_disjoint() -> None:
    text, gold = parse(
        "IMMUNOHISTOCHIMIE\n- <B>RE</B> : <R>positifs à 90 %</R>.\n* <B>RP</B> = <R>négatifs</R>."
        "\n<B>HER2</B> <R>score 2+, ISH en cours</R>.\n<B>Ki67</B> : <R>à 25 %</R>.\n"
    )
    findings = find_biomarkers(text)
    assert [f.status for f in findings] == ["positive", "negative", "equivocal", "positive"]
    spans = sorted(
        (s.start, s.end) for f in findings for s in (f.marker, f.result) if s is not None
    )
    assert spans == sorted((s.start, s.end) for s in gold)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize(
    ("mention", "name"),
    [
        ("HER2", "HER2"),
        ("HER-2", "HER2"),
        ("RE", "ER"),
        ("récepteurs aux œstrogènes", "ER"),
        ("recepteurs aux oestrogenes", "ER"),
        ("RP", "PR"),
        ("récepteurs à la progestérone", "PR"),
        ("Ki-67", "KI67"),
        ("MIB1", "KI67"),
        ("PD-L1", "PDL1"),
        ("dMMR", "MSI"),
        ("MSS", "MSI"),
        ("MLH1", "MSI"),
        ("BRCA1/2", "BRCA"),
        ("BRCA2", "BRCA2"),
        ("EML4-ALK", "ALK"),
        ("NTRK1", "NTRK"),
        ("HTA", None),
        ("Glasgow", None),
    ],
)
def test_canonical_marker(mention: str, name: str | None) -> None:
    assert canonical_marker(mention) == name


@pytest.mark.parametrize(
    ("marker", "result", "status"),
    [
        ("HER2", "score 3+", "positive"),
        ("HER2", "2+ avec amplification en FISH", "positive"),
        ("HER2", "HER2-low (score 2+, ISH non amplifié)", "negative"),
        ("HER2", "score 2+, absence d'amplification", "negative"),
        ("HER2", "score 2+, ratio HER2/CEP17 = 2,4", "positive"),
        ("HER2", "2+, ratio à 1,3", "negative"),
        ("HER2", "en cours", "not_assessed"),
        ("HER2", "-", "negative"),
        ("ER", "0 %", "negative"),
        ("ER", "1 %", "positive"),
        ("ER", "< 1 %", "negative"),
        ("ER", "score d'Allred 6", "positive"),
        ("KI67", f"{KI67_HIGH_THRESHOLD:g} %", "positive"),
        ("KI67", "19,5 %", "negative"),
        ("PDL1", "TPS ≥ 50 %", "positive"),
        ("PDL1", "CPS 0", "negative"),
        ("PDL1", "TPS à 0 %, CPS à 3", "positive"),
        ("MSI", "MSI-H", "positive"),
        ("MSI", "stable", "negative"),
        ("MSI", "absence d'instabilité", "negative"),
        ("BRCA2", "mutation délétère", "positive"),
        ("BRCA1", "classe 3", "equivocal"),
        ("EGFR", "absence de mutation", "negative"),
        ("ALK", "fusion non détectée", "negative"),
        ("KRAS", "matériel insuffisant", "not_assessed"),
        ("EGFR", "résultat illisible", "equivocal"),
        ("Ki-67", "non réalisé", "not_assessed"),
    ],
)
def test_result_status(marker: str, result: str, status: str) -> None:
    assert result_status(marker, result) == status


# -- link_results ---------------------------------------------------------------------------


def spans_of(marked: str) -> tuple[str, list[Span], list[Span]]:
    text, gold = parse(marked)
    return (
        text,
        [s for s in gold if s.label == "BIOMARKER"],
        [s for s in gold if s.label == "BIOMARKER_RESULT"],
    )


@pytest.mark.parametrize(
    ("marked", "pairs"),
    [
        ("<B>KRAS</B> et <B>NRAS</B> <R>sauvages</R>.", [(1, 0)]),
        (
            "<B>RE</B> : <R>positifs à 90 %</R>.\n<B>RP</B> : <R>négatifs</R>.\n"
            "<B>HER2</B> : <R>score 3+</R>.",
            [(0, 0), (1, 1), (2, 2)],
        ),
        ("<R>Absence de mutation</R> de <B>KRAS</B>.", [(0, 0)]),
        (
            "<R>Absence de mutation</R> de <B>KRAS</B> et <R>mutation V600E</R> de <B>BRAF</B>.",
            [(0, 0), (1, 1)],
        ),
        ("<R>mutation L858R</R> de l'<B>EGFR</B>, <B>KRAS</B> <R>sauvage</R>.", [(0, 0), (1, 1)]),
        ("<B>HER2</B> :\n<R>score 3+</R>", []),
        ("<B>HER2</B> : en attente. <R>score 3+</R>", []),
    ],
)
def test_link_results(marked: str, pairs: list[tuple[int, int]]) -> None:
    text, markers, results = spans_of(marked)
    assert link_results(text, markers, results) == pairs


def test_link_results_follows_the_given_order() -> None:
    text, markers, results = spans_of(
        "<B>RE</B> : <R>positifs à 90 %</R>, <B>RP</B> : <R>négatifs</R>."
    )
    assert link_results(text, markers[::-1], results) == [(0, 1), (1, 0)]


# -- robustness -----------------------------------------------------------------------------


#: Pieces that random texts are made of: names, results, separators, accents, odd spaces.
FRAGMENTS = [
    *("HER2", "RE", "EGFR", "KRAS", "BRCA1/2", "EML4-ALK", "score 2+", "ISH", "amplifié"),
    *(" : ", ", ", "de l'", "\n", ". ", " et ", "(", ")", "-", "+", "\u00a0", "%", "1"),
    *(" non ", "mutation", "Absence de ", "sauvage", "si ", "sera ", "é", "œ"),
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_invariants_on_any_text(parts: list[str]) -> None:
    text = "".join(parts)
    findings = find_biomarkers(text)
    spans = []
    for f in findings:
        assert (f.result is None) == (f.status is None)
        assert not (f.hypothetical and f.result is not None)
        for s in (f.marker, f.result):
            if s is not None:
                assert 0 <= s.start < s.end <= len(text) and text[s.start : s.end] == s.text
                assert s.text == s.text.strip()
                spans.append((s.start, s.end))
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert [f.marker.start for f in findings] == sorted(f.marker.start for f in findings)


def test_long_text_is_linear() -> None:
    line = "RE positifs à 90 %, HER2 score 2+, ISH en cours, absence de mutation de KRAS "
    started = time.perf_counter()
    findings = find_biomarkers(line * 3000)  # about 240 kB on one line, no period
    assert len(findings) == 9000
    assert time.perf_counter() - started < 10


# -- synthetic corpus -----------------------------------------------------------------------


def _keys(record: Any) -> set[tuple[Any, ...]]:
    spans = record.spans
    status = {a["span"]: a.get("status") for a in record.attributes}
    hypothetical = {a["span"]: a.get("hypothetical", False) for a in record.attributes}
    keys: set[tuple[Any, ...]] = set()
    for i, s in enumerate(spans):
        if s.label in ("BIOMARKER", "BIOMARKER_RESULT"):
            keys.add(("span", s.start, s.end, s.label))
        if s.label == "BIOMARKER_RESULT":
            keys.add(("status", s.start, s.end, status.get(i)))
        if s.label == "BIOMARKER":
            keys.add(("hypothetical", s.start, s.end, hypothetical.get(i, False)))
    for r in record.relations:
        a, b = spans[r["from"]], spans[r["to"]]
        keys.add(("rel", a.start, a.end, b.start, b.end))
    return keys


def test_synthetic_answer_key() -> None:
    items = generate_documents(
        GenerateSettings(seed=5, n_documents=300, doc_types=["cr_anapath", "fiche_rcp"])
    )
    tp: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    linked = Counter[str]()
    for item in items:
        record = item.records.get("oncology_extraction")
        if record is None:
            continue
        gold = _keys(record)
        pred: set[tuple[Any, ...]] = set()
        for f in find_biomarkers(item.document.text):
            m, r = f.marker, f.result
            pred.add(("span", m.start, m.end, "BIOMARKER"))
            pred.add(("hypothetical", m.start, m.end, f.hypothetical))
            if r is not None:
                pred.add(("span", r.start, r.end, "BIOMARKER_RESULT"))
                pred.add(("status", r.start, r.end, f.status))
                pred.add(("rel", m.start, m.end, r.start, r.end))
        for key in pred:
            n_pred[key[0]] += 1
        for key in gold:
            n_gold[key[0]] += 1
        for key in gold & pred:
            tp[key[0]] += 1
        # link_results on the answer key's own spans gives back its relations
        markers = [s for s in record.spans if s.label == "BIOMARKER"]
        results = [s for s in record.spans if s.label == "BIOMARKER_RESULT"]
        pairs = link_results(item.document.text, markers, results)
        got = {(markers[i].start, results[j].start) for i, j in pairs}
        want = {
            (record.spans[r["from"]].start, record.spans[r["to"]].start) for r in record.relations
        }
        linked["tp"] += len(got & want)
        linked["pred"] += len(got)
        linked["gold"] += len(want)
    assert n_gold["span"] > 1000
    for kind in ("span", "rel", "status", "hypothetical"):
        precision, recall = tp[kind] / n_pred[kind], tp[kind] / n_gold[kind]
        print(f"{kind}: precision {precision:.4f} recall {recall:.4f} ({n_gold[kind]} gold)")
        assert precision >= 0.95 and recall >= 0.95, kind
    link_p, link_r = linked["tp"] / linked["pred"], linked["tp"] / linked["gold"]
    print(f"link_results on gold spans: precision {link_p:.4f} recall {link_r:.4f}")
    assert link_p >= 0.95 and link_r >= 0.95
