"""Stage ``validate``: Great Expectations suites on one stage's output of one use case.

``curation validate <stage> <use_case>`` validates, with the suites of
:mod:`curation.quality.suites`:

``documents``
    the use case's document table (raw for pseudonymisation, pseudonymised for the others,
    where residual identifiers outside the surrogates are searched too);
``preannotations``, ``annotations``, ``gold``
    result records: one row per record (document exists, use case, one record per document
    or annotation), per span (offsets, slice text, label set, scores, overlaps) or per
    document label, per relation and per span attribute value where the use case declares
    them (span indexes, declared types, label pairs, values; see
    :func:`declared_parameters`); gold adds provenance (rule, cited annotations exist,
    agreement above ``validate.use_cases.<id>.min_agreement``) and the label distribution
    bounds;
``benchmark``
    a released benchmark (``benchmarks/<use_case>/data/<split>.jsonl``): no patient in two
    splits, split sizes, and no residual identifiers in pseudonymised text.

Results go to ``reports/quality/<use_case>/<stage>.json`` (DVC metrics: counts and example
``doc_id``/offsets, never text) and GX Data Docs to ``reports/quality/<use_case>/data_docs/
<stage>/index.html``. A failed critical expectation raises :class:`ValidationFailed`, whose
message is the short summary the CLI prints before exiting non-zero, which stops ``dvc repro``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from curation import paths
from curation.io import InputError, file_sha256, iter_json_objects, write_json
from curation.quality import frames
from curation.quality.validation import Check, ValidationReport, run_checks
from curation.schema import DOC_TYPES
from curation.settings import Params
from curation.stages.preannotate import documents_path
from curation.usecases import get
from curation.usecases.base import UseCase

STAGES: tuple[str, ...] = ("documents", "preannotations", "annotations", "gold", "benchmark")
SPAN_INDEX = ("doc_id", "start", "end", "record")
RECORD_INDEX = ("doc_id", "record")
RELATION_INDEX = ("doc_id", "record", "relation")
ATTRIBUTE_INDEX = ("doc_id", "start", "end", "record", "span")


class ValidationFailed(RuntimeError):
    """A critical expectation failed; the message summarises which, how many, where."""


@dataclass(slots=True)
class Plan:
    """What a validation reads, the checks it runs and the suite parameters."""

    source: Path
    checks: list[Check]
    parameters: dict[str, Any]


def load_documents(use_case: UseCase, params: Params) -> tuple[pd.DataFrame, dict[str, str]]:
    """The use case's document table in the pipeline, and its texts by ``doc_id``."""
    return frames.load_documents(documents_path(use_case.id, params))


def _scope(use_case: UseCase) -> str:
    return "pseudonymised" if use_case.documents == "pseudonymised" else "raw"


def _replaced(use_case: UseCase, params: Params) -> dict[str, list[list[int]]]:
    if use_case.documents != "pseudonymised":
        return {}
    return frames.replaced_spans(params.pseudonymise.spans)


def _result_checks(
    loaded: frames.LoadedRecords, texts: Mapping[str, str], use_case: UseCase, stage: str
) -> list[Check]:
    """Checks of result records; a labels use case's evidence spans pass the spans suite, and
    one with roles has its principal label marked once (expert records: annotations, gold)."""
    checks = [Check("records", frames.records_frame(loaded, texts), RECORD_INDEX, stage=stage)]
    if use_case.kind == "spans" or any(r.spans for r in loaded.records):
        spans = frames.spans_frame(loaded, texts)
        checks.append(Check("spans", spans, SPAN_INDEX, stage=stage, kind=use_case.kind))
    if use_case.kind == "labels":
        checks.append(Check("labels", frames.labels_frame(loaded), RECORD_INDEX, stage=stage))
    if use_case.roles and stage in ("annotations", "gold"):
        principal = frames.principal_frame(loaded, use_case.roles)
        checks.append(Check("principal", principal, RECORD_INDEX, stage=stage))
    if use_case.relations or any(r.relations for r in loaded.records):
        relations = frames.relations_frame(loaded)
        checks.append(Check("relations", relations, RELATION_INDEX, stage=stage))
    if use_case.span_attributes:
        attributes = frames.attributes_frame(loaded)
        checks.append(Check("attributes", attributes, ATTRIBUTE_INDEX, stage=stage))
    return checks


def declared_parameters(use_case: UseCase) -> dict[str, Any]:
    """Suite parameters of the ``relations`` and ``attributes`` suites, from the declaration.

    ``relation_ends`` maps a type to its ``"FROM -> TO"`` label pairs; ``attribute_values``
    an attribute to its values (``[true, false]`` for a flag); ``attribute_labels`` an
    attribute restricted to some span labels to those labels.
    """
    ends: dict[str, list[str]] = {}
    for kind, first, second in use_case.relation_ends:
        ends.setdefault(kind, []).append(f"{first} -> {second}")
    attributes = use_case.span_attributes
    return {
        "relation_types": list(use_case.relations),
        "relation_ends": ends,
        "attribute_keys": [a.name for a in attributes],
        "attribute_values": {a.name: a.allowed() for a in attributes},
        "attribute_labels": {a.name: list(a.labels) for a in attributes if a.labels},
    }


def plan(stage: str, use_case: UseCase, params: Params, source: Path | None = None) -> Plan:
    """The checks of ``stage`` for ``use_case`` (``source`` overrides the file validated)."""
    quality = params.validate_.for_use_case(use_case.id)
    parameters: dict[str, Any] = {
        "labels": list(use_case.labels),
        "vocabulary": use_case.vocabulary or "",
        "use_cases": [use_case.id],
        "doc_types": sorted(DOC_TYPES),
        "sites": list(params.validate_.sites),
        "max_chars": params.ingest.max_chars,
        "min_agreement": quality.min_agreement,
        "label_bounds": {k: list(v) for k, v in quality.label_bounds.items()},
        "split_bounds": {k: list(v) for k, v in params.validate_.split_bounds.items()},
    } | declared_parameters(use_case)
    scope = _scope(use_case)
    if stage == "documents":
        table = source or documents_path(use_case.id, params)
        if not table.exists():
            raise InputError(f"{table}: no such file; run `dvc repro` up to the stage writing it")
        frame = frames.documents_frame(frames.read_documents(table), _replaced(use_case, params))
        return Plan(table, [Check("documents", frame, ("doc_id",), scope)], parameters)
    if stage == "benchmark":
        folder = source or paths.benchmark_dir(use_case.id) / "data"
        documents, _ = load_documents(use_case, params)
        frame = frames.benchmark_frame(_splits(folder), documents, _replaced(use_case, params))
        return Plan(folder, [Check("benchmark", frame, ("doc_id",), scope)], parameters)
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    default = {
        "preannotations": paths.preannotations,
        "annotations": paths.annotations,
        "gold": paths.gold,
    }[stage](use_case.id)
    path = source or default
    _, texts = load_documents(use_case, params)
    loaded = frames.load_records(path, annotations=stage == "annotations")
    checks = _result_checks(loaded, texts, use_case, stage)
    if stage == "gold":
        keys = _annotation_keys(paths.annotations(use_case.id))
        checks.insert(0, Check("gold", frames.gold_frame(loaded, keys), RECORD_INDEX))
        checks.append(Check("gold_labels", frames.gold_labels_frame(loaded), RECORD_INDEX))
        if not quality.label_bounds:
            checks.pop()
    return Plan(path, checks, parameters)


def _annotation_keys(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {key for _, _, key in frames.load_records(path, annotations=True)}


def _splits(folder: Path) -> dict[str, list[str]]:
    """``split -> doc_ids`` from ``<folder>/<split>.jsonl`` files."""
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise InputError(f"{folder}: no <split>.jsonl file; release the benchmark first")
    splits: dict[str, list[str]] = {}
    for file in files:
        splits[file.stem] = [str(data["doc_id"]) for _, data in iter_json_objects(file)]
    return splits


def run(
    stage: str,
    use_case_id: str,
    params: Params,
    *,
    source: Path | None = None,
    output: Path | None = None,
    data_docs: Path | None = None,
    source_name: str | None = None,
) -> ValidationReport:
    """Validate, write the results (and Data Docs); raise :class:`ValidationFailed` if critical.

    ``source_name`` is how results name the source when it is a staged copy of the files
    they stand for (a release validates its splits before they replace the released ones).
    """
    use_case = get(use_case_id)
    planned = plan(stage, use_case, params, source)
    folder = paths.quality_dir(use_case_id)
    docs = data_docs or (folder / "data_docs" / stage if params.validate_.data_docs else None)
    report = run_checks(
        planned.checks,
        planned.parameters,
        data_docs=docs,
        examples=params.validate_.examples,
        name=f"{use_case_id}:{stage}",
    )
    report.source = source_name or str(planned.source)
    results = {"use_case": use_case_id, "stage": stage, "source": report.source}
    if planned.source.is_file():  # what was validated: a gate holds only for these bytes
        results["source_sha256"] = file_sha256(planned.source)
    results |= report.to_dict()
    write_json(output or folder / f"{stage}.json", results)
    if not report.success:
        raise ValidationFailed(summary(stage, use_case_id, report))
    return report


def summary(stage: str, use_case_id: str, report: ValidationReport) -> str:
    """What a steward reads in the terminal: verdict, failures with examples, where to look."""
    failed = report.failed
    verdict = "passed" if report.success else "FAILED"
    lines = [
        f"validate {stage} {use_case_id}: {verdict} — {len(report.outcomes)} expectations on "
        f"{report.source} ({', '.join(f'{n:,} {k} rows' for k, n in report.rows.items())}); "
        f"{len(report.critical_failures)} critical and "
        f"{len(failed) - len(report.critical_failures)} warning failures"
    ]
    lines += [f"  [{o.severity}] {o.describe()}" for o in failed]
    if report.data_docs:
        lines.append(f"  Data Docs: {report.data_docs}")
    return "\n".join(lines)
