"""Checks of a prediction's or annotation's ``result`` list against the use case's config.

The Label Studio server accepts predictions that do not fit the config (an unknown label, a
region beyond the text), so they are checked on our side before every import and every
conversion. Messages name ``doc_id``, result indexes and offsets, never the document's text.

Examples
--------
>>> from curation.usecases import get
>>> result = [{"id": "s0", "from_name": "phi", "to_name": "text", "type": "labels",
...            "value": {"start": 21, "end": 27, "text": "Martin", "labels": ["MEDECIN"]}}]
>>> task = {"data": {"doc_id": "d1", "text": "Patient vu par le Dr Martin."}}
>>> validate_results(get("pseudonymisation"), result, task=task)
["doc_id d1: result 0: unknown label 'MEDECIN' for 'phi'"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from curation.studio.layout import VALUE_KEYS, Layout, layout
from curation.studio.vocabulary import vocabulary
from curation.usecases.base import UseCase

#: Relation directions Label Studio knows.
DIRECTIONS = ("right", "left", "bi")


def validate_results(
    use_case: UseCase,
    results: Sequence[Any],
    *,
    task: Mapping[str, Any] | None = None,
    config_dir: Path | None = None,
) -> list[str]:
    """Problems of a prediction's or annotation's ``result`` list against the config.

    Checks names, types and values with ``LabelInterface.validate_region`` and, since the SDK
    does not know the text, offsets and span texts against ``task["data"]`` when ``task`` is
    given (also the options a control reads from task data, and the paths of a task's
    taxonomy). Relations must join regions of the result with a relation type of the config.
    For a use case with an open vocabulary, every code (evidence label, choice, taxonomy leaf,
    text-area line) must be in it, and at most one code may carry the principal role (on its
    evidence or in the principal text area). An empty list means no problem.
    """
    lay = layout(use_case, config_dir)
    data: Mapping[str, Any] | None = task.get("data") if task else None
    text = data.get(lay.text_key) if data else None
    prefix = f"doc_id {data['doc_id']}: " if data and "doc_id" in data else ""
    problems: list[str] = []
    regions: dict[Any, tuple[Any, Any]] = {}
    attached: list[tuple[int, Mapping[str, Any]]] = []
    principals: set[str] = set()
    vocab = vocabulary(use_case)
    for i, item in enumerate(results):
        where = f"{prefix}result {i}"
        if isinstance(item, Mapping) and item.get("type") == "relation":
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), Mapping):
            problems.append(f"{where}: not a result object with a 'value'")
            continue
        name, value = item.get("from_name"), item["value"]
        if name not in {c.name for c in lay.interface.controls}:
            known = sorted(c.name for c in lay.interface.controls)
            problems.append(f"{where}: unknown from_name {name!r}; the config has {known}")
            continue
        found = _item_problems(lay, str(name), item, data, where)
        if not found and not lay.interface.validate_region(dict(item), context={"region": item}):
            found.append(f"{where}: value of {name!r} is not a valid {lay.tag(str(name))} result")
        if not found and vocab is not None and name in lay.code_controls:
            for code in read_codes(lay, str(name), value):
                if not vocab.known(code):
                    found.append(f"{where}: unknown {vocab.name} code {code!r}")
        problems.extend(found)
        if name == lay.principal and not found:
            principals.update(_normal(use_case, read_codes(lay, str(name), value)))
        regional = name == lay.spans or name in lay.region_controls or name == lay.role
        if regional and not found:
            problems.extend(_offset_problems(value, text, where))
        if name == lay.spans:
            regions[item.get("id")] = (value.get("start"), value.get("end"))
        elif regional:
            attached.append((i, item))
        if name == lay.role and not found and value["choices"] == [use_case.roles[0]]:
            principals.update(_normal(use_case, _labels_of(results, item.get("id"), lay.spans)))
    for i, item in attached:
        span = regions.get(item.get("id"))
        if span != (item["value"].get("start"), item["value"].get("end")):
            problems.append(
                f"{prefix}result {i}: per-region {item.get('from_name')!r} has no region"
            )
    for i, item in enumerate(results):
        if isinstance(item, Mapping) and item.get("type") == "relation":
            problems.extend(_relation_problems(lay, item, regions, f"{prefix}result {i}"))
    if len(principals) > 1:
        problems.append(f"{prefix}{len(principals)} labels marked {use_case.roles[0]}")
    return problems


def read_codes(lay: Layout, name: str, value: Mapping[str, Any]) -> list[str]:
    """The codes (or labels) one result of control ``name`` holds, as written.

    ``<Taxonomy>``: the last alias of each selected path; ``<TextArea>``: one code per line
    (commas and semicolons also separate); ``<Labels>``/``<Choices>``: the chosen values.
    """
    tag = lay.tag(name)
    if tag == "taxonomy":
        return [str(path[-1]) for path in value.get("taxonomy") or [] if path]
    if tag == "textarea":
        lines = "\n".join(str(line) for line in value.get("text") or [])
        return [code.strip() for code in re.split(r"[\n,;]+", lines) if code.strip()]
    return [str(v) for v in value.get(VALUE_KEYS[tag]) or []]


def _normal(use_case: UseCase, codes: Sequence[str]) -> list[str]:
    vocab = vocabulary(use_case)
    return [vocab.normalise(c) for c in codes] if vocab else list(codes)


def _item_problems(
    lay: Layout, name: str, item: Mapping[str, Any], data: Mapping[str, Any] | None, where: str
) -> list[str]:
    control, tag = lay.interface.get_control(name), lay.tag(name)
    problems = []
    if item.get("to_name") not in control.to_name:
        problems.append(f"{where}: to_name {item.get('to_name')!r} is not a target of {name!r}")
    if item.get("type") != tag:
        problems.append(f"{where}: type {item.get('type')!r} of {name!r} should be {tag!r}")
    chosen = item["value"].get(VALUE_KEYS[tag])
    if not isinstance(chosen, list if tag != "rating" else int):
        return [*problems, f"{where}: {name!r} result has no {VALUE_KEYS[tag]!r} value"]
    offered = lay.options(name, data) if tag in ("labels", "choices") else None
    if offered is not None and isinstance(chosen, list):
        for value in chosen:
            if value not in offered:
                problems.append(f"{where}: unknown label {value!r} for {name!r}")
    if tag == "taxonomy" and isinstance(chosen, list):
        tree = lay.tree(name, data)
        for path in chosen:
            if not isinstance(path, list) or not path:
                problems.append(f"{where}: {name!r} holds a path that is not a list of values")
            elif tree is not None and tuple(str(p) for p in path) not in tree:
                problems.append(f"{where}: path {path} is not in the task's {name!r} tree")
    return problems


def _offset_problems(value: Mapping[str, Any], text: Any, where: str) -> list[str]:
    start, end = value.get("start"), value.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
        return [f"{where}: offsets {start}-{end} are not a character range"]
    if isinstance(text, str):
        if end > len(text):
            return [f"{where}: offsets {start}-{end} beyond the text ({len(text)} characters)"]
        if "text" in value and value["text"] != text[start:end]:
            return [f"{where}: region text at {start}-{end} differs from the task text there"]
    return []


def _relation_problems(
    lay: Layout, item: Mapping[str, Any], regions: Mapping[Any, Any], where: str
) -> list[str]:
    problems = []
    if not lay.relations:
        problems.append(f"{where}: relation, but the config has no <Relations>")
    for end in ("from_id", "to_id"):
        if item.get(end) not in regions:
            problems.append(f"{where}: relation {end} {item.get(end)!r} is not a labelled region")
    if item.get("direction", "right") not in DIRECTIONS:
        problems.append(f"{where}: relation direction {item.get('direction')!r}")
    for label in item.get("labels") or []:
        if label not in lay.relations:
            problems.append(f"{where}: unknown relation {label!r}; the config has {lay.relations}")
    if not item.get("labels") and len(lay.relations) > 1:
        problems.append(f"{where}: relation without a type; choose one of {lay.relations}")
    return problems


def _labels_of(results: Sequence[Any], region: Any, spans: str | None) -> list[str]:
    return [
        str(label)
        for r in results
        if isinstance(r, Mapping) and r.get("id") == region and r.get("from_name") == spans
        for label in r["value"].get("labels", [])
    ]


__all__ = ["DIRECTIONS", "read_codes", "validate_results"]
