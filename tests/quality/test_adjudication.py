"""Adjudication rules: review, single, consensus with a quorum; conflicts; provenance."""

from __future__ import annotations

import pytest

from curation.quality.adjudication import (
    Conflict,
    adjudicate,
    adjudicate_document,
    document_agreement,
)
from curation.quality.annotations import Annotated
from curation.schema import Record, Span
from curation.usecases import get

TEXT = "Vu par le Dr Martin le 12/03/2024, tél 06 12 34 56 78."
NOM = Span(13, 19, "NOM", "Martin")
DATE = Span(23, 33, "DATE", "12/03/2024")
TEL = Span(39, 53, "TEL", "06 12 34 56 78")
PSEUDO = get("pseudonymisation")

_ids = iter(range(1, 10_000))


def ann(
    who: str,
    *spans: Span,
    doc_id: str = "d1",
    review: bool = False,
    ground_truth: bool = False,
    cancelled: bool = False,
    updated_at: str = "2026-11-23T10:00:00Z",
) -> Annotated:
    record = Record(doc_id, "pseudonymisation", f"annotator:{who}", spans=list(spans))
    return Annotated(
        record,
        f"annotator:{who}",
        annotation_id=next(_ids),
        ground_truth=ground_truth,
        review=review,
        cancelled=cancelled,
        updated_at=updated_at,
    )


def gold_of(result: Record | Conflict) -> Record:
    assert isinstance(result, Record), f"expected gold, got a conflict: {result}"
    return result


def test_single_annotator_is_gold_with_unknown_agreement() -> None:
    only = ann("a", NOM, DATE)
    gold = gold_of(adjudicate_document("d1", [only], PSEUDO))
    assert gold.spans == [NOM, DATE]
    assert gold.provenance["rule"] == "single"
    assert gold.provenance["annotations"] == [only.key]
    assert gold.provenance["agreement"] is None
    assert gold.origin == "gold:single"


def test_last_annotation_of_an_annotator_counts_and_cancelled_ones_do_not() -> None:
    first = ann("a", NOM, updated_at="2026-11-23T09:00:00Z")
    second = ann("a", NOM, DATE, updated_at="2026-11-23T11:00:00Z")
    skipped = ann("b", cancelled=True)
    out = adjudicate([first, second, skipped], PSEUDO)
    [gold] = out.gold
    assert gold.spans == [NOM, DATE]
    assert gold.provenance["rule"] == "single"
    assert gold.provenance["annotations"] == [second.key]


def test_identical_annotations_reach_consensus_with_full_agreement() -> None:
    a, b = ann("a", NOM, DATE), ann("b", NOM, DATE)
    gold = gold_of(adjudicate_document("d1", [a, b], PSEUDO))
    assert gold.spans == [NOM, DATE]
    assert gold.provenance["rule"] == "consensus"
    assert gold.provenance["agreement"] == 1.0
    assert gold.provenance["quorum"] == 0.5
    assert sorted(gold.provenance["annotations"]) == sorted([a.key, b.key])


def test_half_quorum_keeps_a_span_marked_by_one_of_two() -> None:
    # recall first: TEL marked by a only is kept (share 1/2 >= 0.5)
    gold = gold_of(adjudicate_document("d1", [ann("a", NOM, TEL), ann("b", NOM)], PSEUDO))
    assert gold.spans == [NOM, TEL]
    # pairwise F1: 2*1 / (2+1)
    assert gold.provenance["agreement"] == pytest.approx(0.6667)


def test_overlapping_versions_are_a_conflict_with_the_disputed_place() -> None:
    longer = Span(10, 19, "NOM", "Dr Martin")
    result = adjudicate_document("d1", [ann("a", NOM, DATE), ann("b", longer, DATE)], PSEUDO)
    assert isinstance(result, Conflict)
    [dispute] = result.disputes
    assert (dispute.start, dispute.end, dispute.reason) == (10, 19, "overlapping versions")
    assert dispute.votes == {"NOM[10:19]": 1, "NOM[13:19]": 1}
    assert [v.annotator for v in result.versions] == ["annotator:a", "annotator:b"]


def test_same_offsets_with_different_labels_are_a_conflict() -> None:
    as_city = Span(13, 19, "VILLE", "Martin")
    result = adjudicate_document("d1", [ann("a", NOM), ann("b", as_city)], PSEUDO)
    assert isinstance(result, Conflict)
    assert result.disputes[0].votes == {"NOM[13:19]": 1, "VILLE[13:19]": 1}


def test_two_thirds_quorum_sends_a_one_to_one_tie_to_review() -> None:
    result = adjudicate_document("d1", [ann("a", NOM, TEL), ann("b", NOM)], PSEUDO, quorum=2 / 3)
    assert isinstance(result, Conflict)
    [dispute] = result.disputes
    assert (dispute.start, dispute.end, dispute.reason) == (39, 53, "no majority")


def test_two_thirds_quorum_takes_the_majority_of_three() -> None:
    spurious = Span(0, 2, "NOM", "Vu")
    three = [ann("a", NOM, TEL), ann("b", NOM, TEL), ann("c", NOM, spurious)]
    gold = gold_of(adjudicate_document("d1", three, PSEUDO, quorum=2 / 3))
    assert gold.spans == [NOM, TEL]  # TEL 2/3 accepted; the spurious span 1/3 rejected


def test_review_annotation_wins_over_annotators() -> None:
    a, b = ann("a", NOM), ann("b", Span(10, 19, "NOM", "Dr Martin"))
    reviewed = ann("chef", NOM, DATE, TEL, review=True)
    gold = gold_of(adjudicate_document("d1", [a, b, reviewed], PSEUDO))
    assert gold.spans == [NOM, DATE, TEL]
    assert gold.provenance["rule"] == "review"
    assert gold.provenance["reviewer"] == "annotator:chef"
    assert reviewed.key in gold.provenance["annotations"]
    assert gold.provenance["agreement"] == 0.0  # a and b still disagreed


def test_ground_truth_flag_and_configured_reviewer_are_authoritative() -> None:
    flagged = ann("a", NOM, ground_truth=True)
    gold = gold_of(adjudicate_document("d1", [flagged, ann("b", DATE)], PSEUDO))
    assert gold.spans == [NOM] and gold.provenance["rule"] == "review"
    by_chief = adjudicate_document(
        "d1", [ann("a", NOM), ann("dr.chef@chu.fr", DATE)], PSEUDO, reviewers=["dr.chef@chu.fr"]
    )
    assert gold_of(by_chief).spans == [DATE]


def test_latest_review_wins() -> None:
    old = ann("chef", NOM, review=True, updated_at="2026-11-20T10:00:00Z")
    new = ann("chef2", DATE, review=True, updated_at="2026-11-22T10:00:00Z")
    assert gold_of(adjudicate_document("d1", [new, old], PSEUDO)).spans == [DATE]


def test_quorum_outside_half_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="quorum"):
        adjudicate_document("d1", [ann("a", NOM)], PSEUDO, quorum=0.4)


def test_use_case_summary_counts_rules_and_conflicts() -> None:
    annotations = [
        ann("a", NOM, doc_id="single"),
        ann("a", NOM, doc_id="agree"),
        ann("b", NOM, doc_id="agree"),
        ann("a", NOM, doc_id="clash"),
        ann("b", Span(10, 19, "NOM", "Dr Martin"), doc_id="clash"),
    ]
    out = adjudicate(annotations, PSEUDO)
    assert [g.doc_id for g in out.gold] == ["agree", "single"]
    assert [c.doc_id for c in out.conflicts] == ["clash"]
    assert out.summary() == {
        "documents": 3,
        "gold": 2,
        "conflicts": 1,
        "by_rule": {"review": 0, "single": 1, "consensus": 1},
        "conflict_rate": 0.3333,
    }
    data = out.conflicts[0].to_dict()
    assert data["annotators"] == ["annotator:a", "annotator:b"]
    assert len(data["versions"]) == 2 and data["disputes"][0]["start"] == 10


# --- document-level use cases -----------------------------------------------------------------


def labels_ann(who: str, *labels: str, doc_id: str = "d1") -> Annotated:
    record = Record(doc_id, "icd10_coding", f"annotator:{who}", labels=list(labels))
    return Annotated(record, f"annotator:{who}", annotation_id=next(_ids))


def test_labels_majority_puts_the_majority_principal_first() -> None:
    icd10 = get("icd10_coding")
    three = [
        labels_ann("a", "E119", "I10"),
        labels_ann("b", "E119", "I10"),
        labels_ann("c", "I10", "E119", "J45"),
    ]
    gold = gold_of(adjudicate_document("d1", three, icd10, quorum=2 / 3))
    assert gold.labels == ["E119", "I10"]  # J45 1/3 rejected; E119 principal for 2 of 3


def test_labels_tie_on_the_principal_is_a_conflict() -> None:
    icd10 = get("icd10_coding")
    result = adjudicate_document(
        "d1", [labels_ann("a", "E119", "I10"), labels_ann("b", "I10", "E119")], icd10
    )
    assert isinstance(result, Conflict)
    assert result.disputes[-1].reason == "no majority principal label"


def test_generated_sections_need_identical_texts() -> None:
    summary = get("clinical_summary")

    def sections(who: str, motif: str) -> Annotated:
        record = Record("d1", "clinical_summary", who, sections={"motif": motif})
        return Annotated(record, who, annotation_id=next(_ids))

    same = [sections("a", "Douleur thoracique."), sections("b", "Douleur thoracique.")]
    assert gold_of(adjudicate_document("d1", same, summary)).sections == {
        "motif": "Douleur thoracique."
    }
    differ = [sections("a", "Douleur thoracique."), sections("b", "Dyspnée.")]
    result = adjudicate_document("d1", differ, summary)
    assert isinstance(result, Conflict) and result.disputes[0].reason == "different texts"


def test_agreement_of_two_empty_annotations_is_undefined_not_perfect() -> None:
    assert document_agreement([ann("a"), ann("b")], "spans") is None
    assert document_agreement([ann("a", NOM), ann("b")], "spans") == 0.0
    assert document_agreement([ann("a", NOM)], "spans") is None


def test_white_space_around_spans_is_trimmed_before_the_vote() -> None:
    with_space = Span(12, 20, "NOM", " Martin ")
    gold = gold_of(adjudicate_document("d1", [ann("a", with_space), ann("b", NOM)], PSEUDO))
    assert gold.spans == [NOM]
    assert gold.provenance["rule"] == "consensus" and gold.provenance["agreement"] == 1.0


def test_labels_principal_that_the_majority_rejects_is_a_conflict() -> None:
    icd10 = get("icd10_coding")
    # Z is the commonest first label (2 of 5) but only 2/5 list it: rejected at quorum 0.5
    five = [
        labels_ann("a", "Z", "K"),
        labels_ann("b", "Z", "K"),
        labels_ann("c", "Y", "K"),
        labels_ann("d", "W", "K"),
        labels_ann("e", "V", "K"),
    ]
    result = adjudicate_document("d1", five, icd10)
    assert isinstance(result, Conflict)
    assert result.disputes[-1].reason == "principal label not accepted"


def test_agreement_groups_leave_out_whoever_adjudication_leaves_out_of_the_vote() -> None:
    from curation.quality.annotations import by_document, overlapped

    pulled = [
        ann("a", NOM, updated_at="2026-11-23T09:00:00Z"),
        ann("a", NOM, DATE, updated_at="2026-11-23T11:00:00Z"),
        ann("b", NOM),
        ann("truth", NOM, ground_truth=True),
        ann("chef", NOM, review=True),
        ann("dr.chef@chu.fr", NOM),
    ]
    [(_, group)] = overlapped(by_document(pulled), ["dr.chef@chu.fr"]).items()
    assert [a.annotator for a in group] == ["annotator:a", "annotator:b"]
    assert group[0].record.spans == [NOM, DATE]  # a's latest annotation


def test_labels_consensus_keeps_the_evidence_of_accepted_codes_and_marks_the_principal() -> None:
    text = "Diabète de type 2 et HTA."
    diabetes, hta, other = Span(0, 17, "E119", text[:17]), Span(21, 24, "I10", "HTA"), "J45"
    a = labels_ann("a", "E119", "I10")
    a.record.spans = [diabetes, hta]
    b = labels_ann("b", "E119", "I10")
    b.record.spans = [diabetes]
    c = labels_ann("c", "I10", "E119", other)
    c.record.spans = [Span(21, 24, other, "HTA"), hta]
    gold = gold_of(adjudicate_document("d1", [a, b, c], get("icd10_coding")))
    assert gold.labels == ["E119", "I10"]
    assert [(s.start, s.end, s.label) for s in gold.spans] == [(0, 17, "E119"), (21, 24, "I10")]
    assert gold.attributes == [{"span": 0, "role": "DP"}, {"span": 1, "role": "DAS"}]


def test_one_coder_whose_evidence_of_two_codes_overlaps_is_gold_not_a_conflict() -> None:
    coder = labels_ann("a", "J441", "J449")
    coder.record.spans = [
        Span(0, 20, "J441", "exacerbation de BPCO"),
        Span(16, 20, "J449", "BPCO"),
    ]
    gold = gold_of(adjudicate_document("d1", [coder], get("icd10_coding")))
    assert gold.provenance["rule"] == "single" and len(gold.spans) == 2


def test_consensus_principal_without_evidence_is_named_in_a_document_attribute() -> None:
    a, b = labels_ann("a", "J189", "I10"), labels_ann("b", "J189", "I10")
    for coder in (a, b):
        coder.record.spans = [Span(0, 3, "I10", "HTA")]
    gold = gold_of(adjudicate_document("d1", [a, b], get("icd10_coding")))
    assert gold.attributes == [{"span": 0, "role": "DAS"}, {"dp": "J189"}]
