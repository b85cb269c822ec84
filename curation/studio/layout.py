"""What a use case's Label Studio config offers, read with the SDK's ``LabelInterface``.

Every tag name (``from_name``, ``to_name``, result type, task data key) is read from
``annotation_configs/<use case>.<version>.xml``; nothing in :mod:`curation.studio` names a tag.
:func:`layout` sorts the config's controls into span labels, relations, per-region controls
(span attributes, the role of an evidence span) and document-level controls; the converters and
the validation read that :class:`Layout`. The role control is the per-region ``<Choices>`` that
offers exactly ``use_case.roles``; a document-level ``<TextArea>`` named after the principal role
(``DP``) holds a principal code that has no evidence span to carry the role. For a use case
with an open vocabulary (``icd10_coding``), every control whose values are codes (options from
task data, a ``<Taxonomy>``, a document-level ``<TextArea>``) is listed in ``code_controls``.

Examples
--------
>>> from curation.usecases import get
>>> lay = layout(get("pseudonymisation"))
>>> lay.text_key, lay.tag(lay.spans)
('text', 'labels')
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from label_studio_sdk.label_interface import LabelInterface

import curation
from curation.studio.vocabulary import tree_paths
from curation.usecases.base import UseCase

#: Where the labeling configs live: ``annotation_configs/`` at the repository root.
CONFIG_DIR = Path(curation.__file__).parents[1] / "annotation_configs"

#: Control tags the converters understand, and the key of their value in a result.
VALUE_KEYS = {
    "labels": "labels",
    "choices": "choices",
    "taxonomy": "taxonomy",
    "textarea": "text",
    "rating": "rating",
}


class ConversionError(ValueError):
    """A config, record or annotation that cannot be converted; the message says why."""


@dataclass(frozen=True)
class Layout:
    """What one use case's config offers, read once with ``LabelInterface``."""

    use_case: UseCase
    path: Path
    interface: LabelInterface
    text_name: str
    text_key: str
    spans: str | None
    relations: tuple[str, ...]
    role: str | None
    region_controls: tuple[str, ...]
    document_controls: tuple[str, ...]
    principal: str | None = None
    code_controls: tuple[str, ...] = ()

    def tag(self, name: str) -> str:
        """Lower-case tag of control ``name`` (``labels``, ``choices``...)."""
        return str(self.interface.get_control(name).tag).lower()

    def is_multiple(self, name: str) -> bool:
        """Whether control ``name`` takes several choices (``choice="multiple"``)."""
        return self.interface.get_control(name).attr.get("choice") == "multiple"

    def dynamic_key(self, name: str) -> str | None:
        """Task data key of a control whose options come from the task (``value="$codes"``)."""
        value = str(self.interface.get_control(name).attr.get("value") or "")
        return value[1:] if value.startswith("$") else None

    def options(self, name: str, data: Mapping[str, Any] | None) -> list[str] | None:
        """Values control ``name`` offers (``None``: listed in task data that is not given)."""
        key = self.dynamic_key(name)
        if key is None:
            return [str(v) for v in self.interface.get_control(name).labels or []]
        if data is None:
            return None
        return [str(o["value"] if isinstance(o, Mapping) else o) for o in data.get(key) or []]

    def tree(self, name: str, data: Mapping[str, Any] | None) -> set[tuple[str, ...]] | None:
        """Paths a ``<Taxonomy>`` offers, from task data or the config (``None``: not given)."""
        key = self.dynamic_key(name)
        if key is not None:
            return None if data is None else tree_paths(data.get(key) or [])
        root = next(e for e in ET.fromstring(self.interface.config).iter() if e.get("name") == name)
        return tree_paths([_choice_node(c) for c in root.findall("Choice")])


def load_config(use_case: UseCase, config_dir: Path | None = None) -> LabelInterface:
    """Parse and check ``<config_dir>/<use_case.config_name>`` (default :data:`CONFIG_DIR`)."""
    path = (config_dir or CONFIG_DIR) / use_case.config_name
    if not path.is_file():
        raise ConversionError(f"{path}: no labeling config for use case {use_case.id!r}; write it")
    try:
        interface = LabelInterface(path.read_text(encoding="utf-8"))
        interface.validate()
    except Exception as error:
        raise ConversionError(f"{path}: invalid labeling config: {error}") from error
    return interface


@cache
def layout(use_case: UseCase, config_dir: Path | None = None) -> Layout:
    """The :class:`Layout` of ``use_case``'s config (parsed once per process)."""
    path = (config_dir or CONFIG_DIR) / use_case.config_name
    interface = load_config(use_case, config_dir)
    texts = [o for o in interface.objects if str(o.tag).lower() == "text"]
    if len(texts) != 1 or not texts[0].value_is_variable:
        raise ConversionError(f"{path}: expected one <Text> object showing a task field ($text)")
    text = texts[0]
    controls = list(interface.controls)
    for control in controls:
        if str(control.tag).lower() not in VALUE_KEYS or control.to_name != [text.name]:
            raise ConversionError(
                f"{path}: control {control.name!r} ({control.tag}) is not supported: converters "
                f"handle {sorted(VALUE_KEYS)} controls on the text {text.name!r}"
            )
    spans = [c.name for c in controls if str(c.tag).lower() == "labels"]
    if len(spans) > 1:
        raise ConversionError(f"{path}: more than one <Labels> control: {spans}")
    regional = [c for c in controls if c.attr.get("perRegion") == "true"]
    roles = [
        c.name
        for c in regional
        if use_case.roles
        and str(c.tag).lower() == "choices"
        and set(c.labels or []) == set(use_case.roles)
    ]
    document = [c for c in controls if c.name not in spans and c not in regional]
    principal = [
        c.name
        for c in document
        if use_case.roles
        and str(c.tag).lower() == "textarea"
        and str(c.name).lower() == use_case.roles[0].lower()
    ]
    coded = [
        c.name
        for c in controls
        if use_case.vocabulary is not None
        and c.name not in roles
        and (
            str(c.tag).lower() == "taxonomy"
            or (str(c.tag).lower() in ("labels", "choices") and _is_dynamic(c))
            or (str(c.tag).lower() == "textarea" and c in document)
        )
    ]
    return Layout(
        use_case=use_case,
        path=path,
        interface=interface,
        text_name=str(text.name),
        text_key=str(text.value_name),
        spans=spans[0] if spans else None,
        relations=tuple(
            str(r.get("value")) for r in ET.fromstring(interface.config).iter("Relation")
        ),
        role=roles[0] if roles else None,
        region_controls=tuple(c.name for c in regional if c.name not in roles),
        document_controls=tuple(c.name for c in document if c.name not in principal),
        principal=principal[0] if principal else None,
        code_controls=tuple(coded),
    )


def _choice_node(element: ET.Element) -> dict[str, Any]:
    children = [_choice_node(c) for c in element.findall("Choice")]
    return {"value": element.get("value"), "alias": element.get("alias"), "children": children}


def _is_dynamic(control: Any) -> bool:
    return str(control.attr.get("value") or "").startswith("$")


__all__ = ["CONFIG_DIR", "VALUE_KEYS", "ConversionError", "Layout", "layout", "load_config"]
