"""Great Expectations that GX Core lacks, for annotated clinical text.

Each is a proper GX expectation (a metric provider with a pandas condition, and the
expectation that uses it), registered on import so that suites stored as JSON files
(:mod:`curation.quality.suites`) can name them by their snake-case type:

``expect_span_text_to_match_document``
    ``text[start:end]`` of the document equals the span's ``text`` (columns
    ``start, end, text, doc_text``; rows whose document is missing are left to the
    "document exists" expectation).
``expect_spans_not_to_overlap``
    no span overlaps an earlier span of the same record (columns ``record, start, end``).
``expect_column_pair_values_to_match_sha256``
    ``sha256`` is the hex SHA-256 of the UTF-8 ``text`` (column pair ``text``, ``sha256``).
``expect_text_to_have_no_residual_identifiers``
    no phone number, e-mail address, NIR with a valid key or IPP/NDA after its cue in the
    text, outside the surrogates the pseudonymiser put there (columns ``text, replaced``;
    ``replaced`` holds ``[start, end]`` pairs of surrogates, or nothing).
``expect_column_values_to_have_one_value_per_group``
    every value of the first column maps to one value of the second (e.g. a patient is in
    one split only: columns ``patient_id, split``).
``expect_column_values_to_be_in_label_set``
    each value is one of ``value_set`` or, when ``vocabulary`` names one (``"module:function"``,
    e.g. the 42,886 ATIH CIM-10 codes), of that vocabulary: a large code list is named, not
    copied into every suite, result and Data Docs page.
``expect_column_value_shares_to_be_between``
    each listed value's share of the rows lies in its ``[min, max]`` bounds (label
    distribution, split sizes).
``expect_column_pair_values_to_be_in_set_of_key``
    each value of ``column_B`` is one of ``value_sets[value of column_A]`` (types compared too:
    ``true`` is not ``1``); values of ``column_A`` that ``value_sets`` does not name are free
    (an attribute's values or labels, a relation type's label pair).

Map expectations are vectorised with pandas where the check allows; the span-slice and
residual-identifier checks loop in Python over rows (1,000,000 spans in about a second).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import pandas as pd
from great_expectations.compatibility.pydantic import Field
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnAggregateExpectation,
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    ColumnPairMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_condition_partial,
    column_pair_condition_partial,
    multicolumn_condition_partial,
)

from curation.models.rules import PhiRules
from curation.usecases.base import resolve

_MULTI_KEYS = (
    "batch_id",
    "table",
    "column_list",
    "row_condition",
    "condition_parser",
    "ignore_row_if",
)
_PAIR_KEYS = (
    "batch_id",
    "table",
    "column_A",
    "column_B",
    "row_condition",
    "condition_parser",
    "ignore_row_if",
)

#: Identifier kinds the residual scan looks for (labels of :class:`PhiRules`).
RESIDUAL_KINDS: tuple[str, ...] = ("TEL", "MAIL", "SECU", "IPP", "NDA")


def _columns(frame: pd.DataFrame) -> list[pd.Series]:
    return [frame[name] for name in frame.columns]


# --- span text equals the document slice ------------------------------------------------------


class SpanTextMatchesDocument(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.span_text_matches_document"
    condition_domain_keys = _MULTI_KEYS
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        start, end, text, doc = _columns(column_list)
        ok = [
            isinstance(d, str) and isinstance(t, str) and d[int(s) : int(e)] == t
            for s, e, t, d in zip(
                start.tolist(), end.tolist(), text.tolist(), doc.tolist(), strict=True
            )
        ]
        return pd.Series(ok, index=column_list.index)


class ExpectSpanTextToMatchDocument(MulticolumnMapExpectation):
    """Expect each span's ``text`` to equal ``doc_text[start:end]``.

    ``column_list`` names the start, end, span text and document text columns, in that order.
    """

    map_metric: ClassVar[str] = "multicolumn_values.span_text_matches_document"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    ignore_row_if: Literal["any_value_is_missing"] = "any_value_is_missing"


# --- no overlapping spans within a record -----------------------------------------------------


class SpansDoNotOverlap(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.spans_do_not_overlap"
    condition_domain_keys = _MULTI_KEYS
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        record, start, end = column_list.columns
        ordered = column_list.sort_values([record, start, end], kind="stable")
        reach = ordered.groupby(record, sort=False)[end].cummax()
        before = reach.groupby(ordered[record], sort=False).shift(1)
        overlaps = before.notna() & (ordered[start] < before)
        return ~overlaps.reindex(column_list.index)


class ExpectSpansNotToOverlap(MulticolumnMapExpectation):
    """Expect no span to overlap an earlier span (by start) of the same record.

    ``column_list`` names the record key, start and end columns. Of two overlapping spans,
    the later one is counted as unexpected.
    """

    map_metric: ClassVar[str] = "multicolumn_values.spans_do_not_overlap"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    ignore_row_if: Literal["any_value_is_missing"] = "any_value_is_missing"


# --- content hash -----------------------------------------------------------------------------


class ColumnPairValuesMatchSha256(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.match_sha256"
    condition_domain_keys = _PAIR_KEYS
    condition_value_keys = ()

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: Any) -> pd.Series:
        ok = [
            isinstance(t, str) and hashlib.sha256(t.encode("utf-8")).hexdigest() == h
            for t, h in zip(column_A.tolist(), column_B.tolist(), strict=True)
        ]
        return pd.Series(ok, index=column_A.index)


class ExpectColumnPairValuesToMatchSha256(ColumnPairMapExpectation):
    """Expect ``column_B`` to be the hex SHA-256 of the UTF-8 bytes of ``column_A``."""

    map_metric: ClassVar[str] = "column_pair_values.match_sha256"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "ignore_row_if")
    ignore_row_if: Literal["neither"] = "neither"


# --- residual identifiers ---------------------------------------------------------------------


def residual_identifiers(
    text: str, replaced: Sequence[Sequence[int]] | None, rules: PhiRules, kinds: Sequence[str]
) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` of identifiers in ``text`` that no surrogate covers.

    >>> rules = PhiRules(use_edsnlp_dates=False)
    >>> text = "Tél 06 12 34 56 78, IPP : 8012345678"
    >>> residual_identifiers(text, [[4, 18]], rules, ["TEL", "IPP"])
    [(26, 36, 'IPP')]
    """
    covered = sorted((int(a), int(b)) for a, b in (replaced or ()))
    found = []
    for span in rules(text):
        if span.label not in kinds:
            continue
        if any(a <= span.start and span.end <= b for a, b in covered):
            continue
        found.append((span.start, span.end, span.label))
    return found


class TextHasNoResidualIdentifiers(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.no_residual_identifiers"
    condition_domain_keys = _MULTI_KEYS
    condition_value_keys = ("kinds",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        kinds = list(kwargs.get("kinds") or RESIDUAL_KINDS)
        rules = PhiRules(use_edsnlp_dates=False)
        text, replaced = _columns(column_list)
        ok = [
            not isinstance(t, str) or not residual_identifiers(t, r, rules, kinds)
            for t, r in zip(text.tolist(), replaced.tolist(), strict=True)
        ]
        return pd.Series(ok, index=column_list.index)


class ExpectTextToHaveNoResidualIdentifiers(MulticolumnMapExpectation):
    """Expect no phone, e-mail, valid-key NIR or cued IPP/NDA outside known surrogates.

    ``column_list`` names the text column and a column of ``[start, end]`` surrogate spans
    (empty where the text was not pseudonymised). ``kinds`` restricts the identifier kinds.
    """

    map_metric: ClassVar[str] = "multicolumn_values.no_residual_identifiers"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "kinds")
    kinds: list[str] = Field(default_factory=lambda: list(RESIDUAL_KINDS))
    ignore_row_if: Literal["never"] = "never"


# --- values in a label set or a named vocabulary ----------------------------------------------


def allowed_labels(value_set: Sequence[str] | None, vocabulary: str | None) -> frozenset[str]:
    """The labels a column may hold: the named vocabulary if any, else ``value_set``."""
    if vocabulary:
        return frozenset(resolve(vocabulary)())
    return frozenset(str(v) for v in value_set or ())


class ColumnValuesInLabelSet(ColumnMapMetricProvider):
    condition_metric_name = "column_values.in_label_set"
    condition_value_keys = ("value_set", "vocabulary")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        allowed = allowed_labels(kwargs.get("value_set"), kwargs.get("vocabulary"))
        return column.map(lambda value: value in allowed).astype(bool)


class ExpectColumnValuesToBeInLabelSet(ColumnMapExpectation):
    """Expect each value to be a label of ``value_set``, or of ``vocabulary`` when given.

    ``vocabulary`` is a ``"module:function"`` reference returning the allowed labels (the
    ATIH CIM-10 codes for coding); empty, the listed ``value_set`` is used.
    """

    map_metric: ClassVar[str] = "column_values.in_label_set"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "value_set", "vocabulary")
    value_set: list[str] | SuiteParameterDict = Field(default_factory=list)
    vocabulary: str | SuiteParameterDict | None = None


# --- one value per group ----------------------------------------------------------------------


class OneValuePerGroup(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.one_value_per_group"
    condition_domain_keys = _MULTI_KEYS
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        group, value = column_list.columns
        distinct = column_list.groupby(group, sort=False)[value].transform("nunique")
        return distinct <= 1


class ExpectColumnValuesToHaveOneValuePerGroup(MulticolumnMapExpectation):
    """Expect every value of the first column to go with a single value of the second.

    With ``column_list=["patient_id", "split"]``: no patient is in two splits. Every row of
    a group with several values is unexpected.
    """

    map_metric: ClassVar[str] = "multicolumn_values.one_value_per_group"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    ignore_row_if: Literal["any_value_is_missing"] = "any_value_is_missing"


# --- shares of values -------------------------------------------------------------------------


def shares_outside(
    counts: Mapping[Any, int], bounds: Mapping[str, Sequence[float]]
) -> dict[str, dict[str, Any]]:
    """The values whose share of all rows falls outside their ``[min, max]`` bounds.

    >>> shares_outside({"NOM": 8, "TEL": 2}, {"NOM": [0.1, 0.5], "TEL": [0.1, 0.5]})
    {'NOM': {'share': 0.8, 'min': 0.1, 'max': 0.5}}
    """
    total = sum(int(n) for n in counts.values())
    out = {}
    for value, (low, high) in bounds.items():
        share = int(counts.get(value, 0)) / total if total else 0.0
        if not low <= share <= high:
            out[str(value)] = {"share": round(share, 4), "min": low, "max": high}
    return out


class ExpectColumnValueSharesToBeBetween(ColumnAggregateExpectation):
    """Expect each value named in ``bounds`` to make up between ``min`` and ``max`` of rows.

    ``bounds`` maps a value to ``[min, max]`` shares (0 to 1); values not named are free.
    The observed value is the share of every value present.
    """

    bounds: dict[str, list[float]] | SuiteParameterDict
    metric_dependencies: ClassVar[tuple[str, ...]] = ("column.value_counts",)
    success_keys: ClassVar[tuple[str, ...]] = ("bounds",)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        counts = {str(k): int(v) for k, v in dict(metrics["column.value_counts"]).items()}
        bounds = self.configuration.kwargs.get("bounds") or self.bounds
        outside = shares_outside(counts, bounds)
        total = sum(counts.values())
        observed = {k: round(v / total, 4) for k, v in counts.items()} if total else {}
        return {
            "success": total > 0 and not outside,
            "result": {"observed_value": observed, "details": {"outside": outside}},
        }


# --- values allowed per key -------------------------------------------------------------------


def allowed_for_key(key: Any, value: Any, value_sets: Mapping[str, Sequence[Any]]) -> bool:
    """Whether ``value`` is one of ``value_sets[key]`` (``True`` when the key is not named).

    >>> sets = {"negated": [True, False], "status": ["positive", "negative"]}
    >>> allowed_for_key("status", "positive", sets), allowed_for_key("negated", 1, sets)
    (True, False)
    >>> allowed_for_key("family", "oui", sets)
    True
    """
    if not isinstance(key, str) or key not in value_sets:
        return True
    return any(value == v and type(value) is type(v) for v in value_sets[key])


class ColumnPairValuesInSetOfKey(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.in_set_of_key"
    condition_domain_keys = _PAIR_KEYS
    condition_value_keys = ("value_sets",)

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: Any) -> pd.Series:
        value_sets = kwargs.get("value_sets") or {}
        ok = [
            allowed_for_key(key, value, value_sets)
            for key, value in zip(column_A.tolist(), column_B.tolist(), strict=True)
        ]
        return pd.Series(ok, index=column_A.index)


class ExpectColumnPairValuesToBeInSetOfKey(ColumnPairMapExpectation):
    """Expect each ``column_B`` value to be one of the values ``value_sets`` gives its key.

    ``column_A`` holds the key (an attribute name, a relation type), ``column_B`` the value
    (the attribute's value, the span label, the relation's label pair); a key that
    ``value_sets`` does not name is not checked (another expectation says whether it is
    declared).
    """

    map_metric: ClassVar[str] = "column_pair_values.in_set_of_key"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "value_sets", "ignore_row_if")
    value_sets: dict[str, list[Any]] | SuiteParameterDict = Field(default_factory=dict)
    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = (
        "both_values_are_missing"
    )
