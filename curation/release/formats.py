"""Write a benchmark split in the formats evaluators use: JSONL, Parquet, BRAT and CoNLL.

Every writer checks its input first and names the ``doc_id`` of a bad record, never its
text: a record needs its document's text, a span must lie in it and quote it
(``text[start:end]``), a ``doc_id`` comes once, and no key that looks like a surrogate
mapping (naming a mapping, surrogate, replacement or original) may be released.

* JSONL: the record shape of DESIGN.md plus ``text`` and the extra fields (provenance kept).
* Parquet: one row per document, typed columns that pandas and Hugging Face ``datasets``
  load as they are: ``spans`` a list of structs, ``labels`` a list of strings;
  ``relations``, ``attributes``, ``sections`` and ``items`` JSON strings, because their
  keys vary by use case and ``datasets`` has no map type. Provenance stays in the JSONL.
* BRAT and CoNLL (span use cases only). A BRAT annotation's text cannot hold a line break,
  so a span across lines is written as fragments (``start end;start2 end2``) that
  :func:`read_brat` joins back. CoNLL uses the tokens of :func:`curation.quality.noise.tokenize`
  (the platform's token model) and BIO tags; a token partly inside a span gets its tag.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curation.io import atomic_writer
from curation.quality.noise import tokenize
from curation.schema import Record, Span

#: Result fields of a record, in column order.
RESULT_FIELDS = ("spans", "labels", "relations", "attributes", "sections", "items")
#: Key fragments that mark a surrogate mapping, which is never released.
SECRET_KEYS = ("mapping", "surrogate", "replacement", "original")
#: Line breaks (those of ``str.splitlines``): a BRAT fragment never holds one.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
BRAT_FRAGMENT = re.compile(f"[^{LINE_BREAKS}]+")
#: Tokens that end a sentence when a space follows, and abbreviations whose dot does not.
SENTENCE_END = frozenset(".!?…")
ABBREVIATIONS = frozenset({"Dr", "Pr", "M", "Mme", "Mlle", "Mr", "Me", "cf", "St", "Ste"})
SPAN_TYPE = pa.struct(
    [("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("text", pa.string())]
)
Records = Sequence[Record]
Texts = Mapping[str, str]
Extra = Mapping[str, Mapping[str, Any]]
Sentence = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class _Doc:
    """A checked record with its text and its extra fields."""

    record: Record
    text: str
    extra: Mapping[str, Any]


def write_jsonl(records: Records, texts: Texts, path: Path, extra: Extra | None = None) -> None:
    """One JSON object per document: the record, its ``text``, then its extra fields.

    Parameters
    ----------
    records
        One gold record per document of the split.
    texts
        Document text by ``doc_id`` (the exact text the offsets refer to).
    path
        The file, written atomically; it reads back with :func:`curation.io.read_records`.
    extra
        Fields per ``doc_id`` such as ``patient_id`` or ``doc_type``; may cover more
        documents than ``records`` (the others are ignored).

    Raises
    ------
    ValueError
        A duplicate ``doc_id``, a record without text, a span that does not quote its text,
        an extra field named like a record field, or a surrogate mapping (names the doc_id).
    """
    docs = _documents(records, texts, extra)
    with atomic_writer(path) as handle:
        for doc in docs:
            data = doc.record.to_dict()
            head = {key: data.pop(key) for key in ("doc_id", "use_case", "origin")}
            line = {**head, "text": doc.text, **data, **doc.extra}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def write_parquet(
    records: Records,
    texts: Texts,
    path: Path,
    extra: Extra | None = None,
    *,
    fields: Sequence[str] | None = None,
) -> None:
    """One row per document: ``doc_id``, ``text``, the result columns, the extra columns.

    Parameters
    ----------
    records, texts, path, extra
        As for :func:`write_jsonl`; extra columns are typed by pyarrow from their values
        (null where a document has none).
    fields
        The result columns, from :data:`RESULT_FIELDS`; by default, those any record uses.
        Give the same to every split of a benchmark, so that all share one schema.
    """
    docs = _documents(records, texts, extra)
    chosen = list(fields) if fields is not None else _used_fields(docs)
    unknown = sorted(set(chosen) - set(RESULT_FIELDS))
    if unknown:
        raise ValueError(f"unknown result fields {unknown}; choose among {list(RESULT_FIELDS)}")
    columns: dict[str, pa.Array] = {
        "doc_id": pa.array([d.record.doc_id for d in docs], pa.string()),
        "text": pa.array([d.text for d in docs], pa.string()),
    }
    for name in chosen:
        columns[name] = _result_column(name, [d.record for d in docs])
    for name in dict.fromkeys(key for d in docs for key in d.extra):
        try:
            columns[name] = pa.array([d.extra.get(name) for d in docs])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise ValueError(f"extra column {name!r} mixes value types; give one type") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        pq.write_table(pa.table(columns), partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


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


def write_conll(records: Records, texts: Texts, path: Path) -> None:
    """``token<TAB>tag`` lines of a span use case (see :func:`conll_sentences`).

    Each document starts with ``-DOCSTART- <doc_id>`` and a blank line; a blank line ends
    each sentence. Tokens are cut at span boundaries (``75013Paris`` with two spans gives
    two tokens). Checks as for :func:`write_jsonl`, and overlapping spans are errors naming
    the doc_id (BIO tags cannot hold them).
    """
    docs = _documents(records, texts, None)
    with atomic_writer(path) as handle:
        for doc in docs:
            _require_spans(doc.record, "CoNLL")
            handle.write(f"-DOCSTART- {_file_name(doc.record.doc_id)}\n\n")
            for sentence in conll_sentences(doc.text, doc.record.spans, doc.record.doc_id):
                handle.writelines(f"{token}\t{tag}\n" for token, tag in sentence)
                handle.write("\n")


def conll_sentences(text: str, spans: Sequence[Span], doc_id: str) -> list[Sentence]:
    """``(token, BIO tag)`` sentences: a sentence ends at a line break, or after ``.``,
    ``!``, ``?`` or ``…`` and a space (not after ``Dr.``, ``Mme.``...), never inside a span.

    Examples
    --------
    >>> text = "Vu par Dr. Jean Dupont.\\nSortie le 12/03."
    >>> spans = [Span(11, 22, "NOM", "Jean Dupont"), Span(34, 39, "DATE", "12/03")]
    >>> first, second = conll_sentences(text, spans, "crh-1")
    >>> first[3:]
    [('.', 'O'), ('Jean', 'B-NOM'), ('Dupont', 'I-NOM'), ('.', 'O')]
    >>> [tag for _, tag in second]
    ['O', 'O', 'B-DATE', 'I-DATE', 'I-DATE', 'O']
    """
    offsets = split_at_spans(tokenize(text), spans)
    owner = _token_owners(offsets, spans, doc_id)
    sentences: list[Sentence] = [[]]
    for i, (start, end) in enumerate(offsets):
        span = owner[i]
        continues = i > 0 and span is not None and owner[i - 1] == span
        if i > 0 and not continues and sentences[-1] and _ends_sentence(text, offsets, i):
            sentences.append([])
        tag = "O" if span is None else f"{'I' if continues else 'B'}-{spans[span].label}"
        sentences[-1].append((text[start:end], tag))
    return [s for s in sentences if s]


# --- checks ----------------------------------------------------------------------------------


def _documents(records: Records, texts: Texts, extra: Extra | None) -> list[_Doc]:
    """The records, checked, with their text and extra fields."""
    seen: set[str] = set()
    out = []
    reserved = {"doc_id", "use_case", "origin", "text", "provenance", *RESULT_FIELDS}
    for record in records:
        doc_id = record.doc_id
        if doc_id in seen:
            raise ValueError(f"doc_id {doc_id} has two records; give one record per document")
        seen.add(doc_id)
        if doc_id not in texts:
            raise ValueError(f"doc_id {doc_id}: no text for it; pass the text of every record")
        for span in record.spans:
            _check_span(doc_id, span, texts[doc_id])
        _check_released(doc_id, "provenance", record.provenance)
        fields = dict((extra or {}).get(doc_id, {}))
        clash = sorted(reserved & set(fields))
        if clash:
            raise ValueError(f"doc_id {doc_id}: extra fields {clash} would replace record fields")
        _check_released(doc_id, "extra", fields)
        out.append(_Doc(record, texts[doc_id], fields))
    return out


def _check_span(doc_id: str, span: Span, text: str) -> None:
    """A span must be non-empty, inside the text, and quote it."""
    where = f"doc_id {doc_id}: span {span.start}-{span.end} ({span.label})"
    if not 0 <= span.start < span.end <= len(text):
        raise ValueError(f"{where} is empty or outside the text ({len(text)} characters)")
    if text[span.start : span.end] != span.text:
        raise ValueError(f"{where}: its text differs from the document at these offsets")


def _check_released(doc_id: str, where: str, value: Any) -> None:
    """Refuse anything that looks like a surrogate mapping (a secret, never released)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if any(secret in str(key).lower() for secret in SECRET_KEYS):
                raise ValueError(
                    f"doc_id {doc_id}: {where} holds {key!r}, which looks like a surrogate "
                    "mapping; mappings are secret and never released, remove it"
                )
            _check_released(doc_id, f"{where}.{key}", inner)
    elif isinstance(value, list):
        for inner in value:
            _check_released(doc_id, where, inner)


def _require_spans(record: Record, fmt: str) -> None:
    for name in ("labels", "sections", "items"):
        if getattr(record, name):
            raise ValueError(
                f"doc_id {record.doc_id}: {fmt} holds span use cases only, this record has "
                f"{name}; export it as JSONL or Parquet"
            )


def _file_name(doc_id: str) -> str:
    """``doc_id`` as a file name (BRAT) or a one-word header (CoNLL)."""
    if not doc_id or doc_id.startswith(".") or any(c in "/\\" or c.isspace() for c in doc_id):
        raise ValueError(f"doc_id {doc_id!r} cannot be a file name (path sign, space or dot)")
    return doc_id


# --- Parquet and BRAT ------------------------------------------------------------------------


def _used_fields(docs: Sequence[_Doc]) -> list[str]:
    return [name for name in RESULT_FIELDS if any(getattr(d.record, name) for d in docs)]


def _result_column(name: str, records: Records) -> pa.Array:
    if name == "spans":
        keys = ("start", "end", "label", "text")
        rows = [[{k: getattr(s, k) for k in keys} for s in r.spans] for r in records]
        return pa.array(rows, pa.list_(SPAN_TYPE))
    if name == "labels":
        return pa.array([list(r.labels) for r in records], pa.list_(pa.string()))
    return pa.array([json.dumps(getattr(r, name), ensure_ascii=False) for r in records])


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


# --- CoNLL -----------------------------------------------------------------------------------


def split_at_spans(
    offsets: Sequence[tuple[int, int]], spans: Sequence[Span]
) -> list[tuple[int, int]]:
    """Tokens cut where a span starts or ends inside them, so each span covers whole tokens.

    >>> split_at_spans([(0, 10)], [Span(0, 5, "ZIP", "75013"), Span(5, 10, "VILLE", "Paris")])
    [(0, 5), (5, 10)]
    """
    cuts = sorted({s.start for s in spans} | {s.end for s in spans})
    out: list[tuple[int, int]] = []
    for start, end in offsets:
        inner = cuts[bisect_right(cuts, start) : bisect_left(cuts, end)]
        bounds = [start, *inner, end]
        out += list(zip(bounds, bounds[1:], strict=False))
    return out


def _token_owners(
    offsets: Sequence[tuple[int, int]], spans: Sequence[Span], doc_id: str
) -> list[int | None]:
    """Index of the span each token falls in (partly is enough), or ``None``."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i].start, spans[i].end))
    for a, b in zip(order, order[1:], strict=False):
        if spans[b].start < spans[a].end:
            raise ValueError(
                f"doc_id {doc_id}: spans {spans[a].start}-{spans[a].end} and "
                f"{spans[b].start}-{spans[b].end} overlap; BIO tags cannot hold both"
            )
    owner: list[int | None] = [None] * len(offsets)
    starts, ends = [s for s, _ in offsets], [e for _, e in offsets]
    for i in order:  # tokens ending after the span's start and starting before its end
        inside = range(bisect_right(ends, spans[i].start), bisect_left(starts, spans[i].end))
        if not inside or any(owner[t] is not None for t in inside):
            raise ValueError(
                f"doc_id {doc_id}: span {spans[i].start}-{spans[i].end} has no token of its "
                "own (it shares one with another span, or holds none); BIO tags cannot hold it"
            )
        for t in inside:
            owner[t] = i
    return owner


def _ends_sentence(text: str, offsets: Sequence[tuple[int, int]], i: int) -> bool:
    """Whether a sentence ends between token ``i - 1`` and token ``i``."""
    gap = text[offsets[i - 1][1] : offsets[i][0]]
    if any(c in LINE_BREAKS for c in gap):
        return True
    previous = text[offsets[i - 1][0] : offsets[i - 1][1]]
    if previous not in SENTENCE_END or not gap:
        return False
    if i >= 2 and offsets[i - 2][1] == offsets[i - 1][0]:  # "Dr." but not "Dr ."
        return text[offsets[i - 2][0] : offsets[i - 2][1]] not in ABBREVIATIONS
    return True
