"""Expert annotations as the quality gates read them: one :class:`Annotated` per annotation.

``data/annotations/<use_case>.jsonl`` (written by ``curation pull``) holds one line per
annotation: a :class:`~curation.schema.Record` plus an ``annotation`` object saying who made it
and how (see :mod:`curation.stages.pull`). Review annotations (made in a use case's review
project, on the conflicts adjudication could not settle) carry ``"review": true``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.io import InputError, iter_json_objects, record_from_dict
from curation.schema import Record


@dataclass(frozen=True, slots=True)
class Annotated:
    """One expert annotation of one document.

    ``annotator`` is the stable name of who made it (``origin`` of the record, e.g.
    ``annotator:dr.x@chu.fr``); ``annotation_id`` is the Label Studio annotation id (``None``
    for annotations that do not come from a server, e.g. in tests). ``ground_truth`` is Label
    Studio's ground-truth flag, ``review`` says it was made in a review project; either makes
    it authoritative for adjudication.
    """

    record: Record
    annotator: str
    annotation_id: int | None = None
    ground_truth: bool = False
    review: bool = False
    cancelled: bool = False
    updated_at: str | None = None

    @property
    def doc_id(self) -> str:
        return self.record.doc_id

    @property
    def key(self) -> str:
        """A stable reference to this annotation in gold provenance (``ls:<id>`` or origin)."""
        if self.annotation_id is not None:
            return f"ls:{self.annotation_id}"
        return f"{self.annotator}@{self.doc_id}"

    @property
    def authoritative(self) -> bool:
        return self.ground_truth or self.review


def annotated_from_dict(data: Mapping[str, Any], where: str) -> Annotated:
    """An :class:`Annotated` from one line of an annotations file (``where`` names the line)."""
    record = record_from_dict(dict(data), where)
    meta = data.get("annotation") or {}
    if not isinstance(meta, Mapping):
        raise InputError(f"{where}: `annotation` must be an object")
    raw_id = meta.get("id")
    try:
        annotation_id = None if raw_id is None else int(raw_id)
    except (TypeError, ValueError):
        raise InputError(f"{where}: `annotation.id` must be an integer") from None
    return Annotated(
        record=record,
        annotator=record.origin or f"annotator:{meta.get('annotator', {}).get('id')}",
        annotation_id=annotation_id,
        ground_truth=bool(meta.get("ground_truth")),
        review=bool(meta.get("review")),
        cancelled=bool(meta.get("was_cancelled")),
        updated_at=meta.get("updated_at"),
    )


def read_annotations(path: str | Path) -> list[Annotated]:
    """Every annotation of an annotations file, in file order (cancelled ones flagged)."""
    return [
        annotated_from_dict(data, f"{path}:{number}") for number, data in iter_json_objects(path)
    ]


def by_document(annotations: Iterable[Annotated]) -> dict[str, list[Annotated]]:
    """Annotations grouped by ``doc_id`` (cancelled ones left out), in ``doc_id`` order."""
    grouped: dict[str, list[Annotated]] = defaultdict(list)
    for annotation in annotations:
        if not annotation.cancelled:
            grouped[annotation.doc_id].append(annotation)
    return dict(sorted(grouped.items()))


def overlapped(
    grouped: Mapping[str, Sequence[Annotated]], reviewers: Iterable[str] = ()
) -> dict[str, list[Annotated]]:
    """Documents annotated by at least two distinct annotators (one annotation each: the last
    by update time). Authoritative annotations (review project, ground truth, a configured
    reviewer) are left out, as adjudication leaves them out of the vote."""
    chiefs = {f"annotator:{r}" for r in reviewers} | set(reviewers)
    out: dict[str, list[Annotated]] = {}
    for doc_id, group in grouped.items():
        latest: dict[str, Annotated] = {}
        ordered = sorted(group, key=lambda a: (a.updated_at or "", a.annotation_id or 0))
        for annotation in ordered:
            if not (annotation.authoritative or annotation.annotator in chiefs):
                latest[annotation.annotator] = annotation
        if len(latest) >= 2:
            out[doc_id] = [latest[name] for name in sorted(latest)]
    return out
