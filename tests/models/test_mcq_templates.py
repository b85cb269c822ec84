"""QRM templates: validity of every item built from 100 synthetic stay reports, CIM-10
distractors from the answer's block, drug classes, biomarker -> targeted therapy, seeds, and
the checks catching each defect."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from typing import Any

import pytest

from curation import cim10
from curation.models.mcq import QuestionWriter, build_question_writer, patient_of
from curation.models.mcq.templates import (
    ATC_CLASSES,
    TARGETED_THERAPIES,
    Patient,
    biomarker_item,
    clean_context,
    diagnosis_distractors,
    drug_class_item,
    drug_codes,
    readable,
)
from curation.models.mcq.validity import PROBLEM_CODES, check_item, contains, normalise
from curation.schema import Record
from curation.settings import GenerateSettings, PreannotateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases import get

NO_DIAGNOSIS = ("biomarker", "drug_class")  # templates that do not need eds.cim10 (slow build)

HEART_FAILURE = """\
COMPTE RENDU D'HOSPITALISATION
Motif d'hospitalisation
Monsieur X, 82 ans, hospitalisé pour dyspnée.

Histoire de la maladie
Depuis le 02/03/2024, orthopnée et œdèmes des membres inférieurs.

Examens complémentaires
- NT-proBNP à 4 850 pg/mL
- ETT : FEVG estimée à 32 %, VG dilaté

Conclusion
Insuffisance cardiaque.

Traitement de sortie
- furosémide 40 mg : 1 cp/j
"""


def valid_item() -> dict[str, Any]:
    return {
        "stem": "Une femme de 43 ans présente une dyspnée brutale. Quel diagnostic évoquer ?",
        "options": {
            "A": "Embolie pulmonaire",
            "B": "Pneumothorax",
            "C": "Péricardite aiguë",
            "D": "Pneumopathie lobaire",
            "E": "Œdème aigu du poumon",
        },
        "answers": ["A"],
        "explanation": "Dyspnée brutale avec tachycardie : embolie pulmonaire à évoquer.",
    }


# -- validity ----------------------------------------------------------------------------------


def _set(item: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(item)
    *head, last = path.split(".")
    target = out
    for key in head:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return out


DEFECTS: list[tuple[str, str, Any, str]] = [
    ("no stem", "stem", KeyError, "missing_field"),
    ("blank stem", "stem", "  ", "missing_field"),
    ("answers not a list", "answers", "A", "missing_field"),
    ("four options", "options.E", KeyError, "options_not_a_to_e"),
    ("option F", "options.F", "Asthme", "options_not_a_to_e"),
    ("empty option", "options.C", " . ", "empty_option"),
    ("same option twice", "options.B", "embolie  pulmonaire.", "duplicate_options"),
    ("accents differ only", "options.D", "PERICARDITE AIGUE", "duplicate_options"),
    ("no answer", "answers", [], "no_answer"),
    ("answer F", "answers", ["F"], "answer_not_an_option"),
    ("answer twice", "answers", ["A", "A"], "answer_not_an_option"),
    (
        "option in stem",
        "stem",
        "Dyspnée brutale, pneumothorax exclu. Diagnostic ?",
        "option_in_stem",
    ),
    ("phone", "stem", "Dyspnée brutale (tél. 06 12 34 56 78). Diagnostic ?", "identifying_data"),
    ("e-mail", "explanation", "Écrire à jean.dupont@chu-nulle-part.fr.", "identifying_data"),
    ("NIR", "options.C", "Assuré 1 85 05 75 123 456 73", "identifying_data"),
    ("date of birth", "stem", "Patiente née le 12/03/1950. Diagnostic ?", "identifying_data"),
    ("IPP", "stem", "Patiente IPP : 8012345678, dyspnée. Diagnostic ?", "identifying_data"),
]


def test_a_good_item_has_no_problem() -> None:
    assert check_item(valid_item()) == []


@pytest.mark.parametrize(("defect", "path", "value", "code"), DEFECTS, ids=[d[0] for d in DEFECTS])
def test_validity_names_each_defect(defect: str, path: str, value: Any, code: str) -> None:
    problems = check_item(_set(valid_item(), path, value))
    assert code in [p.code for p in problems], defect
    assert all(p.code in PROBLEM_CODES for p in problems)


def test_problems_quote_no_text() -> None:
    item = _set(valid_item(), "stem", "Patiente née le 12/03/1950, tél. 06 12 34 56 78.")
    for problem in check_item(item):
        assert "1950" not in problem.message and "06 12" not in problem.message


def test_normalise_and_contains() -> None:
    assert normalise("  Œdème AIGU du poumon. ") == "oedeme aigu du poumon"
    assert contains("Angioscanner : embolie pulmonaire bilatérale.", "Embolie pulmonaire")
    assert not contains("Pneumopathies à répétition.", "pneumopathie")


# -- tables -----------------------------------------------------------------------------------


def test_every_atc_class_has_drugs_in_edsnlp_and_a_distinct_name() -> None:
    codes = {code for found in drug_codes().values() for code in found}
    for prefix in ATC_CLASSES:
        assert any(code.startswith(prefix) for code in codes), prefix
    assert len(set(map(normalise, ATC_CLASSES.values()))) == len(ATC_CLASSES)


def test_targeted_therapies_are_distinct_and_give_five_options() -> None:
    drugs = [t.drug for t in TARGETED_THERAPIES]
    assert len(set(drugs)) == len(drugs)
    for therapy in TARGETED_THERAPIES:
        others = [t for t in TARGETED_THERAPIES if not t.markers & therapy.markers]
        assert len(others) >= 4, therapy.drug


# -- templates --------------------------------------------------------------------------------


def test_readable_labels() -> None:
    assert readable(cim10.lookup("I269").label) == "Embolie pulmonaire"
    assert readable("Fibrillation et flutter auriculaires, sans précision") == (
        "Fibrillation et flutter auriculaires"
    )


@pytest.mark.parametrize("code", ["I50", "K810", "G20", "S720", "J181", "N10"])
def test_diagnosis_distractors_come_from_the_block_then_the_chapter(code: str) -> None:
    block = cim10.block(code[:3])
    picked = diagnosis_distractors(code, random.Random(3))
    assert len(picked) == 4 and code[:3] not in picked
    assert all(cim10.chapter(c) == cim10.chapter(code) for c in picked)
    in_block = [c for c in picked if cim10.block(c) == block]
    assert picked[: len(in_block)] == in_block  # the block's first
    everything = diagnosis_distractors(code, random.Random(3), n=500)
    assert len(in_block) == min(4, sum(cim10.block(c) == block for c in everything))


def test_heart_failure_distractors_are_all_in_its_block() -> None:
    picked = diagnosis_distractors("I50", random.Random(0))
    assert {cim10.block(c) for c in picked} == {"I30-I52"}


def test_drug_class_item() -> None:
    draft = drug_class_item("bisoprolol", ("C07AB07",), Patient(74, "M"), random.Random(0))
    assert draft is not None and check_item(draft.item) == []
    answers = [draft.item["options"][a] for a in draft.item["answers"]]
    assert answers == ["bêtabloquant cardiosélectif"]
    assert draft.item["stem"].startswith("Un homme de 74 ans sort d'hospitalisation")
    # distractors from the same ATC anatomical group (C, cardiovascular) first
    assert all(prefix.startswith("C") for prefix in draft.facts["classes"].values())


def test_a_drug_of_two_classes_has_two_answers() -> None:
    codes = tuple(sorted(drug_codes()["aspirine"]))
    draft = drug_class_item("aspirine", codes, Patient(), random.Random(0))
    assert draft is not None and check_item(draft.item) == []
    answers = sorted(draft.item["options"][a] for a in draft.item["answers"])
    assert answers == ["antalgique salicylé", "antiagrégant plaquettaire"]
    assert drug_class_item("inconnu", ("Z99ZZ99",), Patient(), random.Random(0)) is None


@pytest.mark.parametrize(
    ("marker", "result", "name", "therapy"),
    [
        ("HER2", "score 3+", "HER2", "trastuzumab"),
        ("EGFR", "mutation de l'exon 19 (délétion)", "EGFR", "osimertinib"),
        ("ALK", "réarrangement positif", "ALK", "alectinib"),
        ("KRAS", "mutation G12C", "KRAS", "sotorasib"),
        ("MSI", "instabilité microsatellitaire (dMMR)", "MSI", "pembrolizumab"),
        ("BRCA2", "mutation pathogène", "BRCA2", "olaparib"),
    ],
)
def test_biomarker_to_targeted_therapy(marker: str, result: str, name: str, therapy: str) -> None:
    draft = biomarker_item(marker, result, name, Patient(58, "F"), random.Random(0))
    assert draft is not None and check_item(draft.item) == []
    assert [draft.item["options"][a] for a in draft.item["answers"]] == [therapy]
    assert "Une femme de 58 ans est suivie pour un cancer" in draft.item["stem"]


def test_no_therapy_for_an_untargetable_result_nor_a_crossed_distractor() -> None:
    assert biomarker_item("KRAS", "muté (G12D)", "KRAS", Patient(), random.Random(0)) is None
    assert biomarker_item("Ki67", "à 25 %", "KI67", Patient(), random.Random(0)) is None
    for seed in range(20):  # crizotinib also targets ALK: never a wrong option for ALK
        draft = biomarker_item(
            "ALK", "réarrangement positif", "ALK", Patient(), random.Random(seed)
        )
        assert draft is not None and "crizotinib" not in draft.item["options"].values()


def test_context_sentences_lose_their_dates_and_identifiers() -> None:
    assert clean_context("Depuis le 10/10/2021, apparition de dyspnée brutale.") == (
        "Apparition de dyspnée brutale."
    )
    assert clean_context("Rappeler le 06 12 34 56 78.") is None


def test_patient_of_a_report() -> None:
    assert patient_of(HEART_FAILURE) == Patient(82, "M")
    assert patient_of("Compte rendu sans élément.") == Patient(None, None)


# -- the pre-annotator --------------------------------------------------------------------------


def test_items_read_from_a_report_without_diagnosis_template() -> None:
    text = (
        "Patiente : Mme X\nMotif\nMme X, 67 ans, hospitalisée pour douleur thoracique.\n\n"
        "Traitement de sortie\n- Kardégic 75 mg : 1 sachet/j\n\n"
        "Biomarqueurs\n- HER2 : score 3+.\n- En cas de positivité de ALK, alectinib à discuter.\n"
    )
    drafts, reasons = QuestionWriter(templates=NO_DIAGNOSIS).drafts("doc-1", text)
    assert [d.template for d in drafts] == ["biomarker", "drug_class"] and reasons == {}
    biomarker, drug = drafts
    assert biomarker.facts == {"marker": "HER2", "therapy": "trastuzumab"}
    assert drug.facts["atc"] == ["B01AC06"]
    assert [drug.item["options"][a] for a in drug.item["answers"]] == ["antiagrégant plaquettaire"]


def test_a_report_without_facts_gets_an_empty_record_with_a_reason() -> None:
    writer = build_question_writer(get("mcq_generation"), PreannotateSettings(), None)
    assert writer.origin == "extractive:mcq-templates.v1"
    writer.templates = NO_DIAGNOSIS
    (record,) = writer.predict([("doc-1", "Patient vu ce jour, examen sans particularité.\n")])
    assert record.items == [] and record.use_case == "mcq_generation"
    assert record.provenance["reason"].startswith("no valid item")
    assert set(record.provenance["not_built"]) == set(NO_DIAGNOSIS)
    assert record.provenance["backend"] == "extractive" and record.provenance["version"] == "v1"


def test_unknown_template_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown templates"):
        QuestionWriter(templates=("anatomy",))


@pytest.fixture(scope="module")
def crh() -> list[tuple[str, str]]:
    items = generate_documents(GenerateSettings(seed=7, n_documents=100, doc_types=["crh"]))
    return [(g.document.doc_id, g.document.text) for g in items]


@pytest.fixture(scope="module")
def crh_records(crh: list[tuple[str, str]]) -> list[Record]:
    """Every template on 100 synthetic stay reports (builds ``eds.cim10``: tens of seconds)."""
    return list(QuestionWriter(max_items=3).predict(crh))


def test_diagnosis_read_from_a_report() -> None:
    drafts, _ = QuestionWriter(templates=("diagnosis",)).drafts("doc-1", HEART_FAILURE)
    (draft,) = drafts
    item = draft.item
    assert [item["options"][a] for a in item["answers"]] == ["Insuffisance cardiaque"]
    assert draft.facts["code"] == "I50" and draft.facts["block"] == "I30-I52"
    assert {cim10.block(c) for c in draft.facts["codes"].values()} == {"I30-I52"}
    assert item["stem"].startswith("Un homme de 82 ans est hospitalisé. Histoire de la maladie")
    assert "Orthopnée et œdèmes des membres inférieurs" in item["stem"]  # date taken out
    assert "2024" not in item["stem"] and "NT-proBNP à 4 850 pg/mL" in item["stem"]
    assert check_item(item) == []


def test_every_item_on_100_stay_reports_is_valid(crh_records: list[Record]) -> None:
    items = [item for record in crh_records for item in record.items]
    assert items and all(check_item(item) == [] for item in items)
    with_items = sum(bool(record.items) for record in crh_records)
    templates = Counter(i["template"] for r in crh_records for i in r.provenance["items"])
    # Measured (seed 7): 87 of 100 reports give an item; 87 drug-class and 26 diagnosis items
    # (eds.cim10 matches ATIH labels exactly); stay reports state no biomarker.
    assert with_items >= 80
    assert templates["drug_class"] >= 80 and templates["diagnosis"] >= 20
    for record in crh_records:
        if not record.items:
            assert record.provenance["reason"].startswith("no valid item")


def test_diagnosis_distractors_share_the_answer_block(crh_records: list[Record]) -> None:
    checked = 0
    for record in crh_records:
        for meta in record.provenance["items"]:
            if meta["template"] != "diagnosis":
                continue
            facts = meta["facts"]
            others = [c for c in facts["codes"].values() if c != facts["code"]]
            assert all(cim10.chapter(c) == cim10.chapter(facts["code"]) for c in others)
            in_block = sum(cim10.block(c) == facts["block"] for c in others)
            available = sum(
                cim10.block(c) == facts["block"]
                for c in diagnosis_distractors(facts["code"], random.Random(0), n=500)
            )
            assert in_block == min(4, available)
            checked += 1
    assert checked >= 20


def test_items_depend_on_the_seed_only(crh: list[tuple[str, str]]) -> None:
    docs = crh[:15]
    first = [r.to_json() for r in QuestionWriter(seed=1, templates=NO_DIAGNOSIS).predict(docs)]
    again = QuestionWriter(seed=1, templates=NO_DIAGNOSIS, batch_size=4).predict(reversed(docs))
    assert first == [r.to_json() for r in reversed(list(again))]
    other = [r.to_json() for r in QuestionWriter(seed=2, templates=NO_DIAGNOSIS).predict(docs)]
    assert other != first
    assert all(
        json.loads(a)["doc_id"] == json.loads(b)["doc_id"]
        for a, b in zip(first, other, strict=True)
    )
