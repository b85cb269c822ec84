"""``pseudonymise``: replace every detected identifier by a surrogate, consistent per patient.

Reads the Document table and the pseudonymisation predictions (one record per document);
writes the pseudonymised Document table (same ids and metadata, new ``text`` and ``sha256``,
``created_at`` moved by the patient's date offset), the surrogate spans at their new offsets
(``spans.jsonl``, the record format), the configured record files carried over to the new
text (answer keys, annotations: spans that conflict with a replacement are dropped and
counted) and, apart, the secret mapping ``original -> surrogate``.

A document without a prediction record is refused by default (``on_missing_prediction:
error``): passing it through would publish its identifiers as if pseudonymised. With
``pass_through`` it is copied unchanged, counted, and gets no line in ``spans.jsonl``.
Outputs are written beside their targets and moved in place at the end: a failed run leaves
the previous outputs as they were. Logs and summaries hold counts and doc_ids only, never
text, originals or surrogates.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curation.io import iter_json_objects, record_from_dict
from curation.progress import progress_bar
from curation.schema import DOCUMENT_FIELDS, DOCUMENT_SCHEMA, Record, Span, text_sha256
from curation.settings import PseudonymiseSettings
from curation.surrogates import (
    JsonlIndex,
    PseudonymisedText,
    Pseudonymiser,
    RemapCounts,
    SurrogateConfig,
    remap_record,
    resolve_key,
)
from curation.surrogates.session import (
    AtomicOutputs,
    PseudonymiseError,
    PseudonymiseSummary,
    Session,
)
from curation.usecases.pseudonymisation import USE_CASE

__all__ = [
    "Detector",
    "PseudonymiseError",
    "PseudonymiseSettings",
    "PseudonymiseSummary",
    "pseudonymise_file",
    "run",
]

logger = logging.getLogger(__name__)

#: A detector for the file mode: texts in, spans per text out (offsets into each text).
Detector = Callable[[list[str]], list[list[Span]]]


def _surrogate_config(settings: PseudonymiseSettings) -> SurrogateConfig:
    return SurrogateConfig(
        keep_gender=settings.keep_gender,
        keep_zip_department=settings.keep_zip_department,
        date_shift_min_days=settings.date_shift_min_days,
        date_shift_max_days=settings.date_shift_max_days,
    )


def _secret_key(settings: PseudonymiseSettings) -> bytes:
    """The key (environment, then key file, then params); never printed."""
    key = settings.key.get_secret_value() if settings.key is not None else None
    return resolve_key(env=settings.key_env, key_file=settings.key_file, key=key)


def _session(settings: PseudonymiseSettings, summary: PseudonymiseSummary) -> Session:
    return Session(
        Pseudonymiser(_secret_key(settings), _surrogate_config(settings)),
        summary,
        on_missing_prediction=settings.on_missing_prediction,
        shift_created_at=settings.shift_created_at,
        rewrite_generated_text=settings.rewrite_generated_text,
    )


def run(settings: PseudonymiseSettings, *, progress: bool = True) -> PseudonymiseSummary:
    """Pseudonymise ``settings.documents`` with the spans of ``settings.predictions``.

    Parameters
    ----------
    settings
        The ``pseudonymise`` section of ``params.yaml``.
    progress
        Show a progress bar (on a terminal only).

    Raises
    ------
    PseudonymiseError
        An input is missing, a document has no prediction (unless ``pass_through``) or a
        prediction is not a pseudonymisation record. No output is changed then.
    KeyConfigError
        No usable key.
    SpanError, RecordFileError
        A span or a record line does not fit (file, line, doc_id and offsets named).
    """
    started = time.perf_counter()
    summary = PseudonymiseSummary(settings.output, settings.spans, settings.mapping)
    work = _session(settings, summary)  # resolves the key: fails before reading anything
    documents = Path(settings.documents)
    if not documents.is_file():
        raise PseudonymiseError(f"{documents}: documents not found; run ingest first")
    parquet = pq.ParquetFile(documents)
    missing = set(DOCUMENT_FIELDS) - set(parquet.schema_arrow.names)
    if missing:
        raise PseudonymiseError(f"{documents}: not a Document table, missing {sorted(missing)}")
    reoffset_out = Path(settings.reoffset_dir)
    with ExitStack() as stack:
        predictions = stack.enter_context(JsonlIndex(settings.predictions, unique=True))
        others = [stack.enter_context(JsonlIndex(p)) for p in settings.reoffset]
        outputs = AtomicOutputs(stack)
        writer = stack.enter_context(
            pq.ParquetWriter(
                outputs.temporary(settings.output), DOCUMENT_SCHEMA, compression="zstd"
            )
        )
        spans_file = outputs.text(settings.spans)
        mapping_file = outputs.text(settings.mapping, secret=True)
        other_files = [outputs.text(reoffset_out / idx.path.name) for idx in others]
        for index in others:
            summary.reoffset[str(index.path)] = RemapCounts()
        rows = _rows(parquet, settings.batch_size)
        total = parquet.metadata.num_rows
        batch: list[dict[str, Any]] = []
        for row in progress_bar(rows, total=total, desc="pseudonymise", enabled=progress):
            doc_id = str(row["doc_id"])
            found = predictions.take(doc_id)
            out: PseudonymisedText | None = None
            if not found:
                work.passed_through(doc_id, settings.predictions)
            else:
                if not isinstance(row["text"], str):
                    raise PseudonymiseError(f"{documents}: doc_id {doc_id!r} has no text")
                record = work.prediction_spans(found, predictions.path)
                out = work.document(doc_id, row["text"], row["patient_id"], record.spans)
                row = {**row, "text": out.text, "sha256": text_sha256(out.text)}
                spans_file.write(_record_line(doc_id, record.origin, out.spans))
                for r in out.replacements:
                    mapping_file.write(json.dumps(r.to_mapping(doc_id), ensure_ascii=False) + "\n")
                row["created_at"] = work.created_at(row["created_at"], doc_id, row["patient_id"])
            for index, handle in zip(others, other_files, strict=True):
                for moved in work.remap(index.take(doc_id), out, index.path):
                    handle.write(moved.to_json() + "\n")
            batch.append(row)
            if len(batch) >= settings.batch_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=DOCUMENT_SCHEMA))
                batch.clear()
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=DOCUMENT_SCHEMA))
        writer.close()
        summary.orphan_predictions = len(predictions.remaining())
        for index in others:
            summary.reoffset[str(index.path)].orphans = len(index.remaining())
        outputs.publish()
    summary.seconds = time.perf_counter() - started
    logger.info(
        "pseudonymise: %d documents, %d spans replaced, %d unparsable dates, %d passed through",
        summary.documents,
        sum(summary.spans_replaced.values()),
        summary.unparsable_dates,
        summary.passed_through,
    )
    return summary


def _rows(parquet: pq.ParquetFile, batch_size: int) -> Iterator[dict[str, Any]]:
    for batch in parquet.iter_batches(batch_size=batch_size, columns=list(DOCUMENT_FIELDS)):
        yield from batch.to_pylist()


def _record_line(doc_id: str, origin: str, spans: list[Span]) -> str:
    return Record(doc_id, USE_CASE.id, origin, spans=spans).to_json() + "\n"


def pseudonymise_file(
    input_jsonl: str | Path,
    output_jsonl: str | Path,
    mapping_jsonl: str | Path,
    predictions_jsonl: str | Path | None,
    settings: PseudonymiseSettings,
    *,
    detect: Detector | None = None,
    spans_jsonl: str | Path | None = None,
    progress: bool = False,
) -> PseudonymiseSummary:
    """Pseudonymise a JSONL file of documents (``curation pseudonymise --input ...``).

    Each input line holds at least ``doc_id`` and ``text``, and optionally ``patient_id``
    (without it the document is its own patient). Each output line is the input object with
    the new ``text``; ``sha256`` and ``created_at`` are updated when present, and a ``spans``
    list (offsets into the old text) is carried over, conflicts dropped and counted.

    Parameters
    ----------
    input_jsonl, output_jsonl
        Documents in, pseudonymised documents out.
    mapping_jsonl
        The secret mapping (original -> surrogate); must not be the output.
    predictions_jsonl
        Pseudonymisation records of the documents, or ``None`` to call ``detect``.
    settings
        Key, date shift and the other tunables (the paths in it are not used).
    detect
        ``detect(texts) -> spans per text``, called by batches of ``settings.batch_size``
        when there is no predictions file.
    spans_jsonl
        Where to write the surrogate spans as pseudonymisation records (optional).
    progress
        Show a progress bar.
    """
    input_path, output_path = Path(input_jsonl), Path(output_jsonl)
    mapping_path = Path(mapping_jsonl)
    if mapping_path.resolve() in (output_path.resolve(), input_path.resolve()):
        raise PseudonymiseError(f"{mapping_path}: the secret mapping needs a file of its own")
    if predictions_jsonl is None and detect is None:
        raise PseudonymiseError("give a predictions file or a detector")
    if not input_path.is_file():
        raise PseudonymiseError(f"{input_path}: file not found")
    summary = PseudonymiseSummary(str(output_path), str(spans_jsonl or ""), str(mapping_path))
    started = time.perf_counter()
    work = _session(settings, summary)
    with ExitStack() as stack:
        predictions = (
            stack.enter_context(JsonlIndex(predictions_jsonl, unique=True))
            if predictions_jsonl is not None
            else None
        )
        outputs = AtomicOutputs(stack)
        out_file = outputs.text(output_path)
        mapping_file = outputs.text(mapping_path, secret=True)
        spans_file = outputs.text(spans_jsonl) if spans_jsonl is not None else None
        lines = progress_bar(iter_json_objects(input_path), desc="pseudonymise", enabled=progress)
        for chunk in _chunks(lines, settings.batch_size):
            found = _spans_for(chunk, input_path, predictions, detect, work)
            for (line_no, data), item in zip(chunk, found, strict=True):
                doc_id = str(data["doc_id"])
                if item is None:
                    work.passed_through(doc_id, str(predictions_jsonl))
                    out_file.write(json.dumps(data, ensure_ascii=False) + "\n")
                    continue
                origin, spans = item
                patient_id = data.get("patient_id")
                patient = str(patient_id) if patient_id is not None else None
                out = work.document(doc_id, data["text"], patient, spans)
                new = _pseudonymised_line(data, out, work, f"{input_path}:{line_no}")
                out_file.write(json.dumps(new, ensure_ascii=False) + "\n")
                for r in out.replacements:
                    mapping_file.write(json.dumps(r.to_mapping(doc_id), ensure_ascii=False) + "\n")
                if spans_file is not None:
                    spans_file.write(_record_line(doc_id, origin, out.spans))
        if predictions is not None:
            summary.orphan_predictions = len(predictions.remaining())
        outputs.publish()
    summary.seconds = time.perf_counter() - started
    return summary


def _chunks(
    items: Iterable[tuple[int, dict[str, Any]]], size: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    chunk: list[tuple[int, dict[str, Any]]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _spans_for(
    chunk: Sequence[tuple[int, dict[str, Any]]],
    path: Path,
    predictions: JsonlIndex | None,
    detect: Detector | None,
    work: Session,
) -> list[tuple[str, list[Span]] | None]:
    """(origin, spans) of each line of ``chunk``; ``None`` for a line without prediction."""
    for line_no, data in chunk:
        if "doc_id" not in data or not isinstance(data.get("text"), str):
            raise PseudonymiseError(f"{path}:{line_no}: a line needs doc_id and text")
    if predictions is not None:
        out: list[tuple[str, list[Span]] | None] = []
        for _, data in chunk:
            found = predictions.take(str(data["doc_id"]))
            if not found:
                out.append(None)
                continue
            record = work.prediction_spans(found, predictions.path)
            out.append((record.origin, record.spans))
        return out
    assert detect is not None
    detected = detect([data["text"] for _, data in chunk])
    if len(detected) != len(chunk):
        raise PseudonymiseError(
            f"{path}: the detector gave {len(detected)} results for {len(chunk)} texts"
        )
    origin = getattr(detect, "origin", None) or getattr(detect, "__name__", "detector")
    return [(str(origin), list(spans)) for spans in detected]


def _pseudonymised_line(
    data: dict[str, Any], out: PseudonymisedText, work: Session, where: str
) -> dict[str, Any]:
    new = {**data, "text": out.text}
    doc_id = str(data["doc_id"])
    if "sha256" in new:
        new["sha256"] = text_sha256(out.text)
    if isinstance(new.get("created_at"), str):
        patient = data.get("patient_id")
        new["created_at"] = work.created_at(
            new["created_at"], doc_id, str(patient) if patient is not None else None
        )
    if isinstance(data.get("spans"), list):
        record = record_from_dict({"doc_id": doc_id, "use_case": "", **data}, where)
        counts = work.summary.reoffset.setdefault(f"{where.rsplit(':', 1)[0]}:spans", RemapCounts())
        moved, c = remap_record(record, out.offsets)
        counts.add(c)
        new["spans"] = [s.to_dict() for s in moved.spans]
    return new
