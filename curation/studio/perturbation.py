"""How a simulated annotator departs from the gold: spans missed, moved, relabelled or added.

Everything drawn at random depends on ``(seed, annotator e-mail, doc_id)`` only
(:func:`annotator_rng`), so a simulation is reproducible whatever the order of the tasks.

Examples
--------
>>> from curation.schema import Record, Span
>>> from curation.settings import AnnotatorProfile
>>> text = "Patient vu par le Dr Martin le 12/03/2024."
>>> gold = Record("d1", "pseudonymisation", "gold", spans=[
...     Span(21, 27, "NOM", "Martin"), Span(31, 41, "DATE", "12/03/2024")])
>>> careful = AnnotatorProfile(name="prudent", email="prudent@example.org")  # no error rate
>>> edited = perturb(gold, text, careful, ["NOM", "DATE"], annotator_rng(0, "x@y.fr", "d1"))
>>> edited.spans == gold.spans, edited.origin
(True, 'simulated:prudent')
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from curation.schema import Record, Span
from curation.settings import AnnotatorProfile

#: Words a spurious span may cover: at least three letters or digits.
WORD = re.compile(r"\w{3,}")


def annotator_rng(seed: int, email: str, doc_id: str) -> random.Random:
    """The random stream of one annotator on one document (independent of task order)."""
    return random.Random(f"{seed}:{email.lower()}:{doc_id}")


def perturb(
    gold: Record,
    text: str,
    profile: AnnotatorProfile,
    labels: Sequence[str],
    rng: random.Random,
) -> Record:
    """The gold as ``profile`` would leave it: spans missed, moved, relabelled, or added.

    Four numbers are drawn per gold span, in a fixed order, so that a change of one rate does
    not reshuffle the others' decisions. Relations and attributes follow their spans (those of
    a missed span are dropped). Results other than spans (``labels``, ``sections``, ``items``)
    are copied from the gold unchanged.
    """
    taken = [(s.start, s.end) for s in gold.spans]
    free = [
        (m.start(), m.end())
        for m in WORD.finditer(text)
        if not any(m.start() < end and start < m.end() for start, end in taken)
    ]
    placed: list[tuple[Span, int | None]] = []
    for index, span in enumerate(gold.spans):
        miss, shift, swap, extra = (rng.random() for _ in range(4))
        if extra < profile.spurious_rate and free:
            start, end = free.pop(rng.randrange(len(free)))
            placed.append((Span(start, end, rng.choice(list(labels)), text[start:end]), None))
        if miss < profile.miss_rate:
            continue
        start, end, label = span.start, span.end, span.label
        if shift < profile.boundary_shift_rate:
            start, end = _shifted(start, end, text, profile.max_shift, rng)
        others = [lb for lb in labels if lb != label]
        if swap < profile.label_swap_rate and others:
            label = rng.choice(others)
        placed.append((Span(start, end, label, text[start:end], span.score), index))
    order = sorted(range(len(placed)), key=lambda i: _span_key(placed[i][0]))
    new_index = {placed[i][1]: n for n, i in enumerate(order) if placed[i][1] is not None}
    record = Record(
        doc_id=gold.doc_id,
        use_case=gold.use_case,
        origin=f"simulated:{profile.name}",
        spans=[placed[i][0] for i in order],
        labels=list(gold.labels),
        sections=dict(gold.sections),
        items=list(gold.items),
    )
    record.relations = [
        {**r, "from": new_index[r["from"]], "to": new_index[r["to"]]}
        for r in gold.relations
        if r["from"] in new_index and r["to"] in new_index
    ]
    for entry in gold.attributes:
        if "span" not in entry:
            record.attributes.append(dict(entry))
        elif entry["span"] in new_index:
            record.attributes.append({**entry, "span": new_index[entry["span"]]})
    record.attributes.sort(key=lambda a: a.get("span", -1))
    return record


def _shifted(
    start: int, end: int, text: str, max_shift: int, rng: random.Random
) -> tuple[int, int]:
    """Move the start or the end by 1..``max_shift`` characters, staying a non-blank range."""
    delta = rng.choice([d for d in range(-max_shift, max_shift + 1) if d])
    if rng.random() < 0.5:
        moved = (min(max(start + delta, 0), end - 1), end)
    else:
        moved = (start, max(min(end + delta, len(text)), start + 1))
    return moved if text[moved[0] : moved[1]].strip() else (start, end)


def _span_key(span: Span) -> tuple[int, int, str]:
    return (span.start, span.end, span.label)


__all__ = ["WORD", "annotator_rng", "perturb"]
