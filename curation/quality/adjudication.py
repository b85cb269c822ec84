"""Adjudication: the annotations of a document become one gold record, or a conflict.

Rules, tried in this order for each document (cancelled annotations are ignored; of several
annotations by one annotator, the last one counts):

1. **review** — an authoritative annotation wins: made in the review project, flagged
   ground truth in Label Studio, or by a configured reviewer. The latest one is taken.
2. **single** — one annotator: their annotation is the gold (agreement unknown), unless
   it holds overlapping spans, which make it a conflict for review.
3. **consensus** — several annotators: a majority vote per candidate with a quorum ``q``
   (``0.5 <= q <= 1``). A candidate is a span (exact start, end and label) or a document
   label proposed by at least one annotator; with ``share`` the fraction of annotators who
   proposed it, it is *accepted* if ``share >= q``, *rejected* if ``share <= 1 - q``, and
   *unsettled* otherwise. Accepted spans that overlap each other (the annotators agree that
   something is there but not on its boundaries or label) are unsettled too. For document
   labels the principal label (the first) is the majority first label, unsettled on a tie;
   their evidence spans are every version's spans of the accepted labels, and with roles
   (CIM-10 DP/DAS) the principal label's evidence is marked with the principal role.
   Generated content (sections, items) is accepted only when every annotator wrote the same.

   Span use cases with relations and span attributes (oncology: biomarker -> result,
   negation, status) vote on them too, and index them by the consensus spans (sorted by
   start, end, label), never by one annotator's spans. A candidate relation is ``(type, from
   span, to span)``, spans compared by ``(start, end, label)``; it is voted like a span
   (accepted if ``share >= q`` with both endpoints accepted, rejected if ``share <= 1 - q``,
   unsettled otherwise: a dispute ``relation``). An attribute of an accepted span takes, key by
   key, the value most of the annotators who marked that span gave it (an annotator without
   the key votes "absent"); a tie is a dispute ``attribute <key>``. Attributes without a span
   (document level) are voted the same way among all annotators. A relation or attribute
   entry whose span index does not exist in its annotation takes no part in the vote (the
   ``annotations`` gate reports it). Other kinds keep the first annotator's relations and
   attributes (labels with roles: the roles of their evidence).

A document with anything unsettled is a :class:`Conflict`: it is written to the conflict list
with the competing versions and the disputed places, and becomes gold once a reviewer settles
it (rule 1). With ``q = 0.5`` (the default) a span proposed by one of two annotators is kept,
which favours recall (right for pseudonymisation); ``q = 2/3`` sends every two-annotator
disagreement to review and takes the majority of three.

Spans are trimmed of the white space around them first (an editor's selection often takes
a trailing space or line break); relations and attributes follow their spans (those of a span
left empty by trimming are dropped with it), for every rule. Every gold record keeps its
provenance: rule, annotation keys, annotators, quorum and the agreement between annotators on
that document (mean pairwise F1, ``None`` with one annotator).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

from curation.quality.annotations import Annotated, by_document
from curation.schema import Record, Span
from curation.usecases.base import UseCase

RULES = ("review", "single", "consensus")


@dataclass(frozen=True, slots=True)
class Dispute:
    """A place the rule could not settle: offsets (spans) or a document label, with votes."""

    votes: Mapping[str, int]
    start: int | None = None
    end: int | None = None
    reason: str = "unsettled"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason, "votes": dict(sorted(self.votes.items()))}
        if self.start is not None:
            out["start"], out["end"] = self.start, self.end
        return out


@dataclass(slots=True)
class Conflict:
    """A document whose annotations the consensus rule could not turn into gold."""

    doc_id: str
    use_case: str
    versions: list[Annotated]
    disputes: list[Dispute]
    agreement: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "use_case": self.use_case,
            "annotations": [a.key for a in self.versions],
            "annotators": [a.annotator for a in self.versions],
            "agreement": _round(self.agreement),
            "disputes": [d.to_dict() for d in self.disputes],
            "versions": [a.record.to_dict() for a in self.versions],
        }


@dataclass(slots=True)
class Adjudicated:
    """Gold records, conflicts, and how many documents each rule settled."""

    gold: list[Record] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    rules: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        total = len(self.gold) + len(self.conflicts)
        return {
            "documents": total,
            "gold": len(self.gold),
            "conflicts": len(self.conflicts),
            "by_rule": {rule: self.rules[rule] for rule in RULES},
            "conflict_rate": _round(len(self.conflicts) / total) if total else None,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def latest_per_annotator(annotations: Sequence[Annotated]) -> list[Annotated]:
    """One annotation per annotator (the last by update time, then id), sorted by annotator."""
    latest: dict[str, Annotated] = {}
    for annotation in sorted(annotations, key=_when):
        latest[annotation.annotator] = annotation
    return [latest[name] for name in sorted(latest)]


def _when(annotation: Annotated) -> tuple[str, int]:
    return (annotation.updated_at or "", annotation.annotation_id or 0)


# --- agreement on one document ----------------------------------------------------------------


def _keys(record: Record, kind: str) -> set[tuple[Any, ...]]:
    if kind == "spans":
        return {(s.start, s.end, s.label) for s in record.spans}
    if kind == "labels":
        return {(label,) for label in record.labels}
    if kind == "sections":
        return {tuple(sorted(record.sections.items()))} if record.sections else set()
    return {repr(record.items)} if record.items else set()  # type: ignore[arg-type]


def document_agreement(versions: Sequence[Annotated], kind: str) -> float | None:
    """Mean pairwise F1 of the annotators' results on one document.

    ``None`` with fewer than two annotators, or when no annotator marked anything (there is
    nothing to agree on: two empty annotations are not "perfect agreement" on a task).

    >>> a = Annotated(Record("d", "u", "a", spans=[Span(0, 3, "NOM", "Dup")]), "a")
    >>> b = Annotated(Record("d", "u", "b", spans=[Span(0, 3, "NOM", "Dup"),
    ...                                            Span(5, 9, "TEL", "0612")]), "b")
    >>> document_agreement([a, b], "spans")
    0.6667
    """
    scores = []
    for left, right in combinations(versions, 2):
        a, b = _keys(left.record, kind), _keys(right.record, kind)
        if a or b:
            scores.append(2 * len(a & b) / (len(a) + len(b)))
    return round(sum(scores) / len(scores), 4) if scores else None


# --- consensus --------------------------------------------------------------------------------


def _verdict(votes: int, voters: int, quorum: float) -> str:
    share = votes / voters
    if share >= quorum:
        return "accepted"
    if share <= 1 - quorum:
        return "rejected"
    return "unsettled"


def span_consensus(
    versions: Sequence[Annotated], quorum: float
) -> tuple[list[Span], list[Dispute]]:
    """Accepted spans and the disputes of a span document (see the module docstring)."""
    votes: Counter[tuple[int, int, str]] = Counter()
    texts: dict[tuple[int, int, str], str] = {}
    for annotation in versions:
        for span in {(s.start, s.end, s.label): s for s in annotation.record.spans}.values():
            key = (span.start, span.end, span.label)
            votes[key] += 1
            texts[key] = span.text
    accepted, disputes = [], []
    for key, count in sorted(votes.items()):
        verdict = _verdict(count, len(versions), quorum)
        if verdict == "accepted":
            accepted.append(key)
        elif verdict == "unsettled":
            disputes.append(Dispute({key[2]: count}, key[0], key[1], "no majority"))
    clashing = _overlapping(accepted)
    disputes += [_clash(group, votes) for group in clashing]
    clashed = {key for group in clashing for key in group}
    spans = [Span(k[0], k[1], k[2], texts[k]) for k in accepted if k not in clashed]
    return spans, sorted(disputes, key=lambda d: (d.start or 0, d.end or 0))


def _clash(group: Sequence[tuple[int, int, str]], votes: Counter[tuple[int, int, str]]) -> Dispute:
    """The dispute of overlapping spans (votes per span; 1 each within one annotation)."""
    start, end = min(k[0] for k in group), max(k[1] for k in group)
    labels = {f"{k[2]}[{k[0]}:{k[1]}]": votes.get(k, 1) for k in group}
    return Dispute(labels, start, end, "overlapping versions")


def _overlapping(keys: Sequence[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    """Groups of mutually overlapping spans (connected by overlap), sorted by start."""
    groups: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    reach = -1
    for key in sorted(keys):
        if current and key[0] < reach:
            current.append(key)
            reach = max(reach, key[1])
            continue
        if len(current) > 1:
            groups.append(current)
        current, reach = [key], key[1]
    if len(current) > 1:
        groups.append(current)
    return groups


#: A span as relations and attributes name it in a vote.
SpanKey = tuple[int, int, str]


def _span_key(span: Span) -> SpanKey:
    return (span.start, span.end, span.label)


def _span_at(record: Record, index: Any) -> Span | None:
    """The span at ``index`` of ``record``, or ``None`` if that is not a span index."""
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(record.spans):
        return record.spans[index]
    return None


def relation_consensus(
    versions: Sequence[Annotated], spans: Sequence[Span], quorum: float
) -> tuple[list[dict[str, Any]], list[Dispute]]:
    """Accepted relations, indexed by the consensus ``spans``, and the disputes."""
    votes: Counter[tuple[str, SpanKey, SpanKey]] = Counter()
    for annotation in versions:
        record, keys = annotation.record, set()
        for relation in record.relations:
            first = _span_at(record, relation.get("from"))
            second = _span_at(record, relation.get("to"))
            if first is not None and second is not None:
                keys.add((str(relation.get("type")), _span_key(first), _span_key(second)))
        votes.update(keys)
    index = {_span_key(s): i for i, s in enumerate(spans)}
    relations, disputes = [], []
    for (kind, head, tail), count in sorted(votes.items()):
        verdict = _verdict(count, len(versions), quorum)
        if verdict == "accepted" and head in index and tail in index:
            relations.append({"from": index[head], "to": index[tail], "type": kind})
        elif verdict != "rejected":
            name = f"{kind}[{head[0]}:{head[1]}->{tail[0]}:{tail[1]}]"
            start, end = min(head[0], tail[0]), max(head[1], tail[1])
            disputes.append(Dispute({name: count}, start, end, "relation"))
    relations.sort(key=lambda r: (r["from"], r["to"], r["type"]))
    return relations, disputes


def _entries(record: Record) -> tuple[dict[SpanKey, dict[str, Any]], dict[str, Any]]:
    """Attributes of ``record`` by span key (entries of one span merged), and document ones."""
    by_span: dict[SpanKey, dict[str, Any]] = {}
    document: dict[str, Any] = {}
    for entry in record.attributes:
        if "span" not in entry:
            document.update(entry)
        elif (span := _span_at(record, entry["span"])) is not None:
            values = {k: v for k, v in entry.items() if k != "span"}
            by_span.setdefault(_span_key(span), {}).update(values)
    return by_span, document


def _majority(
    held: Sequence[Mapping[str, Any]], where: Span | None
) -> tuple[dict[str, Any], list[Dispute]]:
    """Key by key, the value most of ``held`` give (absent counts); a tie is a dispute."""
    keys = list(dict.fromkeys(k for values in held for k in values))
    voted: dict[str, Any] = {}
    disputes = []
    for key in keys:
        tally: Counter[str] = Counter()
        seen: dict[str, Any] = {}
        for values in held:
            value = values.get(key)
            seen[repr(value)] = value
            tally[repr(value)] += 1
        ranked = tally.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            votes = {str(seen[v]): n for v, n in ranked}
            start, end = (where.start, where.end) if where else (None, None)
            disputes.append(Dispute(votes, start, end, f"attribute {key}"))
        elif seen[ranked[0][0]] is not None:
            voted[key] = seen[ranked[0][0]]
    return voted, disputes


def attribute_consensus(
    versions: Sequence[Annotated], spans: Sequence[Span]
) -> tuple[list[dict[str, Any]], list[Dispute]]:
    """Attributes of the consensus ``spans`` (by index) and of the document, and disputes."""
    marked = [{_span_key(s) for s in a.record.spans} for a in versions]
    entries = [_entries(a.record) for a in versions]
    attributes: list[dict[str, Any]] = []
    disputes: list[Dispute] = []
    for i, span in enumerate(spans):
        key = _span_key(span)
        if not any(key in by_span for by_span, _ in entries):
            continue
        held = [
            by_span.get(key, {})
            for keys, (by_span, _) in zip(marked, entries, strict=True)
            if key in keys
        ]
        voted, found = _majority(held, span)
        attributes.append({"span": i, **voted})
        disputes += found
    documents = [document for _, document in entries]
    if any(documents):
        voted, found = _majority(documents, None)
        if voted:
            attributes.append(voted)
        disputes += found
    return attributes, disputes


def label_consensus(
    versions: Sequence[Annotated], quorum: float
) -> tuple[list[str], list[Dispute]]:
    """Accepted document labels (principal first) and the disputes."""
    n = len(versions)
    votes: Counter[str] = Counter(lb for a in versions for lb in dict.fromkeys(a.record.labels))
    accepted = sorted(lb for lb, c in votes.items() if _verdict(c, n, quorum) == "accepted")
    disputes = [
        Dispute({lb: c}, reason="no majority")
        for lb, c in sorted(votes.items())
        if _verdict(c, n, quorum) == "unsettled"
    ]
    firsts = Counter(a.record.labels[0] for a in versions if a.record.labels)
    ranked = firsts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        disputes.append(Dispute(dict(firsts), reason="no majority principal label"))
    elif ranked and ranked[0][0] in accepted:
        accepted.remove(ranked[0][0])
        accepted.insert(0, ranked[0][0])
    elif ranked:  # the commonest first label is not even accepted: nobody's principal wins
        disputes.append(Dispute(dict(firsts), reason="principal label not accepted"))
    return accepted, disputes


# --- a document, a use case -------------------------------------------------------------------


def label_evidence(
    versions: Sequence[Annotated], labels: Sequence[str], roles: Sequence[str]
) -> tuple[list[Span], list[dict[str, Any]]]:
    """Evidence of accepted document labels: every version's spans of those labels, once.

    With roles (CIM-10: ``DP``, ``DAS``), each evidence span gets the principal role when its
    label is the accepted principal (``labels[0]``), the last role otherwise; a principal
    without evidence is named in a document-level attribute keyed by the role (``{"dp": ...}``,
    as annotations name a principal typed without evidence).
    """
    accepted = set(labels)
    found = {
        (s.start, s.end, s.label): s
        for a in versions
        for s in a.record.spans
        if s.label in accepted
    }
    spans = [Span(s.start, s.end, s.label, s.text) for _, s in sorted(found.items())]
    if not roles or not labels:
        return spans, []
    marks: list[dict[str, Any]] = [
        {"span": i, "role": roles[0] if s.label == labels[0] else roles[-1]}
        for i, s in enumerate(spans)
    ]
    if not any(s.label == labels[0] for s in spans):
        marks.append({roles[0].lower(): labels[0]})
    return spans, marks


def trim(span: Span) -> Span | None:
    """The span without the white space around it (``None`` if nothing else is left).

    Editors let an annotator select a trailing space or line break; offsets move with the
    text, which stays equal to the document slice.

    >>> trim(Span(4, 11, "NOM", " Dupont"))
    Span(start=5, end=11, label='NOM', text='Dupont', score=1.0, origin=None)
    """
    text = span.text.lstrip()
    start = span.start + len(span.text) - len(text)
    text = text.rstrip()
    if not text:
        return None
    return Span(start, start + len(text), span.label, text, span.score, span.origin)


#: Marks a relation or attribute whose span trimming removed.
_DROPPED = object()


def _trimmed(annotation: Annotated) -> Annotated:
    """The annotation with its spans trimmed; relations and attributes keep their spans (a
    span trimmed to nothing is dropped with them, and the indexes after it move down)."""
    record = annotation.record
    trimmed = [trim(s) for s in record.spans]
    if trimmed == record.spans:
        return annotation
    kept = [i for i, t in enumerate(trimmed) if t is not None]
    relations, attributes = record.relations, record.attributes
    if len(kept) < len(trimmed):
        index = {old: new for new, old in enumerate(kept)}

        def moved(value: Any) -> Any:
            """The new index of a kept span, ``_DROPPED`` for a dropped one; a value that is
            no span index stays as it is (the gates report it)."""
            return index.get(value, _DROPPED) if _span_at(record, value) else value

        relations = [
            {**r, "from": head, "to": tail}
            for r in relations
            if (head := moved(r.get("from"))) is not _DROPPED
            and (tail := moved(r.get("to"))) is not _DROPPED
        ]
        attributes = [
            a if "span" not in a else {**a, "span": moved(a["span"])}
            for a in attributes
            if "span" not in a or moved(a["span"]) is not _DROPPED
        ]
    copy = Record(
        record.doc_id,
        record.use_case,
        record.origin,
        spans=[t for t in trimmed if t is not None],
        labels=record.labels,
        relations=relations,
        attributes=attributes,
        sections=record.sections,
        items=record.items,
    )
    return replace(annotation, record=copy)


def adjudicate_document(
    doc_id: str,
    annotations: Sequence[Annotated],
    use_case: UseCase,
    quorum: float = 0.5,
    reviewers: Iterable[str] = (),
) -> Record | Conflict:
    """The gold record of one document, or the conflict the rules could not settle."""
    if not 0.5 <= quorum <= 1:
        raise ValueError(f"quorum must be between 0.5 and 1, got {quorum}")
    annotations = [_trimmed(a) for a in annotations]
    chiefs = {f"annotator:{r}" for r in reviewers} | set(reviewers)
    ordinary = [a for a in annotations if not (a.authoritative or a.annotator in chiefs)]
    versions = latest_per_annotator(ordinary)
    agreement = document_agreement(versions, use_case.kind)
    authoritative = sorted(
        (a for a in annotations if a.authoritative or a.annotator in chiefs), key=_when
    )
    if authoritative:
        winner = authoritative[-1]
        return _gold(winner.record, use_case, "review", [*versions, winner], agreement, quorum)
    if len(versions) == 1:
        spans = versions[0].record.spans if use_case.kind == "spans" else []  # evidence may
        clashes = _overlapping([(s.start, s.end, s.label) for s in spans])  # overlap (2 codes)
        if clashes:
            own = [_clash(group, Counter()) for group in clashes]
            return Conflict(doc_id, use_case.id, versions, own, None)
        broken = structure_disputes(versions[0].record, use_case)
        if broken:
            return Conflict(doc_id, use_case.id, versions, broken, None)
        return _gold(versions[0].record, use_case, "single", versions, None, quorum)
    result = Record(doc_id, use_case.id, "adjudication")
    disputes: list[Dispute] = []
    roles: list[dict[str, Any]] = []
    if use_case.kind == "spans":
        result.spans, disputes = span_consensus(versions, quorum)
        result.relations, linked = relation_consensus(versions, result.spans, quorum)
        result.attributes, marked = attribute_consensus(versions, result.spans)
        disputes = sorted([*disputes, *linked, *marked], key=lambda d: (d.start or 0, d.end or 0))
    elif use_case.kind == "labels":
        result.labels, disputes = label_consensus(versions, quorum)
        result.spans, roles = label_evidence(versions, result.labels, use_case.roles)
    elif len({repr(_keys(a.record, use_case.kind)) for a in versions}) > 1:
        disputes = [Dispute({a.annotator: 1 for a in versions}, reason="different texts")]
    else:
        result.sections, result.items = versions[0].record.sections, versions[0].record.items
    disputes = disputes or structure_disputes(result, use_case)
    if disputes:
        return Conflict(doc_id, use_case.id, versions, disputes, agreement)
    if use_case.kind != "spans":
        first = versions[0].record
        result.relations = first.relations
        result.attributes = (
            roles if use_case.kind == "labels" and use_case.roles else first.attributes
        )
    return _gold(result, use_case, "consensus", versions, agreement, quorum)


def structure_disputes(record: Record, use_case: UseCase) -> list[Dispute]:
    """What breaks the use case's declared structure: a relation whose ends have other labels
    than its type allows (a result relabelled as a treatment but still linked), an attribute
    on a span label that may not carry it (a status left on it). Such a version is not gold:
    it goes to review, as overlapping spans do; the gold gate would refuse it."""
    ends = {kind: (head, tail) for kind, head, tail in use_case.relation_ends}
    out: list[Dispute] = []
    spans = record.spans
    for relation in record.relations:
        head, tail = relation.get("from"), relation.get("to")
        allowed = ends.get(str(relation.get("type")))
        if not (isinstance(head, int) and isinstance(tail, int)):
            continue  # malformed indexes are the gates' to report
        if allowed and 0 <= head < len(spans) and 0 <= tail < len(spans):
            found = (spans[head].label, spans[tail].label)
            if found != allowed:
                votes = {f"{relation.get('type')} {found[0]}->{found[1]}": 1}
                out.append(Dispute(votes, spans[head].start, spans[tail].end, "relation ends"))
    restricted = {a.name: set(a.labels) for a in use_case.span_attributes if a.labels}
    for entry in record.attributes:
        index = entry.get("span")
        if not isinstance(index, int) or not 0 <= index < len(spans):
            continue
        for key, labels in restricted.items():
            if entry.get(key) is not None and spans[index].label not in labels:
                span = spans[index]
                votes = {f"{key} on {span.label}": 1}
                out.append(Dispute(votes, span.start, span.end, f"attribute {key} on label"))
    return out


def _gold(
    record: Record,
    use_case: UseCase,
    rule: str,
    sources: Sequence[Annotated],
    agreement: float | None,
    quorum: float,
) -> Record:
    provenance: dict[str, Any] = {
        "rule": rule,
        "annotations": [a.key for a in sources],
        "annotators": sorted({a.annotator for a in sources}),
        "agreement": agreement,
        "use_case_version": use_case.version,
    }
    if rule == "consensus":
        provenance["quorum"] = quorum
    if rule == "review":
        provenance["reviewer"] = sources[-1].annotator
    return Record(
        doc_id=record.doc_id,
        use_case=use_case.id,
        origin=f"gold:{rule}",
        spans=[Span(s.start, s.end, s.label, s.text) for s in record.spans],
        labels=list(record.labels),
        relations=list(record.relations),
        attributes=list(record.attributes),
        sections=dict(record.sections),
        items=list(record.items),
        provenance=provenance,
    )


def adjudicate(
    annotations: Iterable[Annotated],
    use_case: UseCase,
    quorum: float = 0.5,
    reviewers: Iterable[str] = (),
) -> Adjudicated:
    """Adjudicate every annotated document of a use case, in ``doc_id`` order."""
    out = Adjudicated()
    reviewers = tuple(reviewers)
    for doc_id, annotated in by_document(annotations).items():
        result = adjudicate_document(doc_id, annotated, use_case, quorum, reviewers)
        if isinstance(result, Conflict):
            out.conflicts.append(result)
        else:
            out.gold.append(result)
            out.rules[result.provenance["rule"]] += 1
    return out
