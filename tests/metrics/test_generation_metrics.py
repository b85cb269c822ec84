"""Clinical summary metrics on hand-computed cases: ROUGE-L, edit similarity, facts."""

from __future__ import annotations

import pytest
from rapidfuzz.distance import Levenshtein
from rouge_score import rouge_scorer

from curation.metrics import summary
from curation.metrics.generation import statements, summary_metrics
from curation.metrics.text import FrenchTokenizer, codes_in, dates_in, fact_key, words
from curation.schema import Record
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases.clinical_summary import SECTIONS, USE_CASE


def record(doc_id: str, origin: str = "gold", **sections: str) -> Record:
    return Record(doc_id, USE_CASE.id, origin, sections=dict(sections))


def rouge(target: str, prediction: str) -> float:
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=FrenchTokenizer())
    return float(scorer.score(target, prediction)["rougeL"].fmeasure)


# --- tokens and keys ---------------------------------------------------------------------------


def test_tokenizer_keeps_accented_words_whole_and_distinct() -> None:
    assert words("Diabète déséquilibré") == ["diabète", "déséquilibré"]
    # rouge-score's own tokenizer keeps [a-z0-9] only: "diabète" falls apart into two tokens
    assert rouge_scorer.RougeScorer(["rougeL"])._tokenizer.tokenize("diabète") == ["diab", "te"]
    assert rouge("diabète", "diabete") == 0.0  # accents are kept on purpose: a correction
    assert rouge("Diabète sucré", "DIABÈTE SUCRÉ") == 1.0  # case is folded


def test_fact_keys_fold_case_accents_spaces_dates_and_codes() -> None:
    assert fact_key("  Diabète   de TYPE 2 ") == fact_key("diabete de type 2")
    assert fact_key("12/03/2024") == fact_key("12 mars 2024") == fact_key("12.03.24")
    assert fact_key("1er mars 2024") == fact_key("01/03/2024") == "date20240301"
    assert fact_key("J18.1") == fact_key("(J181)") == "cimj181"
    assert fact_key("œdèmes des membres inférieurs") == "oedemes des membres inferieurs"
    assert dates_in("1 cp x 3/j, sacubitril/valsartan 24/26 mg, TA 130/80") == set()
    assert dates_in("31/02/2024") == set()  # not a date
    assert codes_in("contrôle à J15, asthme (J45), HTA (I10)") == {"cimj45", "cimi10"}


def test_statements_are_sentences_cut_at_semicolons() -> None:
    text = "Amoxicilline 1 g ; paracétamol 1 g.\n- furosémide 40 mg\n- bisoprolol 2,5 mg"
    assert statements(text) == [
        "Amoxicilline 1 g",
        "paracétamol 1 g.",
        "- furosémide 40 mg",
        "- bisoprolol 2,5 mg",
    ]
    assert statements("  ") == []


# --- ROUGE-L and edit similarity ---------------------------------------------------------------


def test_perfect_summary() -> None:
    gold = [record("d1", motif="Hospitalisation pour pneumopathie.", suivi="Contrôle à J7.")]
    scores = summary_metrics(gold, gold, USE_CASE, n_resamples=20)
    assert scores["rouge_l"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "pairs": 2}
    assert scores["edit_similarity"]["similarity"] == 1.0
    assert scores["per_section"]["motif"] == {
        "rouge_l": 1.0,
        "edit_similarity": 1.0,
        "documents": 1,
    }
    assert scores["per_section"]["antecedents"]["rouge_l"] is None  # empty on both sides
    assert scores["bootstrap"]["rouge_l"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    assert scores["facts"]["recall"] is None  # no facts given


def test_all_wrong_summary() -> None:
    gold = [record("d1", antecedents="HTA")]
    scores = summary_metrics(gold, [record("d1", "llm", antecedents="BPCO")], USE_CASE)
    assert scores["rouge_l"]["f1"] == 0.0
    # HTA -> BPCO: 3 substitutions and 1 insertion over the longer 4 characters
    assert scores["edit_similarity"] == {"similarity": 0.0, "distance": 4, "characters": 4}


def test_partial_overlap_computed_by_hand() -> None:
    gold = [
        record(
            "d1",
            diagnostic="pneumopathie franche lobaire aiguë droite",
            traitement_sortie="amoxicilline 1 g",
        )
    ]
    draft = [
        record(
            "d1",
            "llm",
            diagnostic="pneumopathie lobaire droite",
            traitement_sortie="amoxicilline 2 g",
        )
    ]
    scores = summary_metrics(gold, draft, USE_CASE, n_resamples=20)
    # diagnostic: LCS 3 of 3 predicted and 5 gold words: P 1, R 0.6, F1 2 * 0.6 / 1.6 = 0.75
    # traitement: LCS 2 of 3 and 3 words: F1 2/3
    assert scores["per_section"]["diagnostic"]["rouge_l"] == 0.75
    assert scores["per_section"]["traitement_sortie"]["rouge_l"] == 0.6667
    assert scores["rouge_l"]["f1"] == round((0.75 + 2 / 3) / 2, 4)
    assert scores["rouge_l"]["precision"] == round((1 + 2 / 3) / 2, 4)
    # edits: insert "franche " and "aiguë " (14 characters of 41), then "1" -> "2" (1 of 16)
    assert Levenshtein.distance("pneumopathie lobaire droite", gold[0].sections["diagnostic"]) == 14
    assert scores["per_section"]["diagnostic"]["edit_similarity"] == round(1 - 14 / 41, 4)
    assert scores["per_section"]["traitement_sortie"]["edit_similarity"] == round(1 - 1 / 16, 4)
    assert scores["edit_similarity"] == {
        "similarity": round(1 - 15 / 57, 4),
        "distance": 15,
        "characters": 57,
    }


def test_section_only_in_the_draft_scores_zero_and_unknown_sections_follow() -> None:
    gold = [record("d1", motif="Chute.")]
    draft = [record("d1", "llm", motif="Chute.", suivi="Revoir à J7.", remarque="RAS")]
    scores = summary_metrics(gold, draft, USE_CASE, n_resamples=20)
    assert scores["per_section"]["suivi"]["rouge_l"] == 0.0
    assert list(scores["per_section"]) == [*SECTIONS, "remarque"]
    assert scores["rouge_l"]["f1"] == round(1 / 3, 4)


def test_missing_predictions_and_empty_inputs() -> None:
    gold = [record("d1", motif="Chute."), record("d2", motif="Dyspnée.")]
    facts = {"d1": ["chute"], "d2": ["dyspnée"]}
    scores = summary_metrics(gold, [record("d3", "llm")], USE_CASE, facts=facts, n_resamples=20)
    assert scores["rouge_l"]["f1"] == 0.0 and scores["edit_similarity"]["similarity"] == 0.0
    assert scores["facts"]["recall"] == 0.0 and scores["facts"]["unsupported_rate"] is None
    assert scores["documents"] == {"gold": 2, "missing_doc_ids": 2, "unknown_doc_ids": 1}
    empty = summary_metrics([], [], USE_CASE, n_resamples=20)
    assert empty["rouge_l"]["f1"] is None and empty["facts"]["recall"] is None
    assert empty["bootstrap"]["rouge_l"] == {"value": None, "low": None, "high": None}


def test_duplicate_doc_id_is_an_error() -> None:
    gold = [record("d1", motif="a"), record("d1", motif="b")]
    with pytest.raises(ValueError, match="gold record 2: doc_id 'd1' appears twice"):
        summary_metrics(gold, [], USE_CASE)


# --- facts -------------------------------------------------------------------------------------


def test_fact_recall_folds_accents_case_spaces_and_date_forms() -> None:
    facts = {"d1": ["Diabète de type 2", "12/03/2024", "metformine", "HTA"]}
    gold = [record("d1", antecedents="Diabète de type 2, HTA.")]
    draft = [
        record(
            "d1",
            "llm",
            antecedents="DIABETE  de type 2, CHTA.",  # "HTA" inside a word is not HTA
            suivi="Revu le 12 mars 2024 sous metformine.",
        )
    ]
    scores = summary_metrics(gold, draft, USE_CASE, facts=facts, n_resamples=20)
    assert (scores["facts"]["found"], scores["facts"]["facts"]) == (3, 4)
    assert scores["facts"]["recall"] == 0.75


def test_unsupported_statements_computed_by_hand() -> None:
    facts = {
        "d1": ["pneumopathie lobaire (J18.1)", "amoxicilline", "12/03/2024"],
        "d2": ["furosémide", "insuffisance cardiaque (I50.0)"],
    }
    gold = [record("d1", diagnostic="Pneumopathie lobaire (J18.1)."), record("d2")]
    draft = [
        record(
            "d1",
            "llm",
            diagnostic="Pneumopathie lobaire (J18.1) ; insuffisance cardiaque.",
            traitement_sortie="Amoxicilline ; furosémide ; apixaban 5 mg.",
            suivi="Sortie le 12 mars 2024. Contrôle à J15 le 20/03/2024. Revoir en C.",
        )
    ]
    scores = summary_metrics(
        gold, draft, USE_CASE, facts=facts, vocabulary=["apixaban"], n_resamples=20
    )
    # statements and their fact-like items (J15 is a day count; "insuffisance cardiaque"
    # alone is no fact of the vocabulary, whose term is "insuffisance cardiaque (I50.0)"):
    #   "Pneumopathie lobaire (J18.1)"  J18.1, the term of d1     supported
    #   "insuffisance cardiaque."       none                      not checkable
    #   "Amoxicilline"                  amoxicilline              supported
    #   "furosémide"                    furosémide (d2's fact)    unsupported
    #   "apixaban 5 mg."                apixaban (vocabulary)     unsupported
    #   "Sortie le 12 mars 2024."       12/03/2024                supported
    #   "Contrôle à J15 le 20/03/2024." 20/03/2024                unsupported
    #   "Revoir en C."                  none                      not checkable
    f = scores["facts"]
    assert (f["statements"], f["checkable_statements"], f["unsupported_statements"]) == (8, 6, 3)
    assert f["unsupported_rate"] == 0.5
    assert f["documents"] == 2 and f["recall"] == round(3 / 5, 4)  # d2 predicted nothing


def test_answer_key_against_itself_is_perfect() -> None:
    gold = [
        item.records["clinical_summary"]
        for item in generate_documents(GenerateSettings(n_documents=30))
        if "clinical_summary" in item.records
    ]
    assert gold
    facts = {
        r.doc_id: [
            piece
            for name in ("diagnostic", "traitement_sortie")
            for piece in r.sections[name].split("; ")
            if piece != "Aucun."
        ]
        for r in gold
    }
    scores = summary_metrics(gold, gold, USE_CASE, facts=facts, n_resamples=50)
    assert scores["rouge_l"]["f1"] == scores["edit_similarity"]["similarity"] == 1.0
    assert scores["facts"]["recall"] == 1.0 and scores["facts"]["unsupported_rate"] == 0.0
    assert scores["facts"]["checkable_statements"] > 0
    empty = [Record(r.doc_id, r.use_case, "nothing") for r in gold]
    nothing = summary_metrics(gold, empty, USE_CASE, facts=facts, n_resamples=50)
    assert nothing["rouge_l"]["f1"] == nothing["facts"]["recall"] == 0.0


# --- bootstrap, groups, summary ----------------------------------------------------------------


def test_bootstrap_is_seeded_and_groups_split_documents() -> None:
    gold = [record("d1", motif="Chute."), record("d2", motif="Dyspnée aiguë.")]
    draft = [record("d1", "llm", motif="Chute."), record("d2", "llm", motif="Toux.")]
    groups = {"d1": "crh"}
    one = summary_metrics(gold, draft, USE_CASE, groups, n_resamples=200, seed=3)
    two = summary_metrics(gold, draft, USE_CASE, groups, n_resamples=200, seed=3)
    assert one["bootstrap"] == two["bootstrap"]
    interval = one["bootstrap"]["rouge_l"]
    assert (interval["value"], interval["low"], interval["high"]) == (0.5, 0.0, 1.0)
    assert one["by_group"]["crh"]["rouge_l"] == 1.0
    assert one["by_group"]["unknown"] == {
        "rouge_l": 0.0,
        "fact_recall": None,
        "edit_similarity": round(1 - Levenshtein.distance("Toux.", "Dyspnée aiguë.") / 14, 4),
        "documents": 1,
    }


def test_summary_reads_the_headline() -> None:
    gold = [record("d1", motif="Chute.", suivi="Contrôle à J7.")]
    draft = [record("d1", "llm", motif="Chute.")]
    scores = summary_metrics(gold, draft, USE_CASE, n_resamples=20)
    assert summary.generation_kind(scores) == "summary"
    assert summary.headline(scores) == "ROUGE-L F1 over sections"
    main = summary.main_scores(scores)
    assert (main["f1"], main["low"], main["high"]) == (0.5, 0.5, 0.5)
    assert main["edit_similarity"] == scores["edit_similarity"]["similarity"]
    assert summary.label_scores(scores)["motif"]["f1"] == 1.0
    assert summary.macro_f1(scores) == 0.5
