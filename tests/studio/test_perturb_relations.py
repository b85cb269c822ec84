"""Simulated annotators' errors on span attributes and relations (oncology extraction).

The gold comes from the synthetic generator's answer key (pathology reports and RCP forms with
biomarkers, results and their status); no server is started.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from curation.schema import Record
from curation.settings import AnnotatorProfile, GenerateSettings, SimulateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.studio.converters import record_to_task
from curation.studio.perturbation import annotator_rng, perturb
from curation.studio.simulate import annotation_result
from curation.usecases import get

ONCO = get("oncology_extraction")
PSEUDO = get("pseudonymisation")
FLAGS = ("negated", "hypothetical", "family")


def profile(**rates: float) -> AnnotatorProfile:
    return AnnotatorProfile(name="simule", email="sim.simule@curation.local", **rates)


@pytest.fixture(scope="module")
def corpus() -> list[tuple[dict[str, Any], dict[str, Record]]]:
    settings = GenerateSettings(n_documents=30, seed=5, oncology_share=1.0)
    return [(item.document.to_row(), item.records) for item in generate_documents(settings)]


@pytest.fixture(scope="module")
def onco(corpus: list[tuple[dict[str, Any], dict[str, Record]]]) -> list[tuple[str, Record]]:
    """Texts and oncology gold records that hold relations."""
    found = [
        (row["text"], records[ONCO.id])
        for row, records in corpus
        if ONCO.id in records and records[ONCO.id].relations
    ]
    assert len(found) >= 5
    return found


def edit(gold: Record, text: str, who: AnnotatorProfile, seed: int = 0) -> Record:
    rng = annotator_rng(seed, who.email, gold.doc_id)
    return perturb(gold, text, who, ONCO.labels, rng, attributes=ONCO.span_attributes)


def status_of(record: Record) -> list[Any]:
    return [a.get("status") for a in record.attributes]


def test_rates_at_zero_leave_the_gold_as_it_is(onco: list[tuple[str, Record]]) -> None:
    for text, gold in onco:
        same = edit(gold, text, profile())
        assert same.spans == gold.spans
        assert same.relations == gold.relations
        assert same.attributes == gold.attributes


def test_every_flag_flips_at_rate_one(onco: list[tuple[str, Record]]) -> None:
    for text, gold in onco:
        flipped = edit(gold, text, profile(flag_error_rate=1.0))
        assert flipped.spans == gold.spans and flipped.relations == gold.relations
        for before, after in zip(gold.attributes, flipped.attributes, strict=True):
            assert {f: after[f] for f in FLAGS} == {f: not before[f] for f in FLAGS}
            assert after.get("status") == before.get("status")


def test_every_status_changes_at_rate_one_to_another_declared_value(
    onco: list[tuple[str, Record]],
) -> None:
    statuses = {"positive", "negative", "equivocal", "not_assessed"}
    seen = 0
    for text, gold in onco:
        changed = edit(gold, text, profile(status_error_rate=1.0))
        for before, after in zip(status_of(gold), status_of(changed), strict=True):
            if before is None:
                assert after is None  # no status where the gold has none
                continue
            seen += 1
            assert after != before and after in statuses
        for before, after in zip(gold.attributes, changed.attributes, strict=True):
            assert {f: after[f] for f in FLAGS} == {f: before[f] for f in FLAGS}
    assert seen


def test_a_status_is_left_alone_when_the_values_are_not_declared(
    onco: list[tuple[str, Record]],
) -> None:
    text, gold = onco[0]
    rng = annotator_rng(0, "x@y.fr", gold.doc_id)
    kept = perturb(gold, text, profile(status_error_rate=1.0), ONCO.labels, rng)
    assert status_of(kept) == status_of(gold)


def test_every_relation_is_left_out_at_rate_one(onco: list[tuple[str, Record]]) -> None:
    for text, gold in onco:
        bare = edit(gold, text, profile(relation_miss_rate=1.0))
        assert bare.relations == []
        assert bare.spans == gold.spans and bare.attributes == gold.attributes


def test_a_mid_rate_drops_about_that_share_of_relations(onco: list[tuple[str, Record]]) -> None:
    total = kept = 0
    for seed in range(4):
        for text, gold in onco:
            total += len(gold.relations)
            kept += len(edit(gold, text, profile(relation_miss_rate=0.5), seed).relations)
    assert 0.35 < kept / total < 0.65


def test_same_seed_same_errors_and_other_seeds_differ(onco: list[tuple[str, Record]]) -> None:
    sloppy = profile(flag_error_rate=0.3, status_error_rate=0.3, relation_miss_rate=0.3)

    def draw(seed: int) -> list[Any]:
        return [(r.relations, r.attributes) for r in (edit(g, t, sloppy, seed) for t, g in onco)]

    assert draw(1) == draw(1)
    assert any(draw(1) != draw(seed) for seed in range(2, 6))


def test_one_rate_does_not_reshuffle_the_others(onco: list[tuple[str, Record]]) -> None:
    for text, gold in onco:
        alone = edit(gold, text, profile(flag_error_rate=0.4, status_error_rate=0.4))
        with_misses = edit(
            gold,
            text,
            profile(flag_error_rate=0.4, status_error_rate=0.4, relation_miss_rate=0.6),
        )
        assert alone.attributes == with_misses.attributes


def test_records_without_attributes_draw_nothing_more(
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
) -> None:
    """Pseudonymisation gold: the new rates change nothing, not even the random stream."""
    for row, records in corpus[:10]:
        gold = records[PSEUDO.id]
        streams = []
        for rate in (0.0, 1.0):
            rng = annotator_rng(3, "x@y.fr", gold.doc_id)
            who = profile(
                miss_rate=0.2,
                flag_error_rate=rate,
                status_error_rate=rate,
                relation_miss_rate=rate,
            )
            spans = perturb(gold, row["text"], who, PSEUDO.labels, rng).spans
            streams.append((spans, rng.random()))
        assert streams[0] == streams[1]


def test_errors_stay_within_the_annotation_config(
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
) -> None:
    sloppy = profile(flag_error_rate=0.5, status_error_rate=0.5, relation_miss_rate=0.5)
    for row, records in corpus:
        gold = records.get(ONCO.id)
        if gold is None or not gold.relations:
            continue
        noisy = edit(gold, row["text"], sloppy)
        task = record_to_task(ONCO, row, gold, model_version="regles-v0")
        task["predictions"][0]["id"] = 1
        result = annotation_result(ONCO, task, noisy, task["predictions"][0], random.Random(0))
        assert result  # fits the config and the task, or annotation_result raises


def test_default_annotators_make_some_attribute_and_relation_errors() -> None:
    rates = {
        a.name: (a.flag_error_rate, a.status_error_rate, a.relation_miss_rate)
        for a in SimulateSettings().annotators
    }
    assert rates == {
        "expert-a": (0.02, 0.02, 0.02),
        "expert-b": (0.05, 0.05, 0.05),
        "interne-c": (0.1, 0.1, 0.1),
    }
    reviewer = SimulateSettings().reviewer
    assert (reviewer.flag_error_rate, reviewer.relation_miss_rate) == (0.0, 0.0)
    with pytest.raises(ValueError, match="relation_miss_rate"):
        profile(relation_miss_rate=1.5)
