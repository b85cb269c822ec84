"""French oncology wordings that edsnlp does not cover, as ``eds.matcher`` terms and regexes.

edsnlp finds TNM stages (``eds.tnm``), Elston-Ellis grades (``eds.elston_ellis``), drugs with
their ATC code (``eds.drugs``) and cancer mentions (``eds.solid_tumor``); it has no term list
for tumour sites with their laterality, histological types, differentiation grades, treatment
modalities, oncological surgery or chemotherapy protocols. Those are here. Regexes apply to
the ``NORM`` attribute (lower case, no accents: ``"cote gauche"``), terms are normalised by
the matcher itself, so they are written the way a report writes them.

Examples
--------
``"Carcinome canalaire infiltrant du quadrant supéro-externe du sein gauche"``: the
``HISTOLOGY_REGEX`` matches ``Carcinome canalaire infiltrant`` and :data:`SITE_TERMS` matches
``quadrant supéro-externe du sein gauche``.
"""

from __future__ import annotations

from itertools import product

# --------------------------------------------------------------------------- tumour sites

_SIDES_M = ("droit", "gauche")
_SIDES_F = ("droite", "gauche")
_QUADRANTS = ("supéro-externe", "supéro-interne", "inféro-externe", "inféro-interne")
_UNIONS = ("externes", "internes", "supérieurs", "inférieurs")
_LOBES = ("supérieur", "moyen", "inférieur")
_COLON = ("droit", "gauche", "transverse", "sigmoïde", "ascendant", "descendant")


def _site_terms() -> list[str]:
    """Sites located precisely: an organ with its side, segment, lobe or quadrant."""
    terms: list[str] = []
    for side in _SIDES_M:
        terms += [f"sein {side}", f"poumon {side}", f"ovaire {side}", f"rein {side}"]
        terms += [f"quadrant {q} du sein {side}" for q in _QUADRANTS]
        terms += [f"union des quadrants {u} du sein {side}" for u in _UNIONS]
        terms += [f"région rétro-aréolaire du sein {side}", f"prolongement axillaire {side}"]
        terms += [f"lobe {lobe} {side}" for lobe in _LOBES]
        terms += [f"lobe {side} de la thyroïde", f"lobe {side} du foie"]
        terms += [f"lobe {lobe} du poumon {side}" for lobe in _LOBES]
    for side in _SIDES_F:
        terms += [f"bronche souche {side}", f"glande surrénale {side}"]
    for a, b in product(("angle colique", "colon", "côlon"), _COLON):
        if a != "angle colique" or b in _SIDES_M:
            terms.append(f"{a} {b}")
    terms += [
        "caecum",
        "cæcum",
        "charnière recto-sigmoïdienne",
        "jonction recto-sigmoïdienne",
        "haut rectum",
        "moyen rectum",
        "bas rectum",
        "tête du pancréas",
        "corps du pancréas",
        "queue du pancréas",
        "antre gastrique",
        "lingula",
    ]
    return terms


#: Precise tumour sites (``TUMOR_SITE`` on their own).
SITE_TERMS: tuple[str, ...] = tuple(_site_terms())

#: Bare organs: a ``TUMOR_SITE`` only as the organ of a named cancer ("cancer du sein");
#: on their own they are too frequent ("FICHE RCP - ONCOLOGIE SEIN", "mammographie du sein").
ORGAN_TERMS: tuple[str, ...] = (
    "sein",
    "poumon",
    "côlon",
    "colon",
    "rectum",
    "ovaire",
    "prostate",
    "pancréas",
    "estomac",
    "foie",
    "rein",
    "vessie",
    "thyroïde",
    "utérus",
    "col de l'utérus",
    "col utérin",
    "endomètre",
    "œsophage",
    "oesophage",
    "testicule",
    "larynx",
    "cavum",
)

# --------------------------------------------------------------------------- histology

_HISTOLOGY_HEADS = (
    r"adenocarcinome",
    r"carcinome",
    r"carcinosarcome",
    r"\w*sarcome",
    r"melanome",
    r"mesoth?eliome",
    r"glioblastome",
    r"seminome",
    r"tumeur neuro-?endocrine",
    r"(?:tumeur )?carcinoide",
    r"linite(?: plastique)?",
)
_HISTOLOGY_QUALIFIERS = (
    r"canalaire",
    r"lobulaire",
    r"infiltrante?s?",
    r"invasi(?:f|ve)",
    r"micro-?invasi(?:f|ve)",
    r"in situ",
    r"de type non specifique",
    r"\(?nst\)?",
    r"epidermoide",
    r"malpighien",
    r"mucineu(?:x|se)",
    r"mucosecretant",
    r"colloide(?: muqueux)?",
    r"lieberkuhnien",
    r"lepidique",
    r"acineux",
    r"papillaire",
    r"solide",
    r"medullaire",
    r"tubuleux",
    r"tubulo-?lobulaire",
    r"a petites cellules",
    r"a grandes cellules",
    r"non a petites cellules",
    r"a cellules claires",
    r"a cellules en bague a chaton",
    r"neuro-?endocrine",
    r"endometrioide",
    r"sereux",
    r"urothelial",
    r"hepatocellulaire",
    r"pulmonaire",
    r"mammaire",
    r"colique",
    r"rectal",
    r"gastrique",
    r"pancreatique",
    r"prostatique",
    r"ovarien",
    r"renal",
    r"thyroidien",
)
#: A histological type: a tumour noun, then any run of type qualifiers (on ``NORM``).
HISTOLOGY_REGEX = (
    r"\b(?:" + "|".join(_HISTOLOGY_HEADS) + r")"
    r"(?:\s+(?:" + "|".join(_HISTOLOGY_QUALIFIERS) + r"))*(?![\w-])"
)

# --------------------------------------------------------------------------- grades

#: Differentiation and grade wordings (on ``NORM``); Elston-Ellis/SBR come from edsnlp.
GRADE_REGEXES: tuple[str, ...] = (
    r"\b(?:bien|moyennement|peu|tres peu)\s+differencie(?:e|s|es)?\b",
    r"\bindifferencie(?:e|s|es)?\b",
    r"\bde\s+(?:bas|haut|faible)\s+grade\b",
    r"\bgrade\s+(?:isup|fnclcc|oms|histologique|histopronostique)\s+(?:[1-5]|i{1,3}|iv)\b",
    r"\bscore\s+de\s+gleason\s+\d{1,2}(?:\s*\(\s*\d\s*\+\s*\d\s*\))?",
)
#: Mentions of the Elston-Ellis grade given to ``eds.elston_ellis`` (text, not norm):
#: edsnlp's own two, plus SBR (Scarff-Bloom-Richardson modified by Elston and Ellis).
ELSTON_ELLIS_MENTIONS: tuple[str, ...] = (
    r"[Ee]lston (?:& |et |and )?[Ee]llis",
    r"\b[Ee]{2}\b",
    r"\bSBR\b",
)
#: The grade value after the mention: ``1``-``3``, ``I``-``III`` or edsnlp's ``(3+2+1)``.
ELSTON_ELLIS_VALUE = r"(?s)(?:modifi[ée]\s*)?[:=]?\s*(\([^)]{0,20}\)|[1-3]\b|I{1,3}\b)"

# --------------------------------------------------------------------------- treatments

#: Treatment modalities (on ``NORM``); a modality extends over its modifiers and drugs.
MODALITY_REGEXES: tuple[str, ...] = (
    r"\b(?:radio-?)?chimiotherapie\b",
    r"\bradiotherapie\b",
    r"\bhormonotherapie\b",
    r"\bimmunotherapie\b",
    r"\bcurietherapie\b",
)
#: Words that extend a modality ("chimiothérapie adjuvante", "radiothérapie stéréotaxique").
MODALITY_MODIFIERS: frozenset[str] = frozenset(
    {
        "adjuvante",
        "neoadjuvante",
        "neo-adjuvante",
        "concomitante",
        "exclusive",
        "palliative",
        "stereotaxique",
        "externe",
        "conformationnelle",
        "metronomique",
        "sequentielle",
        "hebdomadaire",
        "intraveineuse",
        "orale",
        "systemique",
        "curative",
    }
)
#: Multi-word modifiers, as tuples of normalised tokens ("de première ligne").
MODALITY_PHRASES: tuple[tuple[str, ...], ...] = (
    *(
        ("de", rank, "ligne")
        for rank in ("premiere", "1ere", "deuxieme", "2eme", "seconde", "troisieme", "3eme")
    ),
    ("d'", "entretien"),
    ("d'", "induction"),
    ("de", "consolidation"),
)
#: What introduces the drugs of a modality ("par", "à base de").
DRUG_INTRODUCERS: tuple[tuple[str, ...], ...] = (
    ("par",),
    ("a", "base", "de"),
    ("a", "base", "d'"),
    ("associant",),
    ("de", "type"),
)
#: What joins drugs of one regimen ("FOLFIRI et bévacizumab", "4 EC puis 12 paclitaxel").
DRUG_JOINERS: frozenset[str] = frozenset({"et", ",", "puis", "+", "/", "-", "avec"})
#: Words after a drug that belong to the regimen ("12 paclitaxel hebdomadaire").
DRUG_TRAILERS: frozenset[str] = frozenset({"hebdomadaire", "hebdomadaires", "seul", "seule"})
#: Words between a count and a drug ("6 cures de FOLFOX").
CYCLE_WORDS: frozenset[str] = frozenset({"cures", "cure", "cycles", "cycle", "de", "d'"})

#: Oncological surgery (on ``NORM``), with its usual complements.
SURGERY_REGEX = (
    r"\b(?:tumorectomie|zonectomie|quadrantectomie|mastectomie|lobectomie|bilobectomie"
    r"|pneumonectomie|segmentectomie|colectomie|hemicolectomie|proctectomie"
    r"|gastrectomie|oesophagectomie|prostatectomie|hysterectomie|annexectomie"
    r"|nephrectomie|cystectomie|duodenopancreatectomie|pancreatectomie|hepatectomie"
    r"|thyroidectomie|amputation abdomino-perineale|resection anterieure du rectum)"
    r"(?:\s+(?:segmentaire|droite|gauche|totale|partielle|subtotale|elargie|radicale"
    r"|superieure|inferieure|moyenne|sigmoidienne|pulmonaire|bilaterale))*"
    r"(?:\s+(?:avec|et|\+)\s+(?:(?:recherche|exerese|biopsie)\s+(?:du|des)\s+)?"
    r"(?:ganglions?\s+sentinelles?|curage\s+(?:ganglionnaire|axillaire|mediastinal)"
    r"(?:\s+homolateral)?))?\b"
)

#: Chemotherapy protocols, matched on the text as written (upper case).
PROTOCOL_REGEX = (
    r"\b(?:FOLFIRINOX|FOLFOXIRI|FOLFOX(?:-?[46])?|FOLFIRI|XELOX|CAPOX|XELIRI|LV5FU2"
    r"|FEC(?:\s?100)?|EC|AC|TC|R-CHOP|CHOP|BEP|MVAC)\b"
)

#: ATC prefixes of cancer drugs kept from ``eds.drugs`` (antineoplastic, endocrine therapy).
CANCER_ATC_PREFIXES: tuple[str, ...] = ("L01", "L02")

#: Cancer drugs missing from edsnlp's Romedi list (recent targeted therapies and
#: immunotherapies), keyed by ATC code.
EXTRA_DRUGS: dict[str, list[str]] = {
    "L01FF02": ["pembrolizumab", "Keytruda"],
    "L01FF01": ["nivolumab", "Opdivo"],
    "L01FF03": ["cémiplimab"],
    "L01FX04": ["ipilimumab"],
    "L01EB04": ["osimertinib", "Tagrisso"],
    "L01EB03": ["afatinib"],
    "L01EB02": ["erlotinib"],
    "L01EB01": ["géfitinib"],
    "L01ED03": ["alectinib", "Alecensa"],
    "L01ED04": ["brigatinib"],
    "L01ED05": ["lorlatinib"],
    "L01XX73": ["sotorasib"],
    "L01XX77": ["adagrasib"],
    "L01EC02": ["dabrafénib"],
    "L01EE01": ["tramétinib"],
    "L01EC03": ["encorafénib"],
    "L01EF01": ["palbociclib"],
    "L01EF02": ["ribociclib"],
    "L01EF03": ["abémaciclib"],
    "L01FD03": ["trastuzumab emtansine", "T-DM1"],
    "L01FD04": ["trastuzumab deruxtécan", "T-DXd"],
    "L01XK01": ["olaparib"],
    "L01EM03": ["alpélisib"],
    "L01XX61": ["sacituzumab govitécan"],
}

# --------------------------------------------------------------------------- qualifiers

#: Cues after an entity that make it hypothetical in RCP decisions ("un traitement par
#: osimertinib pourra être discuté"), added to ``eds.hypothesis``'s own.
HYPOTHESIS_FOLLOWING: tuple[str, ...] = (
    *(
        f"{verb} {participle}{ending}"
        for verb in ("pourra être", "pourrait être", "sera", "serait")
        for participle in ("discuté", "proposé", "envisagé", "rediscuté")
        for ending in ("", "e")
    ),
    "à discuter",
    "à rediscuter",
    "à envisager",
    "à évaluer",
)
#: Wordings with "non" that negate nothing, added to ``eds.negation``'s pseudo-cues
#: ("carcinome infiltrant de type non spécifique").
NEGATION_PSEUDO: tuple[str, ...] = ("non spécifique", "non spécifiques", "non à petites cellules")
