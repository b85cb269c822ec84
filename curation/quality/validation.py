"""Run expectation suites through GX checkpoints; summarise results without document text.

A :class:`Check` is a suite (a JSON file of :mod:`curation.quality.suites`) and the table it
validates. :func:`run_checks` runs each through a GX Core checkpoint on an ephemeral context,
with suite parameters (label set, known sites, thresholds) given at run time, and returns a
:class:`ValidationReport`: per expectation, success, severity, how many rows failed, and
example ``doc_id`` and offsets. When a Data Docs folder is given, the checkpoint also builds
GX Data Docs there (HTML a steward opens in a browser).

Privacy: GX puts unexpected *values* in its results, and for a multi-column check the whole
row (a span's text, the document's text). Before results are stored or rendered, the
:class:`RedactUnexpectedValues` action removes values from expectations flagged
``redact_values`` in their ``meta`` and keeps only index columns (``doc_id``, offsets, line)
in every unexpected-row list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import great_expectations as gx
import pandas as pd
from great_expectations.checkpoint.actions import ValidationAction
from great_expectations.compatibility.pydantic import Field
from great_expectations.core.expectation_suite import ExpectationSuite
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

import curation.quality.expectations  # noqa: F401  (registers the custom expectations)

logger = logging.getLogger(__name__)

#: Result keys that can hold values of the validated columns.
VALUE_KEYS = ("partial_unexpected_list", "partial_unexpected_counts", "unexpected_list")
INDEX_KEYS = ("partial_unexpected_index_list", "unexpected_index_list")


class SuiteError(ValueError):
    """A suite file is missing or names an expectation GX does not know."""


@dataclass(frozen=True, slots=True)
class Check:
    """A suite and the table it validates.

    ``index_columns`` identify a failing row in reports (never text): e.g. ``doc_id``,
    ``start``, ``end``, ``record`` (the line in the source file). ``scope`` drops the
    expectations whose ``meta.applies_to`` is another scope (e.g. ``pseudonymised``);
    ``stage`` lowers to ``warning`` the expectations whose ``meta.warning_in`` names it;
    ``kind`` (the use case's result kind) drops those whose ``meta.kinds`` leaves it out.
    """

    suite: str
    frame: pd.DataFrame
    index_columns: tuple[str, ...] = ("doc_id",)
    scope: str | None = None
    stage: str | None = None
    kind: str | None = None


@dataclass(slots=True)
class ExpectationOutcome:
    """What one expectation found, JSON-ready and free of document text."""

    suite: str
    expectation: str
    target: str
    severity: str
    success: bool
    notes: str | None = None
    element_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "suite": self.suite,
            "expectation": self.expectation,
            "target": self.target,
            "severity": self.severity,
            "success": self.success,
            "notes": self.notes,
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "examples": self.examples,
        }
        if self.observed_value is not None:
            out["observed_value"] = self.observed_value
        if self.error:
            out["error"] = self.error
        return out

    def describe(self) -> str:
        """One line for a terminal: which expectation, how many rows, examples (no text)."""
        if self.error:
            return f"{self.expectation} on {self.target} ({self.suite}): error {self.error}"
        count = ""
        if self.unexpected_count is not None and self.element_count is not None:
            count = f": {self.unexpected_count:,} of {self.element_count:,} rows"
        elif self.observed_value is not None:
            count = f": observed {json.dumps(self.observed_value)}"
        examples = ", ".join(_example(e) for e in self.examples[:5])
        line = f"{self.expectation} on {self.target} ({self.suite}){count}"
        return f"{line}; e.g. {examples}" if examples else line


@dataclass(slots=True)
class ValidationReport:
    """Every expectation outcome of a validation run, and the rows each table had."""

    rows: dict[str, int] = field(default_factory=dict)
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    data_docs: str | None = None
    source: str | None = None

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.failed if o.severity == "critical"]

    @property
    def success(self) -> bool:
        return not self.critical_failures

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable results; deterministic (no run time), so DVC sees real changes."""
        return {
            "success": self.success,
            "evaluated": len(self.outcomes),
            "failed_critical": len(self.critical_failures),
            "failed_warning": len(self.failed) - len(self.critical_failures),
            "rows": self.rows,
            "expectations": [o.to_dict() for o in self.outcomes],
        }


def _example(example: Mapping[str, Any]) -> str:
    parts = [f"doc_id={example['doc_id']}"] if "doc_id" in example else []
    if "start" in example and "end" in example:
        parts.append(f"[{example['start']}:{example['end']}]")
    if "record" in example:
        parts.append(f"line {example['record']}")
    rest = {k: v for k, v in example.items() if k not in ("doc_id", "start", "end", "record")}
    parts += [f"{k}={v}" for k, v in rest.items()]
    return " ".join(parts)


# --- suites -----------------------------------------------------------------------------------


def suite_path(name: str) -> Path:
    """The JSON file of suite ``name`` (shipped in ``curation/quality/suites/``)."""
    return Path(str(resources.files("curation.quality") / "suites" / f"{name}.json"))


def load_suite(
    name: str, scope: str | None = None, stage: str | None = None, kind: str | None = None
) -> ExpectationSuite:
    """Suite ``name`` from its JSON file, keeping expectations that apply to ``scope`` and, when
    they list ``meta.kinds``, to the result ``kind``.

    An expectation whose ``meta.warning_in`` lists ``stage`` is only a warning there.
    """
    path = suite_path(name)
    if not path.exists():
        raise SuiteError(f"{path}: no such suite file")
    data = json.loads(path.read_text(encoding="utf-8"))
    suite = ExpectationSuite(name=data.get("name", name), meta=data.get("meta", {}))
    for number, item in enumerate(data.get("expectations", []), 1):
        meta = item.get("meta") or {}
        if meta.get("applies_to") not in (None, scope):
            continue
        if kind is not None and kind not in meta.get("kinds", (kind,)):
            continue
        severity = item.get("severity", "critical")
        if stage is not None and stage in meta.get("warning_in", ()):
            severity = "warning"
        try:
            config = ExpectationConfiguration(
                type=item["type"],
                kwargs=item.get("kwargs", {}),
                meta=meta,
                severity=severity,
            )
            suite.add_expectation(config.to_domain_obj())
        except Exception as exc:  # GX raises several types for an unknown or bad expectation
            raise SuiteError(
                f"{path}: expectation {number} ({item.get('type')}) is not valid: {exc}"
            ) from None
    return suite


# --- redaction --------------------------------------------------------------------------------


class RedactUnexpectedValues(ValidationAction):
    """Checkpoint action: strip column values from results before they are stored or rendered.

    Expectations flagged ``meta.redact_values`` lose their unexpected-value lists; every
    unexpected-row list keeps only the index columns. Runs before ``UpdateDataDocsAction``.
    """

    type: Literal["redact_unexpected_values"] = "redact_unexpected_values"
    index_columns: list[str] = Field(default_factory=list)

    def run(self, checkpoint_result: Any, action_context: Any = None) -> dict[str, Any]:
        context = self._resolve_context().context
        for identifier, result in checkpoint_result.run_results.items():
            for outcome in result.results:
                redact(outcome, self.index_columns)
            context.validation_results_store.set(identifier, result)
        return {}


def redact(outcome: Any, index_columns: Sequence[str]) -> None:
    """Remove values from one expectation validation result, in place."""
    details = outcome.result or {}
    for key in INDEX_KEYS:
        rows = details.get(key)
        if isinstance(rows, list):
            details[key] = [
                {k: _plain(v) for k, v in row.items() if k in index_columns}
                for row in rows
                if isinstance(row, Mapping)
            ]
    if (outcome.expectation_config.meta or {}).get("redact_values"):
        for key in VALUE_KEYS:
            if key in details:
                details[key] = []
        # Data Docs render these lists: name the failing rows by their index columns instead
        named = [_example(row) for row in details.get("partial_unexpected_index_list") or []]
        if "partial_unexpected_list" in details:
            details["partial_unexpected_list"] = named
        if "partial_unexpected_counts" in details:
            details["partial_unexpected_counts"] = [{"value": n, "count": 1} for n in named]


def _plain(value: Any) -> Any:
    """numpy scalars (GX's unexpected lists hold them) as Python values for JSON; a missing
    value (GX turns ``None`` in an index column into NaN) as ``None``."""
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    return None if isinstance(value, float) and value != value else value


# --- running ----------------------------------------------------------------------------------


def _data_docs_site(context: Any, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        "curation",
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(folder.resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )


def run_checks(
    checks: Sequence[Check],
    parameters: Mapping[str, Any],
    data_docs: Path | None = None,
    examples: int = 5,
    name: str = "validation",
) -> ValidationReport:
    """Validate each check's table with its suite; build Data Docs in ``data_docs`` if given.

    Parameters
    ----------
    checks
        Suites and tables (each runs as its own checkpoint, all in one Data Docs site).
    parameters
        Suite parameters (``{"$PARAMETER": name}`` in suite files), e.g. ``labels``.
    data_docs
        Folder of the Data Docs site (``index.html``), or ``None`` for no HTML.
    examples
        How many failing rows each expectation reports (identified by index columns).
    name
        Prefix of the GX checkpoint names (shown in Data Docs).
    """
    context = gx.get_context(mode="ephemeral")
    # GX draws a progress bar per metric batch: noise in a DVC log, we print our own summary
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if data_docs is not None:
        _data_docs_site(context, data_docs)
    source = context.data_sources.add_pandas("curation")
    report = ValidationReport()
    for check in checks:
        report.rows[check.suite] = len(check.frame)
        suite = context.suites.add(load_suite(check.suite, check.scope, check.stage, check.kind))
        asset = source.add_dataframe_asset(check.suite)
        batch = asset.add_batch_definition_whole_dataframe(check.suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}:{check.suite}", data=batch, suite=suite)
        )
        index = [c for c in check.index_columns if c in check.frame.columns]
        # Data Docs are built once at the end, from the redacted results: GX runs an
        # UpdateDataDocsAction before every other action of a checkpoint.
        actions: list[ValidationAction] = [
            RedactUnexpectedValues(name="redact", index_columns=index)
        ]
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{name}:{check.suite}",
                validation_definitions=[definition],
                actions=actions,
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": examples,
                    "unexpected_index_column_names": index,
                },
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": check.frame}, expectation_parameters=dict(parameters)
        )
        for suite_result in result.run_results.values():
            for outcome in suite_result.results:
                report.outcomes.append(_outcome(check.suite, outcome, examples))
    if data_docs is not None:
        context.build_data_docs(site_names=["curation"])
        report.data_docs = str(data_docs / "index.html")
    return report


def _target(kwargs: Mapping[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if "column_list" in kwargs:
        return ", ".join(str(c) for c in kwargs["column_list"])
    return "table"


def _outcome(suite: str, outcome: Any, examples: int) -> ExpectationOutcome:
    config = outcome.expectation_config
    details = outcome.result or {}
    error = _error(outcome.exception_info or {})
    observed = details.get("observed_value")
    return ExpectationOutcome(
        suite=suite,
        expectation=config.type,
        target=_target(config.kwargs),
        severity=str(getattr(config.severity, "value", config.severity) or "critical"),
        success=bool(outcome.success),
        notes=(config.meta or {}).get("notes"),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        observed_value=_jsonable(observed),
        examples=[
            {k: _plain(v) for k, v in row.items()}
            for row in (details.get("partial_unexpected_index_list") or [])[:examples]
        ],
        error=error,
    )


def _error(info: Mapping[str, Any]) -> str | None:
    """The exception message of a result: GX nests it per metric when a metric failed."""
    found = [info] if "raised_exception" in info else list(info.values())
    for entry in found:
        if isinstance(entry, Mapping) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "exception")[:300]
    return None


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    value = _plain(value)
    if isinstance(value, float):
        return round(value, 4)
    return value if isinstance(value, str | int | bool) else str(value)
