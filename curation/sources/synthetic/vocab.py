"""Clinical vocabulary of the synthetic corpus: conditions with their CIM-10 codes, comorbidities,
cancers with histology, grades, TNM and biomarkers, treatments, and non-identifying eponyms.

Every code is a PMSI-usable code of the ATIH list shipped by edsnlp (checked by a test).
The wording mimics French hospital reports: abbreviations (ATCD, HTA, DT2, BPCO, TTT, cp/j),
terse findings, units written the French way (``2,5 mg``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Condition:
    """An acute reason for a stay (the principal diagnosis of its documents)."""

    key: str
    code: str
    mentions: tuple[str, ...]  # ways the diagnosis is written in a report
    specialty: str
    service: str
    symptoms: tuple[str, ...]
    findings: tuple[str, ...]  # key exams and results
    treatments: tuple[str, ...]  # discharge prescriptions
    follow_up: str
    surgery: str | None = None  # procedure written in a compte rendu opératoire


@dataclass(frozen=True, slots=True)
class Comorbidity:
    """A past history item, written as its usual abbreviation when it has one."""

    key: str
    code: str
    mentions: tuple[str, ...]
    negation: str  # how a report says the patient does not have it
    treatment: str | None = None


CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "pneumopathie",
        "J181",
        ("pneumopathie franche lobaire aiguë", "pneumopathie lobaire"),
        "pneumologie",
        "Pneumologie",
        ("fièvre à 39,5 °C", "toux productive", "douleur basithoracique droite", "dyspnée"),
        (
            "radiographie thoracique : opacité alvéolaire du lobe inférieur droit",
            "CRP à 186 mg/L, PNN à 14,2 G/L",
            "antigénurie pneumocoque positive",
        ),
        ("amoxicilline 1 g : 1 cp x 3/j pendant 7 jours", "paracétamol 1 g si douleur, max 4 g/j"),
        "Radiographie thoracique de contrôle à 6 semaines.",
    ),
    Condition(
        "insuffisance_cardiaque",
        "I5002",
        ("insuffisance cardiaque à FEVG altérée", "décompensation cardiaque globale"),
        "cardiologie",
        "Cardiologie",
        ("dyspnée de stade NYHA III", "œdèmes des membres inférieurs", "orthopnée"),
        (
            "NT-proBNP à 4 850 pg/mL",
            "ETT : FEVG estimée à 32 %, VG dilaté",
            "radiographie : surcharge vasculaire bilatérale",
        ),
        (
            "furosémide 40 mg : 1 cp/j le matin",
            "bisoprolol 2,5 mg : 1 cp/j",
            "sacubitril/valsartan 24/26 mg : 1 cp x 2/j",
        ),
        "Consultation de cardiologie dans 1 mois avec ionogramme sanguin à J7.",
    ),
    Condition(
        "fibrillation_atriale",
        "I489",
        ("fibrillation atriale", "ACFA rapide"),
        "cardiologie",
        "Cardiologie",
        ("palpitations", "dyspnée d'effort", "asthénie"),
        (
            "ECG : fibrillation atriale à 138/min",
            "ETT : OG dilatée, FEVG conservée à 58 %",
            "TSH normale",
        ),
        ("apixaban 5 mg : 1 cp x 2/j", "bisoprolol 5 mg : 1 cp/j"),
        "Holter ECG à 1 mois puis consultation de rythmologie.",
    ),
    Condition(
        "nstemi",
        "I2140",
        ("infarctus du myocarde sans sus-décalage du segment ST", "NSTEMI"),
        "cardiologie",
        "Soins intensifs de cardiologie",
        ("douleur thoracique constrictive", "sueurs"),
        (
            "troponine Tc-HS à 1 250 ng/L",
            "coronarographie : sténose serrée de l'IVA proximale",
            "angioplastie avec pose d'un stent actif",
        ),
        (
            "aspirine 75 mg : 1 sachet/j",
            "ticagrélor 90 mg : 1 cp x 2/j",
            "atorvastatine 80 mg : 1 cp/j",
        ),
        "Réadaptation cardiaque à programmer, consultation de cardiologie à 1 mois.",
    ),
    Condition(
        "avc",
        "I639",
        ("accident vasculaire cérébral ischémique", "AVC ischémique sylvien gauche"),
        "neurologie",
        "Unité neuro-vasculaire",
        ("hémiparésie droite", "aphasie", "paralysie faciale centrale"),
        (
            "IRM cérébrale : infarctus sylvien superficiel gauche",
            "angio-TSA sans sténose",
            "score NIHSS à 6 à l'entrée",
        ),
        ("clopidogrel 75 mg : 1 cp/j", "atorvastatine 40 mg : 1 cp/j"),
        "Rééducation en SSR neurologique, consultation de neurologie à 3 mois.",
    ),
    Condition(
        "bpco_exacerbation",
        "J441",
        ("exacerbation de BPCO", "décompensation respiratoire de BPCO"),
        "pneumologie",
        "Pneumologie",
        ("majoration de la dyspnée", "expectorations purulentes", "sibilants diffus"),
        (
            "gaz du sang : pH 7,31, PaCO2 à 58 mmHg",
            "radiographie : distension thoracique",
            "ECBC : Haemophilus influenzae",
        ),
        ("tiotropium 2,5 µg : 2 inhalations/j", "prednisolone 40 mg : 1 cp/j pendant 5 jours"),
        "EFR à distance et réhabilitation respiratoire.",
    ),
    Condition(
        "embolie_pulmonaire",
        "I269",
        ("embolie pulmonaire", "EP bilatérale proximale"),
        "pneumologie",
        "Pneumologie",
        ("dyspnée brutale", "douleur thoracique latérale", "tachycardie"),
        (
            "angioscanner thoracique : embolie pulmonaire bilatérale",
            "D-dimères à 4 200 ng/mL",
            "écho-doppler : thrombose veineuse poplitée gauche",
        ),
        ("rivaroxaban 15 mg : 1 cp x 2/j pendant 21 jours puis 20 mg/j",),
        "Consultation de médecine vasculaire à 3 mois.",
    ),
    Condition(
        "pyelonephrite",
        "N10",
        ("pyélonéphrite aiguë", "PNA droite"),
        "néphrologie",
        "Médecine interne",
        ("fièvre", "douleur lombaire droite", "brûlures mictionnelles"),
        (
            "ECBU : Escherichia coli > 10^5 UFC/mL",
            "échographie rénale : pas de dilatation",
            "CRP à 142 mg/L",
        ),
        ("ceftriaxone 1 g/j IV relais ciprofloxacine 500 mg : 1 cp x 2/j, 7 jours",),
        "ECBU de contrôle non systématique ; reconsulter si fièvre.",
    ),
    Condition(
        "cholecystite",
        "K810",
        ("cholécystite aiguë lithiasique", "cholécystite aiguë"),
        "chirurgie digestive",
        "Chirurgie digestive",
        ("douleur de l'hypochondre droit", "fièvre", "signe de Murphy positif"),
        (
            "échographie : vésicule lithiasique à paroi épaissie",
            "lipase normale",
            "bilan hépatique normal",
        ),
        ("paracétamol 1 g : 1 cp x 4/j si douleur", "soins de pansement par IDE"),
        "Consultation de chirurgie à 1 mois.",
        surgery="cholécystectomie par cœlioscopie",
    ),
    Condition(
        "appendicite",
        "K358",
        ("appendicite aiguë", "appendicite aiguë non compliquée"),
        "chirurgie digestive",
        "Chirurgie digestive",
        ("douleur de la fosse iliaque droite", "nausées", "fébricule à 38,2 °C"),
        ("scanner abdominal : appendice de 11 mm infiltré", "PNN à 13,5 G/L"),
        ("paracétamol 1 g si douleur", "kétoprofène 100 mg : 1 cp x 2/j pendant 3 jours"),
        "Ablation des agrafes à J10 par IDE, consultation à 1 mois.",
        surgery="appendicectomie par cœlioscopie",
    ),
    Condition(
        "fracture_col",
        "S7200",
        ("fracture du col du fémur droit", "fracture cervicale vraie du fémur droit"),
        "orthopédie",
        "Chirurgie orthopédique",
        ("chute de sa hauteur", "impotence fonctionnelle du membre inférieur droit"),
        ("radiographie : fracture Garden IV du col fémoral droit", "hémoglobine à 10,8 g/dL"),
        (
            "énoxaparine 4 000 UI : 1 injection SC/j pendant 35 jours",
            "paracétamol 1 g : 1 cp x 3/j",
        ),
        "Rééducation en SSR, radiographie et consultation à 6 semaines.",
        surgery="arthroplastie intermédiaire de hanche droite",
    ),
    Condition(
        "insuffisance_renale_aigue",
        "N179",
        ("insuffisance rénale aiguë", "IRA fonctionnelle"),
        "néphrologie",
        "Néphrologie",
        ("asthénie", "oligurie", "déshydratation extracellulaire"),
        (
            "créatininémie à 312 µmol/L (base 95)",
            "kaliémie à 5,9 mmol/L",
            "échographie : reins de taille normale, sans obstacle",
        ),
        ("arrêt des IEC et des AINS", "hydratation orale 2 L/j"),
        "Créatininémie de contrôle à J7 chez le médecin traitant.",
    ),
    Condition(
        "crohn",
        "K509",
        ("poussée de maladie de Crohn", "maladie de Crohn iléale en poussée"),
        "gastro-entérologie",
        "Hépato-gastro-entérologie",
        ("diarrhée glairo-sanglante", "douleurs abdominales", "amaigrissement de 4 kg"),
        (
            "calprotectine fécale à 1 250 µg/g",
            "entéro-IRM : iléite terminale sur 15 cm",
            "CRP à 64 mg/L",
        ),
        ("budésonide 9 mg : 1 cp/j", "adalimumab 40 mg SC tous les 14 jours"),
        "Consultation de gastro-entérologie à 2 mois avec calprotectine.",
    ),
    Condition(
        "parkinson",
        "G20",
        ("maladie de Parkinson", "syndrome parkinsonien idiopathique"),
        "neurologie",
        "Neurologie",
        ("tremblement de repos", "chutes à répétition", "rigidité"),
        ("DaTSCAN : hypofixation striatale bilatérale", "IRM cérébrale sans anomalie"),
        ("lévodopa/bensérazide 100/25 mg : 1 gél x 3/j",),
        "Kinésithérapie 2 fois par semaine, consultation de neurologie à 3 mois.",
    ),
    Condition(
        "sepsis_urinaire",
        "A419",
        ("sepsis d'origine urinaire", "sepsis"),
        "médecine interne",
        "Médecine interne",
        ("frissons", "hypotension à 85/50 mmHg", "confusion"),
        ("lactates à 3,1 mmol/L", "hémocultures : E. coli", "ECBU positif à E. coli"),
        ("céfixime 200 mg : 1 cp x 2/j pendant 10 jours",),
        "Bilan biologique de contrôle à J5.",
    ),
)

COMORBIDITIES: tuple[Comorbidity, ...] = (
    Comorbidity(
        "hta",
        "I10",
        ("HTA", "hypertension artérielle"),
        "Pas d'HTA connue.",
        "amlodipine 5 mg : 1 cp/j",
    ),
    Comorbidity(
        "dt2",
        "E1198",
        ("DT2", "diabète de type 2"),
        "Pas de diabète.",
        "metformine 1 000 mg : 1 cp x 2/j",
    ),
    Comorbidity(
        "dyslipidemie",
        "E785",
        ("dyslipidémie", "hypercholestérolémie"),
        "Pas de dyslipidémie connue.",
        "rosuvastatine 10 mg : 1 cp/j",
    ),
    Comorbidity(
        "bpco",
        "J449",
        ("BPCO", "BPCO stade GOLD 2"),
        "Pas de BPCO.",
        "tiotropium 2,5 µg : 2 inhalations/j",
    ),
    Comorbidity(
        "tabac", "F172", ("tabagisme actif à 30 PA", "tabagisme actif"), "Non fumeur.", None
    ),
    Comorbidity(
        "irc", "N189", ("IRC", "insuffisance rénale chronique"), "Fonction rénale normale.", None
    ),
    Comorbidity(
        "saos", "G473", ("SAOS appareillé", "syndrome d'apnées du sommeil"), "Pas de SAOS.", None
    ),
    Comorbidity(
        "hypothyroidie",
        "E039",
        ("hypothyroïdie",),
        "Pas de dysthyroïdie.",
        "lévothyroxine 75 µg : 1 cp/j",
    ),
    Comorbidity(
        "cardiopathie",
        "I259",
        ("cardiopathie ischémique", "coronaropathie stentée"),
        "Pas de coronaropathie.",
        "aspirine 75 mg : 1 sachet/j",
    ),
    Comorbidity(
        "alzheimer",
        "G309",
        ("maladie d'Alzheimer",),
        "Pas de trouble cognitif.",
        "donépézil 10 mg : 1 cp/j",
    ),
    Comorbidity("anemie", "D649", ("anémie chronique",), "Pas d'anémie.", None),
)

#: Eponyms of disease names, signs and scores: NOT identifying (hard cases for pseudonymisation).
EPONYM_SENTENCES: tuple[str, ...] = (
    "Signe de Babinski absent.",
    "Pas de signe de Murphy.",
    "Score de Glasgow à 15.",
    "Manœuvre de Valsalva sans effet.",
    "Signe de Lasègue négatif.",
    "Pas de signe de Homans.",
    "Score de Child-Pugh A5.",
    "Pas de syndrome de Guillain-Barré évoqué.",
    "Classification de Killip I.",
    "Réflexe de Hoffmann absent.",
)


@dataclass(frozen=True, slots=True)
class Biomarker:
    """A tumour biomarker and the ways a report gives its result, with the result's status."""

    name: str  # as written in the report
    results: tuple[tuple[str, str], ...]  # (result text, status)
    optional: bool = False  # tested in some patients only (BRCA: on family history or age)


@dataclass(frozen=True, slots=True)
class Cancer:
    key: str
    organ: str  # for sentences ("cancer du sein")
    sites: tuple[tuple[str, str], ...]  # (site text, CIM-10 code)
    histologies: tuple[str, ...]
    grades: tuple[str, ...]
    tnm: tuple[str, ...]
    biomarkers: tuple[Biomarker, ...]
    treatments: tuple[str, ...]
    targeted: dict[str, str] = field(default_factory=dict)  # biomarker -> targeted therapy
    surgery: str = ""
    imaging: str = "scanner thoraco-abdomino-pelvien"
    metastasis: tuple[str, str] = ("hépatiques", "C787")


BREAST = Cancer(
    key="sein",
    organ="sein",
    sites=(
        ("quadrant supéro-externe du sein gauche", "C504"),
        ("sein droit", "C509"),
        ("sein gauche", "C509"),
    ),
    histologies=(
        "carcinome canalaire infiltrant",
        "carcinome lobulaire infiltrant",
        "carcinome infiltrant de type non spécifique",
    ),
    grades=("grade SBR II", "grade SBR III", "grade de Elston et Ellis 2", "grade EE 1"),
    tnm=("pT2N1aM0", "pT1cN0M0", "cT2N0M0", "pT3N2aM0", "ypT1bN0", "cT2N1M1", "pT3N2aM1"),
    biomarkers=(
        Biomarker(
            "RE",
            (
                ("positifs à 90 %", "positive"),
                ("positifs à 60 %", "positive"),
                ("négatifs (0 %)", "negative"),
            ),
        ),
        Biomarker(
            "RP",
            (
                ("positifs à 40 %", "positive"),
                ("négatifs", "negative"),
                ("faiblement positifs à 5 %", "positive"),
            ),
        ),
        Biomarker(
            "HER2",
            (
                ("score 3+", "positive"),
                ("score 0", "negative"),
                ("score 1+", "negative"),
                ("score 2+, ISH non amplifié", "negative"),
                ("score 2+, ISH amplifié", "positive"),
                ("score 2+, ISH en cours", "equivocal"),
                ("score 2+, FISH amplifiée", "positive"),
            ),
        ),
        Biomarker(
            "Ki67",
            (("à 25 %", "positive"), ("à 10 %", "negative"), ("non évaluable", "not_assessed")),
        ),
        Biomarker(
            "BRCA1/2",
            (
                ("absence de variant pathogène", "negative"),
                ("mutation pathogène de BRCA2", "positive"),
                ("variant de signification inconnue", "equivocal"),
            ),
            optional=True,
        ),
        Biomarker("PD-L1", (("CPS à 15", "positive"), ("CPS < 1", "negative")), optional=True),
    ),
    treatments=(
        "tumorectomie avec ganglion sentinelle",
        "chimiothérapie adjuvante par 4 EC puis 12 paclitaxel hebdomadaire",
        "radiothérapie adjuvante",
        "hormonothérapie par létrozole",
    ),
    targeted={"HER2": "trastuzumab et pertuzumab"},
    surgery="tumorectomie du sein avec ganglion sentinelle",
    imaging="mammographie et échographie mammaire",
    metastasis=("osseuses", "C795"),
)

LUNG = Cancer(
    key="poumon",
    organ="poumon",
    sites=(
        ("lobe supérieur droit", "C341"),
        ("lobe inférieur gauche", "C343"),
        ("poumon droit", "C349"),
    ),
    histologies=("adénocarcinome pulmonaire", "adénocarcinome lépidique", "carcinome épidermoïde"),
    grades=("peu différencié", "moyennement différencié"),
    tnm=("cT2aN2M1b", "cT3N1M0", "pT1bN0M0", "cT4N3M1c"),
    biomarkers=(
        Biomarker(
            "EGFR",
            (
                ("mutation de l'exon 19 (délétion)", "positive"),
                ("sauvage", "negative"),
                ("mutation L858R", "positive"),
            ),
        ),
        Biomarker(
            "ALK",
            (
                ("réarrangement positif", "positive"),
                ("négatif en IHC", "negative"),
                ("fusion EML4-ALK", "positive"),
            ),
        ),
        Biomarker(
            "ROS1", (("non réarrangé", "negative"), ("fusion CD74-ROS1 détectée", "positive"))
        ),
        Biomarker(
            "KRAS",
            (
                ("mutation G12C", "positive"),
                ("non muté", "negative"),
                ("absence de mutation", "negative"),
            ),
        ),
        Biomarker(
            "PD-L1",
            (
                ("TPS à 80 %", "positive"),
                ("TPS < 1 %", "negative"),
                ("non évaluable, matériel insuffisant", "not_assessed"),
            ),
        ),
    ),
    treatments=(
        "chimiothérapie par carboplatine et pémétrexed",
        "immunothérapie par pembrolizumab",
        "radiothérapie stéréotaxique",
    ),
    targeted={"EGFR": "osimertinib", "ALK": "alectinib", "KRAS": "sotorasib"},
    surgery="lobectomie pulmonaire par vidéothoracoscopie",
    imaging="TEP-scanner au 18F-FDG",
    metastasis=("cérébrales", "C793"),
)

COLON = Cancer(
    key="colon",
    organ="côlon",
    sites=(("côlon sigmoïde", "C187"), ("côlon droit", "C182"), ("côlon transverse", "C184")),
    histologies=("adénocarcinome lieberkühnien", "adénocarcinome mucineux"),
    grades=("bien différencié", "moyennement différencié", "de bas grade"),
    tnm=("pT3N1bM0", "pT4aN2aM1a", "pT2N0M0", "pT3N0M0"),
    biomarkers=(
        Biomarker(
            "KRAS",
            (
                ("muté (G12D)", "positive"),
                ("sauvage", "negative"),
                ("absence de mutation", "negative"),
            ),
        ),
        Biomarker("NRAS", (("sauvage", "negative"),)),
        Biomarker("BRAF", (("mutation V600E", "positive"), ("non muté", "negative"))),
        Biomarker(
            "MSI",
            (
                ("statut MSS (pMMR)", "negative"),
                ("instabilité microsatellitaire (dMMR)", "positive"),
            ),
        ),
    ),
    treatments=(
        "chimiothérapie adjuvante par FOLFOX",
        "chimiothérapie par FOLFIRI et bévacizumab",
        "colectomie segmentaire",
    ),
    targeted={"MSI": "pembrolizumab"},
    surgery="colectomie segmentaire par cœlioscopie",
    metastasis=("hépatiques", "C787"),
)

CANCERS: tuple[Cancer, ...] = (BREAST, LUNG, COLON)

#: RECIST-style responses and sentences that state them (evidence spans).
RESPONSES: dict[str, tuple[str, ...]] = {
    "complete_response": (
        "réponse complète avec disparition de toutes les lésions cibles",
        "réponse métabolique et morphologique complète",
    ),
    "partial_response": (
        "réponse partielle selon RECIST 1.1 avec diminution de 42 % de la somme des diamètres",
        "réponse partielle franche",
    ),
    "stable_disease": ("maladie stable selon RECIST 1.1", "stabilité des lésions cibles"),
    "progression": (
        "progression de la maladie avec apparition de nouvelles lésions",
        "progression selon RECIST 1.1 (+ 28 % de la somme des diamètres)",
    ),
    "not_evaluable": (
        "réponse non évaluable selon RECIST, lésions non mesurables",
        "examen non évaluable du fait d'artefacts",
    ),
}

SPECIALTIES_ONCOLOGY = "oncologie"

HOSPITAL_KINDS: tuple[str, ...] = (
    "Centre Hospitalier Universitaire de {city}",
    "Centre Hospitalier de {city}",
    "Hôpital {saint}",
    "Clinique {saint}",
    "Institut de cancérologie de {city}",
)

SAINTS: tuple[str, ...] = (
    "Saint-Joseph",
    "Sainte-Anne",
    "Saint-Louis",
    "Sainte-Marguerite",
    "Saint-Éloi",
    "Saint-Vincent",
    "Sainte-Blandine",
    "Saint-Roch",
    "Sainte-Musse",
    "Saint-Philibert",
)

#: Surnames that are also common French words (hard cases for a name detector).
COMMON_WORD_SURNAMES: tuple[str, ...] = (
    "Petit",
    "Blanc",
    "Boulanger",
    "Marchand",
    "Fontaine",
    "Lapierre",
    "Poisson",
    "Pain",
    "Masse",
    "Bras",
    "Coeur",
    "Rose",
    "Leroy",
    "Bonheur",
    "Lesage",
    "Page",
    "Vigne",
    "Salle",
    "Chevalier",
    "Meunier",
)

MAIL_DOMAINS: tuple[str, ...] = ("orange.fr", "gmail.com", "free.fr", "laposte.net", "sfr.fr")
