"""Adjudication of span use cases with relations and span attributes (oncology extraction).

Annotations of one synthetic pathology sentence::

    EGFR : mutation présente. KRAS : absence de mutation. Pas de radiothérapie.

Relations and attributes refer to spans by index; each annotator lists spans in their own
order, and gold must index them by the consensus spans.
"""

from __future__ import annotations

from typing import Any

from curation.quality.adjudication import Conflict, adjudicate_document
from curation.quality.annotations import Annotated
from curation.schema import Record, Span
from curation.usecases import get

ONCO = get("oncology_extraction")
TEXT = "EGFR : mutation présente. KRAS : absence de mutation. Pas de radiothérapie."


def span(fragment: str, label: str) -> Span:
    start = TEXT.index(fragment)
    return Span(start, start + len(fragment), label, fragment)


EGFR = span("EGFR", "BIOMARKER")
EGFR_RESULT = span("mutation présente", "BIOMARKER_RESULT")
KRAS = span("KRAS", "BIOMARKER")
KRAS_RESULT = span("absence de mutation", "BIOMARKER_RESULT")
RADIO = span("radiothérapie", "TREATMENT")
#: The consensus order (start, end, label).
ORDER = [EGFR, EGFR_RESULT, KRAS, KRAS_RESULT, RADIO]

_ids = iter(range(1, 10_000))


def ann(
    who: str,
    spans: list[Span],
    links: list[tuple[Span, Span]] = (),  # type: ignore[assignment]
    marks: dict[str, dict[str, Any]] | None = None,
    *,
    review: bool = False,
) -> Annotated:
    """An annotation listing ``spans`` in the given order, relations and attributes by index;
    ``marks`` gives the attributes of the spans by their text."""
    position = {s.text: i for i, s in enumerate(spans)}

    def at(s: Span) -> int:
        return position[s.text]

    record = Record(
        "d1",
        ONCO.id,
        f"annotator:{who}",
        spans=list(spans),
        relations=[{"from": at(a), "to": at(b), "type": "has_result"} for a, b in links],
        attributes=[
            {"span": position[text], **values}
            for text, values in (marks or {}).items()
            if text in position
        ],
    )
    return Annotated(record, f"annotator:{who}", annotation_id=next(_ids), review=review)


def gold_of(result: Record | Conflict) -> Record:
    assert isinstance(result, Record), f"expected gold, got {result}"
    return result


def conflict_of(result: Record | Conflict) -> Conflict:
    assert isinstance(result, Conflict), f"expected a conflict, got {result}"
    return result


def linked(record: Record) -> set[tuple[str, str, str]]:
    """Relations as (type, from text, to text): independent of span order."""
    return {
        (r["type"], record.spans[r["from"]].text, record.spans[r["to"]].text)
        for r in record.relations
    }


def marked(record: Record) -> dict[str, dict[str, Any]]:
    """Attributes by span text (without the index)."""
    return {
        record.spans[a["span"]].text: {k: v for k, v in a.items() if k != "span"}
        for a in record.attributes
    }


LINKS = [(EGFR, EGFR_RESULT), (KRAS, KRAS_RESULT)]
FLAGS = {"negated": False, "hypothetical": False, "family": False}
MARKS: dict[str, dict[str, Any]] = {
    EGFR.text: FLAGS,
    EGFR_RESULT.text: FLAGS | {"status": "positive"},
    KRAS.text: FLAGS,
    KRAS_RESULT.text: FLAGS | {"status": "negative"},
    RADIO.text: FLAGS | {"negated": True},
}


def test_agreeing_annotators_in_different_orders_give_gold_indexed_by_consensus_spans() -> None:
    a = ann("a", ORDER, LINKS, MARKS)
    b = ann("b", ORDER[::-1], LINKS, MARKS)  # same result, spans listed backwards
    gold = gold_of(adjudicate_document("d1", [a, b], ONCO))
    assert gold.spans == ORDER
    assert gold.relations == [
        {"from": 0, "to": 1, "type": "has_result"},
        {"from": 2, "to": 3, "type": "has_result"},
    ]
    assert [entry["span"] for entry in gold.attributes] == [0, 1, 2, 3, 4]
    assert gold.attributes[1] == {"span": 1, **FLAGS, "status": "positive"}
    assert gold.attributes[4]["negated"] is True
    assert gold.provenance["rule"] == "consensus"


def test_a_relation_is_voted_like_a_span() -> None:
    one_link = ann("a", ORDER, LINKS[:1], MARKS)
    both = ann("b", ORDER, LINKS, MARKS)
    # quorum 1/2: the KRAS relation of one of two annotators is kept
    gold = gold_of(adjudicate_document("d1", [one_link, both], ONCO))
    assert len(gold.relations) == 2
    # quorum 2/3: one of two is unsettled, a dispute named by its endpoints' offsets
    result = conflict_of(adjudicate_document("d1", [one_link, both], ONCO, quorum=2 / 3))
    [dispute] = result.disputes
    assert dispute.reason == "relation"
    assert (dispute.start, dispute.end) == (KRAS.start, KRAS_RESULT.end)
    assert dispute.votes == {
        f"has_result[{KRAS.start}:{KRAS.end}->{KRAS_RESULT.start}:{KRAS_RESULT.end}]": 1
    }
    # quorum 2/3 with three annotators: 2 of 3 accepted, 1 of 3 rejected
    wrong = [(EGFR, EGFR_RESULT), (KRAS, EGFR_RESULT)]
    three = [both, ann("c", ORDER, LINKS, MARKS), ann("d", ORDER, wrong, MARKS)]
    gold = gold_of(adjudicate_document("d1", three, ONCO, quorum=2 / 3))
    assert linked(gold) == {
        ("has_result", "EGFR", "mutation présente"),
        ("has_result", "KRAS", "absence de mutation"),
    }


def test_direction_counts_in_the_vote() -> None:
    backwards = [(EGFR_RESULT, EGFR), (KRAS, KRAS_RESULT)]
    result = adjudicate_document(
        "d1", [ann("a", ORDER, LINKS, MARKS), ann("b", ORDER, backwards, MARKS)], ONCO, 2 / 3
    )
    reasons = [d.reason for d in conflict_of(result).disputes]
    assert reasons == ["relation", "relation"]  # the EGFR link one way and the other


def test_a_relation_goes_with_its_endpoints() -> None:
    # RADIO and a relation to it, by one of three: both rejected at quorum 2/3, no dispute
    extra = ann("c", ORDER, [*LINKS, (KRAS, RADIO)], MARKS)
    pair = [ann(who, ORDER[:4], LINKS, MARKS) for who in "ab"]
    gold = gold_of(adjudicate_document("d1", [*pair, extra], ONCO, quorum=2 / 3))
    assert gold.spans == ORDER[:4] and len(gold.relations) == 2
    # an endpoint in dispute (two overlapping spans) leaves its relation unsettled too
    mutation = span("mutation", "BIOMARKER")
    clash = ann("b", [*ORDER, mutation], LINKS, MARKS)
    result = conflict_of(adjudicate_document("d1", [ann("a", ORDER, LINKS, MARKS), clash], ONCO))
    # disputes in text order: the relation starts at EGFR, before the clash
    assert [d.reason for d in result.disputes] == ["relation", "overlapping versions"]
    assert result.disputes[0].votes == {
        f"has_result[{EGFR.start}:{EGFR.end}->{EGFR_RESULT.start}:{EGFR_RESULT.end}]": 2
    }


def test_attributes_take_the_majority_of_the_annotators_who_marked_the_span() -> None:
    def status(value: str) -> dict[str, dict[str, Any]]:
        return MARKS | {EGFR_RESULT.text: FLAGS | {"status": value}}

    three = [
        ann("a", ORDER, LINKS, status("positive")),
        ann("b", ORDER, LINKS, status("positive")),
        ann("c", ORDER, LINKS, status("equivocal")),
    ]
    gold = gold_of(adjudicate_document("d1", three, ONCO))
    assert marked(gold)["mutation présente"]["status"] == "positive"
    # RADIO marked (and negated) by one annotator only: the only vote on its attributes
    lone = ann("a", ORDER, LINKS, MARKS)
    without = ann("b", ORDER[:4], LINKS, MARKS)  # no RADIO span, so no attribute of it
    gold = gold_of(adjudicate_document("d1", [lone, without], ONCO))
    assert marked(gold)["radiothérapie"]["negated"] is True


def test_a_tie_on_an_attribute_is_a_dispute_at_its_span() -> None:
    flipped = MARKS | {EGFR.text: FLAGS | {"family": True}}
    result = adjudicate_document(
        "d1", [ann("a", ORDER, LINKS, MARKS), ann("b", ORDER, LINKS, flipped)], ONCO
    )
    [dispute] = conflict_of(result).disputes
    assert dispute.reason == "attribute family"
    assert (dispute.start, dispute.end) == (EGFR.start, EGFR.end)
    assert dispute.votes == {"False": 1, "True": 1}


def test_an_absent_value_votes_against_it() -> None:
    no_status = MARKS | {EGFR_RESULT.text: FLAGS}
    three = [
        ann("a", ORDER, LINKS, MARKS),
        ann("b", ORDER, LINKS, no_status),
        ann("c", ORDER, LINKS, no_status),
    ]
    gold = gold_of(adjudicate_document("d1", three, ONCO))
    assert "status" not in marked(gold)["mutation présente"]
    tie = adjudicate_document("d1", three[:2], ONCO)
    assert conflict_of(tie).disputes[0].votes == {"positive": 1, "None": 1}


def test_an_index_that_is_not_a_span_takes_no_part_in_the_vote() -> None:
    broken = ann("b", ORDER, LINKS, MARKS)
    broken.record.relations.append({"from": 0, "to": 9, "type": "has_result"})
    broken.record.attributes.append({"span": 12, "negated": True})
    gold = gold_of(adjudicate_document("d1", [ann("a", ORDER, LINKS, MARKS), broken], ONCO))
    assert len(gold.relations) == 2 and len(gold.attributes) == 5


def test_trimming_a_span_to_nothing_keeps_relations_and_attributes_on_their_spans() -> None:
    blank = Span(EGFR.end, EGFR.end + 1, "TREATMENT", " ")  # a stray click on a space
    spans = [EGFR, blank, EGFR_RESULT, KRAS, KRAS_RESULT]
    record = Record(
        "d1",
        ONCO.id,
        "annotator:a",
        spans=spans,
        relations=[
            {"from": 0, "to": 2, "type": "has_result"},
            {"from": 3, "to": 4, "type": "has_result"},
            {"from": 1, "to": 2, "type": "has_result"},  # from the blank: dropped with it
        ],
        attributes=[
            {"span": 0, **FLAGS},
            {"span": 1, **FLAGS},
            {"span": 2, **FLAGS, "status": "positive"},
            {"span": 4, **FLAGS, "status": "negative"},
        ],
    )
    for single in (
        Annotated(record, "annotator:a", annotation_id=next(_ids)),
        Annotated(record, "annotator:chef", annotation_id=next(_ids), review=True),
    ):
        gold = gold_of(adjudicate_document("d1", [single], ONCO))
        assert gold.spans == ORDER[:4]
        assert gold.relations == [
            {"from": 0, "to": 1, "type": "has_result"},
            {"from": 2, "to": 3, "type": "has_result"},
        ]
        assert [a["span"] for a in gold.attributes] == [0, 1, 3]
        assert marked(gold)["absence de mutation"]["status"] == "negative"


def test_trimming_white_space_only_keeps_the_indexes() -> None:
    padded = Span(
        EGFR_RESULT.start - 1, EGFR_RESULT.end, "BIOMARKER_RESULT", " " + EGFR_RESULT.text
    )
    record = Record(
        "d1",
        ONCO.id,
        "annotator:a",
        spans=[EGFR, padded],
        relations=[{"from": 0, "to": 1, "type": "has_result"}],
        attributes=[{"span": 1, "status": "positive"}],
    )
    gold = gold_of(adjudicate_document("d1", [Annotated(record, "annotator:a")], ONCO))
    assert gold.spans == [EGFR, EGFR_RESULT]
    assert gold.relations == record.relations and gold.attributes == record.attributes


def test_a_version_breaking_the_declared_structure_goes_to_review() -> None:
    # the result relabelled as a treatment, still linked and still holding its status
    relabelled = span("mutation présente", "TREATMENT")
    spans = [EGFR, relabelled, KRAS, KRAS_RESULT, RADIO]
    marks = MARKS | {relabelled.text: FLAGS | {"status": "positive"}}
    lone = ann("a", spans, [(EGFR, relabelled), (KRAS, KRAS_RESULT)], marks)
    conflict = conflict_of(adjudicate_document("d1", [lone], ONCO))
    reasons = {d.reason for d in conflict.disputes}
    assert reasons == {"relation ends", "attribute status on label"}
    place = {(d.start, d.end) for d in conflict.disputes if d.reason != "relation ends"}
    assert place == {(relabelled.start, relabelled.end)}
    # the same annotator without the leftovers: gold as it is
    clean = ann("a", spans, [(KRAS, KRAS_RESULT)], MARKS | {relabelled.text: FLAGS})
    assert gold_of(adjudicate_document("d1", [clean], ONCO)).provenance["rule"] == "single"
    # a reviewer's version wins: review is where structure is settled
    fixed = ann("r", ORDER, LINKS, MARKS, review=True)
    assert gold_of(adjudicate_document("d1", [lone, fixed], ONCO)).provenance["rule"] == "review"
