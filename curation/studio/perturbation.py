"""How a simulated annotator departs from the gold: spans missed, moved, relabelled or added,
span attributes wrong (a flag flipped, a result's status changed), relations left out, and,
for a coded use case with roles (CIM-10), codes missed, confused or put in the wrong role.

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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from curation.schema import Record, Span
from curation.settings import AnnotatorProfile
from curation.usecases.base import SpanAttribute

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
    *,
    roles: Sequence[str] = (),
    siblings: Callable[[str], Sequence[str]] | None = None,
    role_key: str | None = None,
    attributes: Sequence[SpanAttribute] = (),
) -> Record:
    """The gold as ``profile`` would leave it: spans missed, moved, relabelled, or added.

    Four numbers are drawn per gold span, in a fixed order, so that a change of one rate does
    not reshuffle the others' decisions; then :func:`attribute_errors` and
    :func:`relation_errors` draw theirs (none for a record without attributes or relations).
    Relations and attributes follow their spans (those of a missed span are dropped).
    ``attributes`` are the use case's declared span attributes: those with values (a result's
    status) may be changed to another of their values. Results other than spans (``labels``,
    ``sections``, ``items``) are copied from the gold unchanged, unless the use case has
    ``roles`` (principal first): then :func:`perturb_codes` follows, with ``siblings`` giving
    the codes one may confuse and ``role_key`` the attribute holding a span's role. Document
    labels of a closed set without roles (a treatment response) are confused as a whole
    (:func:`perturb_class`): their evidence spans keep the document's label.
    """
    taken = [(s.start, s.end) for s in gold.spans]
    free = [
        (m.start(), m.end())
        for m in WORD.finditer(text)
        if not any(m.start() < end and start < m.end() for start, end in taken)
    ]
    placed: list[tuple[Span, int | None]] = []
    classes = bool(gold.labels) and not roles  # evidence of one class per document
    for index, span in enumerate(gold.spans):
        miss, shift, swap, extra = (rng.random() for _ in range(4))
        if extra < profile.spurious_rate and free and labels:
            start, end = free.pop(rng.randrange(len(free)))
            placed.append((Span(start, end, rng.choice(list(labels)), text[start:end]), None))
        if miss < profile.miss_rate:
            continue
        start, end, label = span.start, span.end, span.label
        if shift < profile.boundary_shift_rate:
            start, end = _shifted(start, end, text, profile.max_shift, rng)
        others = [lb for lb in labels if lb != label]
        if swap < profile.label_swap_rate and others and not classes:
            label = rng.choice(others)
        placed.append((Span(start, end, label, text[start:end], span.score), index))
    order = sorted(range(len(placed)), key=lambda i: _span_key(placed[i][0]))
    new_index = {placed[i][1]: n for n, i in enumerate(order) if placed[i][1] is not None}
    marks = attribute_errors(gold.attributes, profile, attributes, rng)
    links = relation_errors(gold.relations, profile, rng)
    edited = Record(gold.doc_id, gold.use_case, gold.origin, relations=links, attributes=marks)
    record = Record(
        doc_id=gold.doc_id,
        use_case=gold.use_case,
        origin=f"simulated:{profile.name}",
        spans=[placed[i][0] for i in order],
        labels=list(gold.labels),
        sections=dict(gold.sections),
        items=list(gold.items),
    )
    record.relations, record.attributes = _follow_spans(edited, new_index)
    record.attributes.sort(key=lambda a: a.get("span", -1))
    if roles and record.labels:
        return perturb_codes(record, profile, roles, siblings or _none, rng, role_key=role_key)
    if classes:
        return perturb_class(record, profile, labels, rng)
    return record


def perturb_class(
    record: Record, profile: AnnotatorProfile, labels: Sequence[str], rng: random.Random
) -> Record:
    """The document's first label confused with another of ``labels`` (one draw, below
    ``label_swap_rate``), its evidence spans relabelled with it: a reader who takes a
    "stabilité" for a partial response highlights the same sentence as partial response."""
    others = [label for label in labels if label not in record.labels]
    if rng.random() >= profile.label_swap_rate or not others:
        return record
    old, new = record.labels[0], rng.choice(others)
    record.labels = [new, *record.labels[1:]]
    record.spans = [
        Span(s.start, s.end, new, s.text, s.score) if s.label == old else s for s in record.spans
    ]
    return record


def attribute_errors(
    entries: Sequence[Mapping[str, Any]],
    profile: AnnotatorProfile,
    declared: Sequence[SpanAttribute],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """Span attributes as ``profile`` would give them: flags flipped, values changed.

    For each span entry, in order: one number per flag (a key holding ``true`` or ``false``),
    flipped below ``flag_error_rate``; two per attribute declared with values and present
    (``status``), the first below ``status_error_rate`` choosing, with the second, another
    of its declared values. The number of draws depends on the entries only, never on the
    rates. Document-level entries (without ``span``) are copied.

    >>> from curation.settings import AnnotatorProfile
    >>> sloppy = AnnotatorProfile(name="x", email="x@y.fr", flag_error_rate=1.0)
    >>> attribute_errors([{"span": 0, "negated": False}], sloppy, [], random.Random(0))
    [{'span': 0, 'negated': True}]
    """
    valued = {a.name: a.values for a in declared if a.values}
    out = []
    for entry in entries:
        changed = dict(entry)
        out.append(changed)
        if "span" not in entry:
            continue
        for key, value in entry.items():
            if isinstance(value, bool):
                if rng.random() < profile.flag_error_rate:
                    changed[key] = not value
            elif key in valued:
                error, pick = rng.random(), rng.random()
                others = [v for v in valued[key] if v != value]
                if error < profile.status_error_rate and others:
                    changed[key] = others[int(pick * len(others))]
    return out


def relation_errors(
    relations: Sequence[Mapping[str, Any]], profile: AnnotatorProfile, rng: random.Random
) -> list[dict[str, Any]]:
    """The relations ``profile`` would draw: one number per relation, left out below
    ``relation_miss_rate``.

    >>> from curation.settings import AnnotatorProfile
    >>> hasty = AnnotatorProfile(name="x", email="x@y.fr", relation_miss_rate=1.0)
    >>> relation_errors([{"from": 0, "to": 1, "type": "has_result"}], hasty, random.Random(0))
    []
    """
    return [dict(r) for r in relations if rng.random() >= profile.relation_miss_rate]


def perturb_codes(
    record: Record,
    profile: AnnotatorProfile,
    roles: Sequence[str],
    siblings: Callable[[str], Sequence[str]],
    rng: random.Random,
    *,
    role_key: str | None = None,
) -> Record:
    """The coder's errors on ``record.labels`` (principal first): missed, confused, wrong DP.

    One number is drawn per code, in ``labels`` order, before anything else, so a change of
    one rate does not reshuffle the others' decisions. For the principal code it falls in
    ``[0, wrong_principal_rate)``: a secondary code (chosen at random) becomes the principal
    (``labels`` order and the roles of their evidence swap), else in the next
    ``sibling_rate``: sibling confusion. For a secondary code: ``[0, missed_code_rate)``
    leaves it out with its evidence spans, the next ``sibling_rate`` confuses it with one of
    its ``siblings`` (``E119`` -> ``E118``), its evidence relabelled. A code without siblings
    stays as it is.
    """
    draws = [rng.random() for _ in record.labels]
    codes: list[str] = []
    renamed: dict[str, str] = {}
    dropped: set[str] = set()
    swap = False
    for i, (code, u) in enumerate(zip(record.labels, draws, strict=True)):
        first = profile.wrong_principal_rate if i == 0 else profile.missed_code_rate
        if u < first:
            if i == 0:
                swap = True
                codes.append(code)
            else:
                dropped.add(code)
            continue
        near = [c for c in siblings(code) if c not in record.labels]
        if u < first + profile.sibling_rate and near:
            renamed[code] = rng.choice(near)
        codes.append(renamed.get(code, code))
    if swap and len(codes) > 1:
        other = rng.randrange(1, len(codes))
        codes[0], codes[other] = codes[other], codes[0]
    keep = [i for i, span in enumerate(record.spans) if span.label not in dropped]
    new_index = {old: new for new, old in enumerate(keep)}
    out = Record(
        doc_id=record.doc_id,
        use_case=record.use_case,
        origin=record.origin,
        spans=[
            Span(s.start, s.end, renamed.get(s.label, s.label), s.text, s.score)
            for s in (record.spans[i] for i in keep)
        ],
        labels=list(dict.fromkeys(codes)),
        sections=dict(record.sections),
        items=list(record.items),
    )
    out.relations, out.attributes = _follow_spans(record, new_index)
    for moved in out.attributes:
        if role_key is not None and role_key in moved and "span" in moved:
            label = out.spans[moved["span"]].label
            moved[role_key] = roles[0] if label == out.labels[0] else roles[-1]
    return out


def _follow_spans(
    source: Record, new_index: Mapping[Any, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Relations and attributes of ``source`` re-indexed to the spans kept (``old -> new``);
    those of a dropped span are dropped, document-level attributes kept."""
    relations = [
        {**r, "from": new_index[r["from"]], "to": new_index[r["to"]]}
        for r in source.relations
        if r["from"] in new_index and r["to"] in new_index
    ]
    attributes = [
        dict(entry) if "span" not in entry else {**entry, "span": new_index[entry["span"]]}
        for entry in source.attributes
        if "span" not in entry or entry["span"] in new_index
    ]
    return relations, attributes


def _none(code: str) -> list[str]:
    return []


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


__all__ = [
    "WORD",
    "annotator_rng",
    "attribute_errors",
    "perturb",
    "perturb_codes",
    "relation_errors",
]
