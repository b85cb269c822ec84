"""What a use case declares. Stages take a :class:`UseCase` and never test its id."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from curation.schema import Record

#: How a use case's result is shaped in a :class:`curation.schema.Record`.
ResultKind = Literal["spans", "labels", "sections", "items"]


class Preannotator(Protocol):
    """Turns ``(doc_id, text)`` pairs into prediction records, streaming."""

    origin: str

    def predict(self, docs: Iterable[tuple[str, str]]) -> Iterator[Record]: ...


@dataclass(frozen=True, slots=True)
class SpanAttribute:
    """An attribute an expert gives a span: a flag, or one value of a closed set.

    Parameters
    ----------
    name
        Key of the attribute in a record's ``attributes`` entries (``negated``, ``status``).
    values
        The values it may take; empty, it is a flag (``true`` or ``false``).
    labels
        Labels of the spans that may carry it; empty, every label (a result's ``status``
        belongs to ``BIOMARKER_RESULT`` spans only).
    """

    name: str
    values: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def is_flag(self) -> bool:
        """Whether the attribute is a flag (``true``/``false``) rather than a value."""
        return not self.values

    def allowed(self) -> list[str | bool]:
        """The values a record may hold: ``[True, False]`` for a flag, else :attr:`values`."""
        return [True, False] if self.is_flag else list(self.values)


@dataclass(frozen=True, slots=True)
class UseCase:
    """A registered, versioned use case declaration.

    Parameters
    ----------
    id
        Stable identifier, used in file names (``data/gold/<id>.jsonl``) and commands.
    version
        Declaration version; a change of behaviour is a new version beside the old.
    kind
        The main result field of its records.
    labels
        The closed label set (span labels, document labels, section names...).
    description
        One line for humans (dataset cards, ``curation usecases``).
    documents
        The document table its tasks are made from: ``raw`` (pseudonymisation itself) or
        ``pseudonymised`` (every other use case: no benchmark is built on raw text).
    preannotator
        ``"module:function"`` building its pre-annotator (imported only when used), called
        as ``function(use_case, preannotate_settings, model_dir)``.
    trainer
        ``"module:function"`` training its model, called as
        ``function(use_case, train_settings, output_dir, progress=...)``.
    metric
        ``"module:function"`` scoring predictions against gold, called as
        ``function(gold_records, predicted_records, use_case, groups)`` -> metrics dict.
    roles
        Roles an expert gives each label on its evidence span, principal role first (CIM-10:
        ``("DP", "DAS")``); the label marked with the first role comes first in ``labels``.
    vocabulary
        ``"module:function"`` returning an open label set too large to list in ``labels``
        (the ~42,000 CIM-10 codes); checks and label sets read :meth:`label_set`.
    doc_types
        Document types its tasks are made from (``crh``...); empty: every document.
    selector
        ``"module:function"`` taking a document's text and telling whether it is a task of
        this use case, among its ``doc_types`` (treatment response: the reports that assess
        a treatment, not the diagnosis work-up); unset: every document of those types.
    relations
        Relation types between spans (records' ``relations``: ``{"from": i, "to": j,
        "type": ...}``, span indexes); empty: the use case has no relations.
    relation_ends
        ``(type, from label, to label)``: the label pairs a relation type may link
        (``("has_result", "BIOMARKER", "BIOMARKER_RESULT")``); a type not listed links any.
    span_attributes
        Attributes of spans (records' ``attributes``: ``{"span": i, key: value}``), see
        :class:`SpanAttribute`; empty: none are declared.
    """

    id: str
    version: str
    kind: ResultKind
    labels: tuple[str, ...]
    description: str
    documents: Literal["raw", "pseudonymised"] = "pseudonymised"
    preannotator: str | None = None
    trainer: str | None = None
    metric: str | None = None
    roles: tuple[str, ...] = ()
    vocabulary: str | None = None
    doc_types: tuple[str, ...] = ()
    selector: str | None = None
    relations: tuple[str, ...] = ()
    relation_ends: tuple[tuple[str, str, str], ...] = ()
    span_attributes: tuple[SpanAttribute, ...] = ()

    def label_set(self) -> frozenset[str]:
        """Every label a record may hold: the vocabulary if declared, else ``labels``."""
        if self.vocabulary is None:
            return frozenset(self.labels)
        return frozenset(resolve(self.vocabulary)())

    def selects(self) -> Callable[[str], bool] | None:
        """The text test of :attr:`selector`, or ``None`` when every document is a task."""
        return None if self.selector is None else resolve(self.selector)

    @property
    def config_name(self) -> str:
        """File name of its Label Studio config in ``annotation_configs/``."""
        return f"{self.id}.{self.version}.xml"


def resolve(reference: str) -> Any:
    """The object named by ``"package.module:name"``."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
