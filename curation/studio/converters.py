"""Our records <-> Label Studio tasks and results, driven by each use case's labeling config.

Every tag name (``from_name``, ``to_name``, result type, task data key) is read from
``annotation_configs/<use case>.<version>.xml`` (see :mod:`curation.studio.layout`); nothing
here names a tag. What a config's controls mean for a :class:`~curation.schema.Record`:

- the one ``<Labels>`` control holds ``spans`` (one region per span, ``value.text`` equal to the
  task text slice); ``<Relations>`` holds ``relations`` (``{"from", "to", "type"}`` by span index);
- per-region controls (``perRegion="true"``) hold the span ``attributes`` (``{"span": i, ...}``):
  a multiple ``<Choices>`` gives one boolean per choice (``negated``, ``family``...), any other
  control gives ``attributes[key]`` where ``key`` is the control's name (``status``);
- document-level controls hold the use case's main result, by its ``kind``:
  ``labels``: the selected ``<Choices>`` values in config order, then the lines of a
  ``<TextArea>`` (codes not among the suggestions); ``sections``: one ``<TextArea>`` per section,
  named after it; ``items``: one item whose keys are control names (``options_A`` fills
  ``item["options"]["A"]`` when ``A`` is a declared label). Document-level controls left over
  (a ``<Rating>`` of the whole summary) go to one ``attributes`` entry without ``"span"``;
- for a ``labels`` use case whose labels are roles (CIM-10: ``DP``, ``DAS``), a per-region
  ``<Choices>`` offering exactly those roles marks each evidence span; the label of a span marked
  with the first role is the principal one and comes first in ``labels``.

Options listed in task data (``<Choices value="$codes">``) are filled with the prediction's
labels and span labels, so that the suggestions are exactly what the model proposed.

The server accepts predictions that do not fit the config, so
:func:`~curation.studio.validation.validate_results` checks them on our side, and every
conversion runs it. Messages name ``doc_id``, result indexes and
offsets, never the document's text.

Examples
--------
>>> from curation.usecases import get
>>> row = {"doc_id": "d1", "text": "Patient vu par le Dr Martin."}
>>> record = Record("d1", "pseudonymisation", "regles", spans=[Span(21, 27, "NOM", "Martin")])
>>> task = record_to_task(get("pseudonymisation"), row, record, model_version="regles-1")
>>> task["predictions"][0]["result"][0]["value"]
{'start': 21, 'end': 27, 'text': 'Martin', 'labels': ['NOM']}
>>> annotation = {"completed_by": 7, "result": task["predictions"][0]["result"]}
>>> annotation_to_record(get("pseudonymisation"), task, annotation).spans[0].label
'NOM'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from curation.schema import Record, Span, text_sha256
from curation.studio.layout import ConversionError, Layout, layout
from curation.studio.validation import validate_results
from curation.usecases.base import UseCase


def prediction_score(record: Record) -> float:
    """Score of a whole prediction: the **minimum** of its span scores (1.0 without spans).

    Label Studio's uncertainty sampling serves the lowest-scored tasks first. A document is as
    uncertain as its least certain span: one doubtful name among twenty sure dates must bring
    the document forward, which a mean over many confident spans would hide.
    """
    return min((span.score for span in record.spans), default=1.0)


def record_to_task(
    use_case: UseCase,
    document_row: Mapping[str, Any],
    prediction: Record | None,
    *,
    model_version: str,
    score: float | None = None,
    config_dir: Path | None = None,
) -> dict[str, Any]:
    """A Label Studio task for one document, pre-annotated with ``prediction`` if given.

    Parameters
    ----------
    use_case
        The use case whose config the task is for.
    document_row
        A row of the document table: at least ``doc_id`` and ``text`` (``sha256`` is computed
        when missing).
    prediction
        The model's record for this document, or ``None`` for a task without pre-annotation.
    model_version
        Stored with the prediction; set the project's ``model_version`` to it for uncertainty
        sampling.
    score
        Score of the prediction; default :func:`prediction_score`.
    config_dir
        Folder of the labeling configs; default :data:`CONFIG_DIR`.

    Raises
    ------
    ConversionError
        If the prediction cannot be expressed in the config or does not fit it (unknown label,
        offsets outside the text, span text different from the text slice).
    """
    lay = layout(use_case, config_dir)
    doc_id, text = str(document_row["doc_id"]), str(document_row["text"])
    data: dict[str, Any] = {
        lay.text_key: text,
        "doc_id": doc_id,
        "sha256": str(document_row.get("sha256") or text_sha256(text)),
        "use_case": use_case.id,
        "use_case_version": use_case.version,
    }
    suggested = _unique([*(prediction.labels if prediction else [])])
    suggested = _unique([*suggested, *(s.label for s in (prediction.spans if prediction else []))])
    for name in (c.name for c in lay.interface.controls):
        key = lay.dynamic_key(name)
        if key is not None:
            data[key] = [{"value": value} for value in suggested]
    task: dict[str, Any] = {"data": data}
    if prediction is None:
        return task
    if prediction.doc_id != doc_id:
        raise ConversionError(f"prediction for doc_id {prediction.doc_id} given with {doc_id}")
    result = _record_results(lay, prediction, data)
    problems = validate_results(use_case, result, task=task, config_dir=config_dir)
    if problems:
        raise ConversionError(
            f"doc_id {doc_id}: prediction does not fit {lay.path.name}: {problems}"
        )
    task["predictions"] = [
        {
            "model_version": model_version,
            "score": prediction_score(prediction) if score is None else score,
            "result": result,
        }
    ]
    return task


def annotation_to_record(
    use_case: UseCase,
    task: Mapping[str, Any],
    annotation: Mapping[str, Any],
    *,
    config_dir: Path | None = None,
) -> Record:
    """Our record of one exported Label Studio annotation (``origin = "annotator:<user>"``).

    Spans are sorted by offsets (then label) and relations and attributes follow them; span
    scores are 1.0 (an expert's decision). ``task`` is the exported task (its ``data`` holds
    the text); ``annotation`` one of its ``annotations`` (``result``, ``completed_by``).

    Raises
    ------
    ConversionError
        If a result does not fit the config or the task text (the message names ``doc_id``,
        the result and its offsets), or if the annotator skipped the task.
    """
    lay = layout(use_case, config_dir)
    data = task["data"]
    doc_id, text = str(data["doc_id"]), str(data[lay.text_key])
    if annotation.get("was_cancelled"):
        raise ConversionError(f"doc_id {doc_id}: annotation {annotation.get('id')} was skipped")
    results = [r for r in annotation.get("result") or [] if isinstance(r, Mapping)]
    problems = validate_results(use_case, results, task=task, config_dir=config_dir)
    if problems:
        raise ConversionError(
            f"doc_id {doc_id}: annotation {annotation.get('id')} does not fit "
            f"{lay.path.name} and the task text; fix it in Label Studio: {problems}"
        )
    user = annotation.get("completed_by")
    user = user.get("id") if isinstance(user, Mapping) else user
    record = Record(doc_id=doc_id, use_case=use_case.id, origin=f"annotator:{user}")
    by_region: dict[Any, dict[str, Any]] = {}
    found: list[tuple[Span, Any]] = []
    document: dict[str, Any] = {}
    for item in results:
        name, value = item.get("from_name"), item.get("value") or {}
        if item.get("type") == "relation" or name is None:
            continue
        if name == lay.spans:
            start, end = int(value["start"]), int(value["end"])
            found += [
                (Span(start, end, str(lb), text[start:end]), item.get("id"))
                for lb in value["labels"]
            ]
        elif name in lay.region_controls or name == lay.role:
            by_region.setdefault(item.get("id"), {})[str(name)] = _read(lay, str(name), value)
        elif name in lay.document_controls:
            document[str(name)] = _read(lay, str(name), value)
    found.sort(key=lambda pair: (pair[0].start, pair[0].end, pair[0].label))
    record.spans = [span for span, _ in found]
    index: dict[Any, int] = {}
    for i, (_, region) in enumerate(found):
        index.setdefault(region, i)
    if lay.region_controls:
        record.attributes = [
            _attributes(lay, i, by_region.get(r, {})) for i, (_, r) in enumerate(found)
        ]
    for item in results:
        if item.get("type") == "relation":
            ends = (index[item["from_id"]], index[item["to_id"]])
            kind = (item.get("labels") or lay.relations)[0]
            first, second = ends[::-1] if item.get("direction") == "left" else ends
            record.relations.append({"from": first, "to": second, "type": kind})
    record.relations.sort(key=lambda r: (r["from"], r["to"], r["type"]))
    principal = [
        span.label
        for span, region in found
        if lay.role and by_region.get(region, {}).get(lay.role) == use_case.labels[0]
    ]
    _read_document(lay, record, document, principal[:1])
    return record


# --- record -> results ------------------------------------------------------------------------


def _record_results(lay: Layout, record: Record, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    where = f"doc_id {record.doc_id}: {lay.path.name}"
    if record.spans and lay.spans is None:
        raise ConversionError(f"{where} has no <Labels> control for the record's spans")
    ids = [f"s{i}" for i in range(len(record.spans))]
    out: list[dict[str, Any]] = []
    for i, span in enumerate(record.spans):
        out.append(_region(lay, ids[i], str(lay.spans), span, {"labels": [span.label]}))
        out[-1]["score"] = span.score
    per_span: list[dict[str, list[str] | Any]] = [{} for _ in record.spans]
    document: dict[str, Any] = {}
    for entry in record.attributes:
        if "span" not in entry:
            document.update(entry)
            continue
        if not 0 <= int(entry["span"]) < len(record.spans):
            raise ConversionError(f"{where}: attributes of span {entry['span']}, out of range")
        for key, value in entry.items():
            if key != "span":
                _bind_attribute(lay, per_span[int(entry["span"])], key, value, where)
    if lay.role:
        principal, roles = record.labels[0] if record.labels else None, lay.use_case.labels
        for i, span in enumerate(record.spans):
            per_span[i][lay.role] = roles[0] if span.label == principal else roles[-1]
    for i, span in enumerate(record.spans):
        for name, value in per_span[i].items():
            out.append(_region(lay, ids[i], name, span, _value(lay, name, value)))
    for relation in record.relations:
        if not lay.relations:
            raise ConversionError(f"{where} has no <Relations> for the record's relations")
        ends = [relation["from"], relation["to"]]
        if not all(0 <= int(e) < len(ids) for e in ends):
            raise ConversionError(f"{where}: relation {ends} names a span out of range")
        out.append(
            {
                "from_id": ids[int(ends[0])],
                "to_id": ids[int(ends[1])],
                "type": "relation",
                "direction": "right",
                "labels": [relation["type"]],
            }
        )
    document.update(_document_values(lay, record, data, where))
    for name, value in document.items():
        if name not in lay.document_controls:
            raise ConversionError(f"{where} has no document-level control {name!r}")
        if value not in (None, "", [], {}):
            out.append(_result(lay, f"doc-{name}", name, _value(lay, name, value)))
    return out


def _document_values(
    lay: Layout, record: Record, data: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """Document-level control name -> value, for the use case's main result."""
    kind, out = lay.use_case.kind, dict[str, Any]()
    for field in ("labels", "sections", "items"):
        if getattr(record, field) and kind != field:
            raise ConversionError(f"{where}: a {kind} use case has no place for {field}")
    if kind == "sections":
        out.update(record.sections)
    elif kind == "items" and record.items:
        if len(record.items) > 1:
            raise ConversionError(f"{where} edits one item per task, got {len(record.items)}")
        for key, value in record.items[0].items():
            nested = isinstance(value, Mapping)
            out.update({f"{key}_{k}": v for k, v in value.items()} if nested else {key: value})
    elif kind == "labels":
        left = list(record.labels)
        for name in lay.document_controls:
            offered = lay.options(name, data) or []
            if lay.tag(name) == "choices":
                chosen = [lb for lb in record.labels if lb in offered]
                out[name] = chosen if lay.is_multiple(name) else chosen[:1]
                left = [lb for lb in left if lb not in out[name]]
        areas = [n for n in lay.document_controls if lay.tag(n) == "textarea"]
        if left and not areas:
            raise ConversionError(f"{where}: labels {left} are not options of the config")
        if left:
            out[areas[0]] = "\n".join(left)
    return out


def _bind_attribute(lay: Layout, slot: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Put one span attribute in the per-region control that holds it."""
    for name in lay.region_controls:
        flags = lay.tag(name) == "choices" and lay.is_multiple(name)
        if flags and key in (lay.options(name, None) or []):
            if not isinstance(value, bool):
                raise ConversionError(f"{where}: attribute {key!r} must be true or false")
            if value:
                slot.setdefault(name, []).append(key)
            return
        if name == key and not flags:
            slot[name] = value
            return
    raise ConversionError(f"{where} has no per-region control for attribute {key!r}")


def _value(lay: Layout, name: str, value: Any) -> dict[str, Any]:
    tag = lay.tag(name)
    if tag == "choices":
        return {"choices": [str(v) for v in value] if isinstance(value, list) else [str(value)]}
    if tag == "textarea":
        return {"text": [str(value)]}
    return {"rating": int(value)}


def _region(lay: Layout, rid: str, name: str, span: Span, value: dict[str, Any]) -> dict[str, Any]:
    position = {"start": span.start, "end": span.end, "text": span.text}
    return _result(lay, rid, name, {**position, **value})


def _result(lay: Layout, rid: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rid,
        "from_name": name,
        "to_name": lay.text_name,
        "type": lay.tag(name),
        "value": value,
    }


# --- results -> record ------------------------------------------------------------------------


def _read(lay: Layout, name: str, value: Mapping[str, Any]) -> Any:
    """The record value of one result of control ``name``."""
    tag = lay.tag(name)
    if tag == "choices":
        chosen = [str(v) for v in value["choices"]]
        return chosen if lay.is_multiple(name) else (chosen[0] if chosen else None)
    if tag == "textarea":
        return "\n".join(str(line) for line in value["text"])
    return int(value["rating"])


def _attributes(lay: Layout, index: int, values: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"span": index}
    for name in lay.region_controls:
        if lay.tag(name) == "choices" and lay.is_multiple(name):
            chosen = values.get(name) or []
            entry.update({flag: flag in chosen for flag in lay.options(name, None) or []})
        elif values.get(name) is not None:
            entry[name] = values[name]
    return entry


def _read_document(
    lay: Layout, record: Record, values: Mapping[str, Any], principal: list[str]
) -> None:
    """Fill the record's main result (and leftover attributes) from document-level values."""
    kind, left = lay.use_case.kind, dict(values)
    if kind == "labels":
        labels: list[str] = list(principal)
        for name in lay.document_controls:
            value = left.pop(name, None) if lay.tag(name) != "rating" else None
            if isinstance(value, list):
                labels += value
            elif lay.tag(name) == "textarea" and value:
                labels += [v.strip() for v in re.split(r"[\n,;]+", value) if v.strip()]
            elif value:
                labels.append(value)
        record.labels = _unique(labels)
    elif kind == "sections":
        sections = set(lay.use_case.labels)
        record.sections = {
            n: left.pop(n) for n in lay.document_controls if n in sections and n in left
        }
    elif kind == "items" and left:
        item: dict[str, Any] = {}
        for name, value in left.items():
            key, _, sub = name.rpartition("_")
            if key and sub in lay.use_case.labels:
                item.setdefault(key, {})[sub] = value
            else:
                item[name] = value
        record.items, left = [item], {}
    left = {k: v for k, v in left.items() if v is not None}
    if left:
        record.attributes.append(left)


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))
