"""BRAT standoff files of a span use case: ``<doc_id>.txt`` and ``<doc_id>.ann``.

A BRAT annotation's text cannot hold a line break, so a span across lines is written as
fragments (``start end;start2 end2``) that :func:`read_brat` joins back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curation.io import atomic_writer
from curation.release.checks import (
    LINE_BREAKS,
    Records,
    Texts,
    _documents,
    _file_name,
    _require_spans,
)
from curation.schema import Record, Span

BRAT_FRAGMENT = re.compile(f"[^{LINE_BREAKS}]+")


def write_brat(records: Records, texts: Texts, folder: Path) -> None:
    """``<doc_id>.txt`` (the exact text) and ``<doc_id>.ann`` per document of a span use case.

    T lines hold the spans, R lines the relations (``{"from": i, "to": j, "type": ...}``,
    span indices; ``label`` is read when ``type`` is absent) and A lines the span attributes
    (``{"span": i, name: value}``): ``True`` as a binary attribute, ``False`` or ``None``
    as no line. Checks as for :func:`write_jsonl`; a record with document labels, sections
    or items, a label with a space, a span that starts or ends with a line break, or a
    relation to a missing span is an error.
    """
    files = []  # every document is checked before any file is written
    for doc in _documents(records, texts, None):
        _require_spans(doc.record, "BRAT")
        files.append((_file_name(doc.record.doc_id), doc.text, list(_ann_lines(doc.record))))
    for name, text, lines in files:
        with atomic_writer(folder / f"{name}.txt") as handle:
            handle.write(text)
        with atomic_writer(folder / f"{name}.ann") as handle:
            handle.writelines(line + "\n" for line in lines)


def read_brat(folder: Path, use_case: str, origin: str = "brat") -> list[Record]:
    """Records of the ``.ann``/``.txt`` pairs of ``folder``, sorted by ``doc_id``.

    The fragments of an annotation become one span from the first start to the last end;
    the gaps between them may hold white space only (as :func:`write_brat` writes them).
    """
    out = []
    for ann in sorted(folder.glob("*.ann")):
        with ann.with_suffix(".txt").open(encoding="utf-8", newline="") as handle:
            text = handle.read()
        record = Record(doc_id=ann.stem, use_case=use_case, origin=origin)
        index: dict[str, int] = {}
        attributes: dict[int, dict[str, Any]] = {}
        for number, line in enumerate(ann.read_text(encoding="utf-8").splitlines(), 1):
            try:
                _read_ann_line(line, text, record, index, attributes)
            except (ValueError, KeyError, IndexError) as exc:
                raise ValueError(f"{ann}:{number}: not a BRAT line I can read ({exc})") from None
        record.attributes = list(attributes.values())
        out.append(record)
    return out


def _ann_lines(record: Record) -> Iterator[str]:
    """T lines (fragments split at line breaks), then R lines, then A lines."""
    for i, span in enumerate(record.spans):
        where = f"doc_id {record.doc_id}: span {span.start}-{span.end}"
        if span.text[0] in LINE_BREAKS or span.text[-1] in LINE_BREAKS:
            raise ValueError(f"{where} starts or ends with a line break; trim it for BRAT")
        parts = [(span.start + m.start(), m.group()) for m in BRAT_FRAGMENT.finditer(span.text)]
        fragments = ";".join(f"{start} {start + len(part)}" for start, part in parts)
        quoted = " ".join(part for _, part in parts)
        yield f"T{i + 1}\t{_word(span.label, where)} {fragments}\t{quoted}"
    for n, relation in enumerate(record.relations, 1):
        where = f"doc_id {record.doc_id}: relation {n}"
        kind = _word(relation.get("type") or relation.get("label"), where)
        ends = [_span_ref(record, relation.get(k), where) for k in ("from", "to")]
        yield f"R{n}\t{kind} Arg1:{ends[0]} Arg2:{ends[1]}"
    n = 0
    for attribute in record.attributes:
        for key, value in attribute.items():
            if key == "span" or value is None or value is False:
                continue
            n, where = n + 1, f"doc_id {record.doc_id}: attribute {key}"
            target = _span_ref(record, attribute.get("span"), where)
            suffix = "" if value is True else f" {_word(value, where)}"
            yield f"A{n}\t{_word(key, where)} {target}{suffix}"


def _word(value: Any, where: str) -> str:
    """A BRAT type, argument or value: one word."""
    word = "" if value is None else str(value)
    if not word or any(c.isspace() for c in word):
        raise ValueError(f"{where}: BRAT needs a one-word type or value, got {word!r}")
    return word


def _span_ref(record: Record, index: Any, where: str) -> str:
    if not isinstance(index, int) or not 0 <= index < len(record.spans):
        raise ValueError(f"{where} points at span {index!r}, not one of its spans")
    return f"T{index + 1}"


def _read_ann_line(
    line: str, text: str, record: Record, index: dict[str, int], attributes: dict[int, Any]
) -> None:
    """Add one ``.ann`` line's span, relation or attribute to ``record``."""
    if not line.strip() or line.startswith("#"):
        return
    ident, body = line.split("\t")[:2]
    words = body.split(" ")
    if ident.startswith("T"):
        fragments = [tuple(map(int, part.split())) for part in " ".join(words[1:]).split(";")]
        start, end = fragments[0][0], fragments[-1][1]
        for (_, gap_start), (gap_end, _) in zip(fragments, fragments[1:], strict=False):
            if text[gap_start:gap_end].strip():
                raise ValueError("fragments with text between them")
        index[ident] = len(record.spans)
        record.spans.append(Span(start, end, words[0], text[start:end]))
    elif ident.startswith("R"):
        ends = [index[w.split(":", 1)[1]] for w in words[1:3]]
        record.relations.append({"from": ends[0], "to": ends[1], "type": words[0]})
    elif ident.startswith("A"):
        target = index[words[1]]
        value: Any = words[2] if len(words) > 2 else True
        attributes.setdefault(target, {"span": target})[words[0]] = value
    else:
        raise ValueError(f"line type {ident[:1]!r}")
