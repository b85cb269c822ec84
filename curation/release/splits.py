"""Benchmark splits: grouped by patient, stratified on gold labels, stable across versions.

Rules
-----
* A patient's documents all sit in one split (no patient in two splits, ever); a document
  without ``patient_id`` is its own group.
* A document assigned by the previous version keeps its split, and a patient placed by it
  keeps its split for its new documents. A previous document that is no longer in the
  units is simply gone.
* New groups are placed so that the document shares of the splits approach the ratios and
  the labels are stratified; the result depends on the units, ratios and seed only, never
  on the order of the units.

Method
------
Stratification key. Each document is stratified on its *rarest* stratum (the one found in
the fewest documents of the corpus; ties by name), or on ``""`` when its gold has no label.
One key per document is what :class:`~sklearn.model_selection.StratifiedGroupKFold` takes,
and the rarest one matters most: a common label spreads over the splits by chance, a label
with a handful of patients does not. ``StratifiedGroupKFold`` sums the keys per patient, so
a patient counts once per document.

Folds to splits. New groups are cut into ``K`` folds by ``StratifiedGroupKFold`` (shuffled
with ``seed``). ``K`` is the fewest folds, counting up from ``round(1 / smallest share)``,
whose equal folds match every share within one point (:data:`FOLD_TOLERANCE`), else the
closest; never more than :data:`MAX_FOLDS`, the new groups, or the documents of the largest
stratum. So 0.8/0.1/0.1 gives 10 folds, 0.7/0.15/0.15 gives 13 and 0.3/0.3/0.4 gives 10.
Few folds keep folds large: a rare label with at least ``K`` patients reaches every fold,
hence every split. The folds are then handed out, largest first, each to the split furthest
below its target (``ratio x total documents``; ties by split name).

Rebalancing. With a previous version, the targets are taken over *all* current documents
and the documents already placed count towards them, so the new groups fill the splits
that are short (a split already over its target gets nothing); the shares used to choose
``K`` are the shortfalls, normalised. The first version is the case with nothing placed.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

#: Stratum key of a document whose gold has no label.
NO_LABEL = ""
#: Most folds new groups are cut into.
MAX_FOLDS = 50
#: Largest gap between a share and its whole number of equal folds that the fold count allows.
FOLD_TOLERANCE = 0.01
#: Tolerance on the sum of the ratios.
RATIO_TOLERANCE = 1e-6

#: A group: ``("patient", patient_id)`` or ``("document", doc_id)``.
GroupKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class SplitUnit:
    """One document to place in a split.

    Parameters
    ----------
    doc_id
        The document.
    patient_id
        Its patient; ``None``: the document is its own group.
    strata
        Labels present in the document's gold (span labels or document labels).

    Examples
    --------
    >>> SplitUnit("crh-0001", "pat-17", ("NOM", "DATE", "HOPITAL")).patient_id
    'pat-17'
    """

    doc_id: str
    patient_id: str | None
    strata: tuple[str, ...] = ()

    @property
    def group(self) -> GroupKey:
        """The group the document moves with: its patient, or itself."""
        if self.patient_id is None:
            return ("document", self.doc_id)
        return ("patient", self.patient_id)


def assign_splits(
    units: Sequence[SplitUnit],
    ratios: Mapping[str, float],
    seed: int = 0,
    previous: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The split of every document, grouped by patient, stratified, stable across versions.

    Parameters
    ----------
    units
        The documents of the new version.
    ratios
        Target share of documents per split name, positive and summing to 1.
    seed
        Seed of the fold shuffle.
    previous
        ``doc_id -> split`` of the previous version; those documents keep their split.

    Returns
    -------
    dict[str, str]
        ``doc_id -> split`` for every unit, sorted by ``doc_id``.

    Raises
    ------
    ValueError
        Bad ratios, a duplicate ``doc_id``, a previous split not in ``ratios``, or a patient
        whose documents already sit in two splits of ``previous``.

    Examples
    --------
    >>> units = [SplitUnit(f"crh-{i}", f"pat-{i // 2}", ("DATE",)) for i in range(20)]
    >>> splits = assign_splits(units, {"train": 0.8, "test": 0.2})
    >>> sorted(Counter(splits.values()).items())
    [('test', 4), ('train', 16)]
    >>> splits["crh-0"] == splits["crh-1"]
    True
    """
    shares = _check_ratios(ratios)
    ordered = _check_units(units)
    groups: dict[GroupKey, list[SplitUnit]] = defaultdict(list)
    for unit in ordered:
        groups[unit.group].append(unit)
    placed = _placed_groups(groups, previous or {}, shares)
    out = {
        u.doc_id: placed[key] for key, members in groups.items() if key in placed for u in members
    }
    new = {key: members for key, members in groups.items() if key not in placed}
    if new:
        targets = {name: share * len(ordered) for name, share in shares.items()}
        folds = _folds(new, _rarest_strata(ordered), targets, Counter(out.values()), seed)
        out.update(_hand_out(folds, targets, Counter(out.values())))
    return dict(sorted(out.items()))


def split_changes(
    previous: Mapping[str, str], current: Mapping[str, str], test_split: str = "test"
) -> dict[str, Any]:
    """What changed between two split assignments, to choose the version bump.

    Parameters
    ----------
    previous, current
        ``doc_id -> split`` of two versions.
    test_split
        Name of the test split: any change to it is a major version.

    Returns
    -------
    dict
        ``added`` (split -> new doc_ids), ``removed`` (previous split -> doc_ids gone),
        ``moved`` (previous split -> {doc_id: new split}), only splits with changes, ids
        sorted; and ``test_touched``: a test document was added, removed or moved.

    Examples
    --------
    >>> split_changes({"a": "train", "b": "test"}, {"a": "train", "c": "train"})
    {'added': {'train': ['c']}, 'removed': {'test': ['b']}, 'moved': {}, 'test_touched': True}
    """
    added: dict[str, list[str]] = defaultdict(list)
    removed: dict[str, list[str]] = defaultdict(list)
    moved: dict[str, dict[str, str]] = defaultdict(dict)
    for doc_id in sorted(set(previous) | set(current)):
        before, after = previous.get(doc_id), current.get(doc_id)
        if before is None and after is not None:
            added[after].append(doc_id)
        elif after is None and before is not None:
            removed[before].append(doc_id)
        elif before != after and before is not None and after is not None:
            moved[before][doc_id] = after
    touched = bool(added.get(test_split) or removed.get(test_split) or moved.get(test_split))
    touched = touched or any(test_split in m.values() for m in moved.values())
    return {
        "added": dict(sorted(added.items())),
        "removed": dict(sorted(removed.items())),
        "moved": dict(sorted(moved.items())),
        "test_touched": touched,
    }


# --- checks ----------------------------------------------------------------------------------


def _check_ratios(ratios: Mapping[str, float]) -> dict[str, float]:
    """The ratios, sorted by split name, once checked positive, finite and summing to 1."""
    values = list(ratios.values())
    finite = all(isinstance(v, int | float) and math.isfinite(v) for v in values)
    if not values or not finite or any(v <= 0 for v in values):
        raise ValueError(f"split ratios must all be positive numbers, got {dict(ratios)}")
    if abs(sum(values) - 1.0) > RATIO_TOLERANCE:
        raise ValueError(f"split ratios must sum to 1, got {dict(ratios)} (sum {sum(values)})")
    return {str(name): float(ratios[name]) for name in sorted(ratios)}


def _check_units(units: Sequence[SplitUnit]) -> list[SplitUnit]:
    """The units sorted by ``doc_id`` (order independence), once checked for duplicates."""
    ordered = sorted(units, key=lambda u: u.doc_id)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.doc_id == after.doc_id:
            raise ValueError(f"doc_id {after.doc_id} is given twice; give each document once")
    return ordered


def _placed_groups(
    groups: Mapping[GroupKey, list[SplitUnit]],
    previous: Mapping[str, str],
    shares: Mapping[str, float],
) -> dict[GroupKey, str]:
    """The split of each group that ``previous`` already placed (through any document)."""
    placed: dict[GroupKey, str] = {}
    witness: dict[GroupKey, str] = {}
    for key, members in groups.items():
        for unit in members:
            split = previous.get(unit.doc_id)
            if split is None:
                continue
            if split not in shares:
                raise ValueError(
                    f"previous puts doc_id {unit.doc_id} in split {split!r}, which is not one "
                    f"of the ratios {sorted(shares)}; keep every previous split in the ratios"
                )
            if key in placed and placed[key] != split:
                raise ValueError(
                    f"previous splits leak a patient: doc_id {witness[key]} ({placed[key]}) and "
                    f"doc_id {unit.doc_id} ({split}) belong to the same patient; fix the "
                    "previous assignment before building a new version"
                )
            placed.setdefault(key, split)
            witness.setdefault(key, unit.doc_id)
    return placed


# --- folds -----------------------------------------------------------------------------------


def _rarest_strata(units: Sequence[SplitUnit]) -> dict[str, str]:
    """Each document's stratification key: its rarest stratum in the corpus, or ``""``."""
    frequency = Counter(label for unit in units for label in set(unit.strata))
    return {
        unit.doc_id: min(set(unit.strata), key=lambda s: (frequency[s], s), default=NO_LABEL)
        for unit in units
    }


def _fold_count(shares: Sequence[float], limit: int) -> int:
    """Folds whose equal shares reproduce ``shares`` within :data:`FOLD_TOLERANCE` (the
    fewest from ``round(1 / smallest share)``), else the closest; at most ``limit``."""
    high = min(MAX_FOLDS, limit)
    best, best_error = high, math.inf
    for k in range(min(max(2, round(1 / min(shares))), high), high + 1):
        counts = _largest_remainder(shares, k)
        error = max(abs(n / k - s) for n, s in zip(counts, shares, strict=True))
        if error <= FOLD_TOLERANCE:
            return k
        if error < best_error - 1e-12:
            best, best_error = k, error
    return best


def _largest_remainder(shares: Sequence[float], k: int) -> list[int]:
    """Whole numbers of folds per share, summing to ``k`` (Hamilton's method)."""
    exact = [s * k for s in shares]
    counts = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: k - sum(counts)]:
        counts[i] += 1
    return counts


def _folds(
    new: Mapping[GroupKey, list[SplitUnit]],
    strata: Mapping[str, str],
    targets: Mapping[str, float],
    counts: Mapping[str, int],
    seed: int,
) -> list[list[str]]:
    """The new groups' documents cut into stratified folds (doc_ids, sorted)."""
    shortfalls = [max(0.0, t - counts.get(name, 0)) for name, t in targets.items()]
    shares = [s / sum(shortfalls) for s in shortfalls if s > 0]
    docs = [u.doc_id for members in new.values() for u in members]
    index = {key: i for i, key in enumerate(new)}
    groups = np.array([index[u.group] for members in new.values() for u in members])
    y = np.array([strata[d] for d in docs])
    largest = max(Counter(y.tolist()).values())
    k = _fold_count(shares, min(len(new), largest))
    if k < 2:  # too few groups to stratify: each group is a fold
        return sorted(sorted(u.doc_id for u in members) for members in new.values())
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # strata with fewer members than folds
        parts = [held for _, held in splitter.split(np.zeros(len(docs)), y, groups)]
    return [sorted(docs[i] for i in held) for held in parts if len(held)]


def _hand_out(
    folds: Sequence[list[str]], targets: Mapping[str, float], counts: Counter[str]
) -> dict[str, str]:
    """Folds to splits, largest first, each to the split furthest below its target.

    On small data the greedy rule can leave a split empty (28 documents of 8 patients: no
    fold is small enough for a 10 % dev split). When there are folds enough, an empty split
    then takes the smallest fold of the split holding the most folds, so every split has
    documents.
    """
    out: dict[str, str] = {}
    held: dict[str, list[list[str]]] = {name: [] for name in targets}
    for fold in sorted(folds, key=lambda f: (-len(f), f[0])):
        split = min(targets, key=lambda name: (counts[name] - targets[name], name))
        counts[split] += len(fold)
        held[split].append(fold)
        out.update(dict.fromkeys(fold, split))
    for empty in sorted(n for n in targets if counts[n] == 0 and targets[n] > 0):
        donor = max(held, key=lambda name: (len(held[name]), counts[name], name))
        if len(held[donor]) < 2:
            break
        fold = min(held[donor], key=lambda f: (len(f), f[0]))
        held[donor].remove(fold)
        held[empty].append(fold)
        counts[donor] -= len(fold)
        counts[empty] += len(fold)
        out.update(dict.fromkeys(fold, empty))
    return out
