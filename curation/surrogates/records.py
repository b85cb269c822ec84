"""Record files around pseudonymisation: find a document's records, carry them to the new text.

A record file (predictions, answer keys, annotations) is read through a :class:`JsonlIndex`:
one pass keeps only each ``doc_id``'s byte offsets, then a document's lines are read when the
document comes, so the documents stream in their own order with bounded memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from curation.io import InputError
from curation.schema import Record, Span
from curation.surrogates.replace import OffsetMap

#: A record file is missing or has a bad line (file and line named, never the text).
RecordFileError = InputError


class JsonlIndex:
    """``doc_id`` -> line offsets of a JSONL record file; lines are parsed when taken.

    Parameters
    ----------
    path
        The file.
    unique
        Refuse a ``doc_id`` on two lines (predictions: one record per document).
    """

    def __init__(self, path: str | Path, *, unique: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordFileError(f"{self.path}: file not found")
        self._offsets: dict[str, list[tuple[int, int]]] = {}
        with self.path.open("rb") as f:
            offset = 0
            for line_no, raw in enumerate(f, start=1):
                if raw.strip():
                    doc_id = self._doc_id(raw, line_no)
                    lines = self._offsets.setdefault(doc_id, [])
                    if unique and lines:
                        raise RecordFileError(
                            f"{self.path}:{line_no}: doc_id {doc_id!r} already on line "
                            f"{lines[0][1]}; keep one record per document"
                        )
                    lines.append((offset, line_no))
                offset += len(raw)
        self._file = self.path.open("rb")

    def _doc_id(self, raw: bytes, line_no: int) -> str:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RecordFileError(f"{self.path}:{line_no}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or "doc_id" not in data:
            raise RecordFileError(f"{self.path}:{line_no}: a record needs a doc_id")
        return str(data["doc_id"])

    def __len__(self) -> int:
        return len(self._offsets)

    def take(self, doc_id: str) -> list[tuple[int, dict[str, Any]]]:
        """The (line number, parsed line) of ``doc_id``, once: a second take gives nothing."""
        out = []
        for offset, line_no in self._offsets.pop(doc_id, []):
            self._file.seek(offset)
            out.append((line_no, json.loads(self._file.readline())))
        return out

    def remaining(self) -> list[str]:
        """doc_ids never taken (records of documents that are not in the corpus)."""
        return sorted(self._offsets)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JsonlIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(slots=True)
class RemapCounts:
    """What carrying records over to the pseudonymised text did (counts only)."""

    records: int = 0
    spans_mapped: int = 0
    spans_replaced: int = 0
    conflicts: int = 0
    relations_dropped: int = 0
    attributes_dropped: int = 0
    texts_rewritten: int = 0
    orphans: int = 0  # records of documents that are not in the corpus (not written)

    def add(self, other: RemapCounts) -> None:
        for name in (
            "records",
            "spans_mapped",
            "spans_replaced",
            "conflicts",
            "relations_dropped",
            "attributes_dropped",
            "texts_rewritten",
            "orphans",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


#: Shorter originals are not replaced in free text (see :class:`TextRewriter`).
MIN_REWRITE_CHARS = 3


class TextRewriter:
    """Replace a document's originals in free text (generated sections, questions).

    Whole-word, exact matches, longest original first, in one pass: a summary that says
    ``Mme Dupont`` says ``Mme Martin`` once its document is pseudonymised. Originals with
    fewer than :data:`MIN_REWRITE_CHARS` letters or digits (initials such as ``L.``) are
    left alone: they would match ``mg/L.`` or ``E. coli``.

    >>> TextRewriter({"Dupont": "Martin", "12/03/2024": "2 mai 2024", "L.": "M."})(
    ...     "Mme Dupont, vue le 12/03/2024 (Dupontel), CRP 12 mg/L.")
    'Mme Martin, vue le 2 mai 2024 (Dupontel), CRP 12 mg/L.'
    """

    def __init__(self, pairs: dict[str, str]) -> None:
        self._pairs = {
            k: v
            for k, v in pairs.items()
            if sum(c.isalnum() for c in k) >= MIN_REWRITE_CHARS and k != v
        }
        keys = sorted(self._pairs, key=len, reverse=True)
        alternatives = "|".join(re.escape(k) for k in keys)
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if keys else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._pairs[m.group(0)], text)


def _rewrite_value(value: Any, rewrite: Callable[[str], str]) -> tuple[Any, int]:
    if isinstance(value, str):
        new = rewrite(value)
        return new, int(new != value)
    if isinstance(value, list):
        pairs = [_rewrite_value(v, rewrite) for v in value]
        return [p[0] for p in pairs], sum(p[1] for p in pairs)
    if isinstance(value, dict):
        items = {k: _rewrite_value(v, rewrite) for k, v in value.items()}
        return {k: p[0] for k, p in items.items()}, sum(p[1] for p in items.values())
    return value, 0


def remap_record(
    record: Record, offsets: OffsetMap, rewrite: Callable[[str], str] | None = None
) -> tuple[Record, RemapCounts]:
    """``record`` carried over to the pseudonymised text of its document.

    Spans move with ``offsets``; a span in conflict with a replacement is dropped and
    counted, and so are the relations and attributes that pointed at it (``from``/``to``
    and ``span`` are span indices, renumbered). ``rewrite`` replaces originals in sections
    and items (generated text that may quote the document).
    """
    counts = RemapCounts(records=1)
    new_index: dict[int, int] = {}
    spans: list[Span] = []
    for i, span in enumerate(record.spans):
        mapped = offsets.map_span(span)
        if mapped.span is None:
            counts.conflicts += 1
            continue
        counts.spans_replaced += mapped.status == "replaced"
        counts.spans_mapped += mapped.status == "mapped"
        new_index[i] = len(spans)
        spans.append(mapped.span)
    relations = []
    for relation in record.relations:
        ends = [relation.get(k) for k in ("from", "to") if isinstance(relation.get(k), int)]
        if any(e not in new_index for e in ends):
            counts.relations_dropped += 1
            continue
        moved = dict(relation)
        for k in ("from", "to"):
            if isinstance(relation.get(k), int):
                moved[k] = new_index[relation[k]]
        relations.append(moved)
    attributes = []
    for attribute in record.attributes:
        target = attribute.get("span")
        if isinstance(target, int):
            if target not in new_index:
                counts.attributes_dropped += 1
                continue
            attribute = {**attribute, "span": new_index[target]}
        attributes.append(attribute)
    sections, items = record.sections, record.items
    if rewrite is not None:
        sections, n_sections = _rewrite_value(record.sections, rewrite)
        items, n_items = _rewrite_value(record.items, rewrite)
        counts.texts_rewritten = n_sections + n_items
    out = replace(
        record,
        spans=spans,
        relations=relations,
        attributes=attributes,
        sections=sections,
        items=items,
    )
    return out, counts
