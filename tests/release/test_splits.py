"""Benchmark splits: no patient in two splits, stable across versions, shares and strata kept.

Units are synthetic (patients ``pat-N`` with one to five documents, labels drawn from a
small pseudonymisation label set); no text is involved.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.release.splits import SplitUnit, assign_splits, split_changes

LABELS = ("NOM", "PRENOM", "DATE", "VILLE", "SECU")
THREE = {"train": 0.8, "dev": 0.1, "test": 0.1}


@st.composite
def corpora(draw: st.DrawFn) -> list[SplitUnit]:
    """Patients with 1-5 documents, some without ``patient_id``, random strata."""
    units: list[SplitUnit] = []
    for patient in range(draw(st.integers(0, 25))):
        anonymous = draw(st.integers(0, 5)) == 0
        for _ in range(draw(st.integers(1, 5))):
            strata = draw(st.lists(st.sampled_from(LABELS), max_size=3, unique=True))
            pid = None if anonymous else f"pat-{patient}"
            units.append(SplitUnit(f"doc-{len(units):03d}", pid, tuple(strata)))
    return units


@st.composite
def split_ratios(draw: st.DrawFn) -> dict[str, float]:
    names = draw(st.sampled_from([("train", "test"), ("train", "dev", "test")]))
    weights = [draw(st.floats(0.05, 1.0)) for _ in names]
    return {name: w / sum(weights) for name, w in zip(names, weights, strict=True)}


def assert_no_leak(units: Sequence[SplitUnit], splits: Mapping[str, str]) -> None:
    by_patient: dict[str, set[str]] = defaultdict(set)
    for unit in units:
        if unit.patient_id is not None:
            by_patient[unit.patient_id].add(splits[unit.doc_id])
    leaks = {p: s for p, s in by_patient.items() if len(s) > 1}
    assert not leaks


def corpus(n_docs: int, seed: int, rare_patients: int = 0) -> list[SplitUnit]:
    """About ``n_docs`` documents of patients with 1-5 documents; the first
    ``rare_patients`` patients have a ``SECU`` span in their first document."""
    rng = random.Random(seed)
    units: list[SplitUnit] = []
    patient = 0
    while len(units) < n_docs:
        for i in range(rng.randint(1, 5)):
            strata = set(rng.sample(LABELS[:4], rng.randint(0, 3)))
            if patient < rare_patients and i == 0:
                strata.add("SECU")
            units.append(SplitUnit(f"doc-{len(units):04d}", f"pat-{patient}", tuple(strata)))
        patient += 1
    return units


def shares(splits: Mapping[str, str]) -> dict[str, float]:
    counts = Counter(splits.values())
    return {name: n / len(splits) for name, n in counts.items()}


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(units=corpora(), ratios=split_ratios(), seed=st.integers(0, 2**31))
def test_every_unit_assigned_and_no_patient_in_two_splits(
    units: list[SplitUnit], ratios: dict[str, float], seed: int
) -> None:
    splits = assign_splits(units, ratios, seed=seed)
    assert set(splits) == {u.doc_id for u in units}
    assert set(splits.values()) <= set(ratios)
    assert_no_leak(units, splits)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(units=corpora(), ratios=split_ratios(), seed=st.integers(0, 2**31), rnd=st.randoms())
def test_deterministic_and_independent_of_input_order(
    units: list[SplitUnit], ratios: dict[str, float], seed: int, rnd: random.Random
) -> None:
    shuffled = list(units)
    rnd.shuffle(shuffled)
    first = assign_splits(units, ratios, seed=seed)
    assert assign_splits(units, ratios, seed=seed) == first
    assert assign_splits(shuffled, ratios, seed=seed) == first


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    units=corpora(),
    ratios=split_ratios(),
    seed=st.integers(0, 2**31),
    kept=st.lists(st.booleans(), min_size=125, max_size=125),
)
def test_previous_documents_keep_their_split(
    units: list[SplitUnit], ratios: dict[str, float], seed: int, kept: list[bool]
) -> None:
    subset = [u for u, keep in zip(units, kept, strict=False) if keep]
    previous = assign_splits(subset, ratios, seed=seed)
    previous["doc-gone"] = "test"  # a document of the previous version, now withdrawn
    current = assign_splits(units, ratios, seed=seed + 1, previous=previous)
    assert set(current) == {u.doc_id for u in units}
    assert all(current[d] == split for d, split in previous.items() if d != "doc-gone")
    assert_no_leak(units, current)


# --- examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ratios",
    [THREE, {"train": 0.7, "dev": 0.15, "test": 0.15}, {"train": 0.3, "dev": 0.3, "test": 0.4}],
)
def test_shares_close_to_ratios_on_1000_documents(ratios: dict[str, float]) -> None:
    splits = assign_splits(corpus(1000, seed=3), ratios, seed=0)
    for name, share in shares(splits).items():
        assert abs(share - ratios[name]) < 0.02, (name, share)


def test_rare_label_in_every_split() -> None:
    units = corpus(1000, seed=5, rare_patients=30)
    splits = assign_splits(units, THREE, seed=1)
    holding = Counter(splits[u.doc_id] for u in units if "SECU" in u.strata)
    assert set(holding) == set(THREE)
    assert holding["test"] >= 2 and holding["dev"] >= 2


def test_new_documents_fill_the_short_splits() -> None:
    units = corpus(1000, seed=11)
    old = {u.doc_id: "train" for u in units[:300]}  # a skewed first version
    splits = assign_splits(units, THREE, seed=0, previous=old)
    assert all(splits[d] == "train" for d in old)
    for name, share in shares(splits).items():
        assert abs(share - THREE[name]) < 0.02, (name, share)


def test_placed_patient_keeps_its_split_for_new_documents() -> None:
    units = [SplitUnit("crh-1", "pat-1", ("NOM",)), SplitUnit("crh-2", "pat-1", ("DATE",))]
    units += [SplitUnit(f"crh-{i}", f"pat-{i}", ()) for i in range(3, 30)]
    splits = assign_splits(units, THREE, previous={"crh-1": "test"})
    assert splits["crh-1"] == splits["crh-2"] == "test"


def test_single_new_group_goes_to_the_shortest_split() -> None:
    units = [SplitUnit(f"crh-{i}", f"pat-{i}", ()) for i in range(10)]
    previous = {f"crh-{i}": "train" for i in range(9)}
    assert assign_splits(units, {"train": 0.9, "test": 0.1}, previous=previous)["crh-9"] == "test"


def test_no_units_no_splits() -> None:
    assert assign_splits([], THREE) == {}


@pytest.mark.parametrize(
    "ratios",
    [{"train": 0.9, "test": 0.2}, {"train": 1.0, "test": 0.0}, {"train": -0.5, "test": 1.5}, {}],
)
def test_bad_ratios_are_named(ratios: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="ratios"):
        assign_splits([SplitUnit("crh-1", "pat-1")], ratios)


def test_duplicate_doc_id_is_named() -> None:
    units = [SplitUnit("crh-7", "pat-1"), SplitUnit("crh-7", "pat-2")]
    with pytest.raises(ValueError, match="crh-7"):
        assign_splits(units, THREE)


def test_leak_in_previous_is_an_error() -> None:
    units = [SplitUnit("crh-1", "pat-1"), SplitUnit("crh-2", "pat-1")]
    with pytest.raises(ValueError, match=r"leak.*crh-1.*crh-2"):
        assign_splits(units, THREE, previous={"crh-1": "train", "crh-2": "test"})


def test_previous_split_missing_from_ratios_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"crh-1.*'valid'"):
        assign_splits([SplitUnit("crh-1", None)], THREE, previous={"crh-1": "valid"})


def test_split_changes_on_a_hand_example() -> None:
    previous = {"a": "train", "b": "train", "c": "test", "d": "dev", "e": "test"}
    current = {"a": "train", "b": "dev", "d": "dev", "e": "test", "f": "train"}
    assert split_changes(previous, current) == {
        "added": {"train": ["f"]},
        "removed": {"test": ["c"]},
        "moved": {"train": {"b": "dev"}},
        "test_touched": True,
    }
    assert not split_changes(previous, {**previous, "f": "train"})["test_touched"]
    assert split_changes({"a": "train"}, {"a": "test"})["test_touched"]
    assert split_changes(previous, previous) == {
        "added": {},
        "removed": {},
        "moved": {},
        "test_touched": False,
    }


def test_small_data_leaves_no_split_empty() -> None:
    # 28 coded letters of 8 patients (the pipeline test's CIM-10 gold, codes DP first): the
    # greedy hand-out alone gave no fold to the 10 % dev split
    coded = {
        "0": [("S7200", "G473"), ("S7200", "G473"), ("A419", "G473"), ("A419", "G473")],
        "1": [("I10", "F172", "I259", "C184")],
        "2": [("I489", "G473"), ("I489",), ("J180", "G473"), ("J181",)],
        "3": [("I269",), ("I269",), ("J441",), ("J441",), ("K509",), ("K509",)],
        "4": [("J441",), ("J441",)],
        "5": [("J181", "E1198"), ("J181", "E1190"), ("J441", "E1198"), ("J441", "E1198")],
        "6": [("I5002", "E1198", "G473"), ("I5002", "G473", "E1198", "J449")],
        "7": [("K358", "G473", "E1198", "J449"), ("K358",), ("K358", "E785"), ("K358",)],
    }
    coded["0"].append(("N10", "G473"))
    units = [
        SplitUnit(f"crh-{p}-{i}", f"pat-{p}", codes)
        for p, held in coded.items()
        for i, codes in enumerate(held)
    ]
    assert len(units) == 28
    splits = assign_splits(units, THREE, seed=0)
    assert set(splits.values()) == set(THREE)
    by_patient: dict[str, set[str]] = defaultdict(set)
    for unit in units:
        by_patient[str(unit.patient_id)].add(splits[unit.doc_id])
    assert all(len(held) == 1 for held in by_patient.values())
