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
- for a use case with ``roles`` (CIM-10: ``DP``, ``DAS``), a per-region ``<Choices>`` offering
  exactly those roles marks each evidence span, kept as ``attributes`` ``{"span": i, "role":
  "DP"}`` (key: the control's name); the label of a span marked with the first role is the
  principal one and comes first in ``labels``. A principal label without evidence goes in the
  document-level ``<TextArea>`` named after that role (``dp``), if the config has one;
- for a use case with an open ``vocabulary``, codes come from the ``<Choices>`` of suggestions,
  a ``<Taxonomy>`` (the last alias of each path) and the text areas (one code per line),
  normalised (``e11.9`` -> ``E119``) and without duplicates, in that order after the principal.

Options listed in task data (``value="$codes"``) are filled from the prediction: its ranked
suggestions (``provenance["suggestions"]``, best first, with their score and role in the hint)
or else its labels, then its span labels; a ``<Taxonomy value="$taxonomy">`` gets the tree of
the vocabulary around those codes (:mod:`curation.studio.vocabulary`). A prediction's label
that is not among the options goes to the taxonomy if the tree holds it, else to a text area.

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
from curation.studio.validation import read_codes, validate_results
from curation.studio.vocabulary import CodeVocabulary, vocabulary
from curation.usecases.base import UseCase


def prediction_score(record: Record) -> float:
    """Score of a whole prediction: the **minimum** of its span scores (1.0 without spans) and
    of ``provenance["score"]`` when the pre-annotator gives one for the whole document.

    Label Studio's uncertainty sampling serves the lowest-scored tasks first. A document is as
    uncertain as its least certain span: one doubtful name among twenty sure dates must bring
    the document forward, which a mean over many confident spans would hide.
    """
    spans = min((span.score for span in record.spans), default=1.0)
    whole = record.provenance.get("score")  # a document-level prediction's own confidence
    return min(spans, float(whole)) if isinstance(whole, int | float) else spans


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
    data.update(task_options(use_case, prediction, config_dir=config_dir))
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


def task_options(
    use_case: UseCase, prediction: Record | None, *, config_dir: Path | None = None
) -> dict[str, Any]:
    """Task data for the controls whose options come from the task (``value="$codes"``).

    ``<Labels>``/``<Choices>``: the ranked suggestions (with a hint: label, suggested role,
    score) when the prediction has ``provenance["suggestions"]``, else its labels, then its
    span labels; ``<Taxonomy>``: the vocabulary's tree around all of them.
    """
    lay, vocab = layout(use_case, config_dir), vocabulary(use_case)
    ranked = _ranked(prediction)
    out: dict[str, Any] = {}
    for name in (c.name for c in lay.interface.controls):
        key = lay.dynamic_key(name)
        if key is None:
            continue
        if lay.tag(name) == "taxonomy":
            if vocab is None:
                raise ConversionError(
                    f"{lay.path.name}: {name!r} reads a tree from ${key}, but use case "
                    f"{use_case.id} declares no vocabulary to build it from"
                )
            out[key] = vocab.taxonomy(code for code, _, _ in ranked)
        elif vocab is not None:
            out[key] = vocab.options(ranked)
        else:
            out[key] = [{"value": code} for code, _, _ in ranked]
    return out


def record_results(
    use_case: UseCase,
    record: Record,
    data: Mapping[str, Any],
    *,
    config_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """The ``result`` list of ``record`` on a task whose data is ``data`` (not validated).

    Options read from task data are those of ``data``: a label that is not among them goes to
    the taxonomy or the text area, like a code an expert adds to a pushed task.
    """
    return _record_results(layout(use_case, config_dir), record, data)


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
    if lay.region_controls or lay.role:
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
        if lay.role and by_region.get(region, {}).get(lay.role) == use_case.roles[0]
    ]
    typed: list[str] = []
    for item in results:
        if item.get("from_name") == lay.principal and lay.principal:
            typed += read_codes(lay, lay.principal, item.get("value") or {})
    _read_document(lay, record, document, _codes(use_case, principal + typed)[:1])
    if lay.principal and typed and not principal:  # a DP without evidence: say it was chosen
        record.attributes.append({lay.principal: _codes(use_case, typed)[0]})
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
    roles = lay.use_case.roles
    if lay.role and not any(lay.role in slot for slot in per_span):
        principal = record.labels[0] if record.labels else None
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
    marked = {
        span.label
        for i, span in enumerate(record.spans)
        if lay.role is not None and per_span[i].get(lay.role) == roles[0]
    }
    document.update(_document_values(lay, record, data, where, marked))
    for name, value in document.items():
        if name not in lay.document_controls and name != lay.principal:
            raise ConversionError(f"{where} has no document-level control {name!r}")
        if value not in (None, "", [], {}):
            out.append(_result(lay, f"doc-{name}", name, _value(lay, name, value)))
    return out


def _document_values(
    lay: Layout, record: Record, data: Mapping[str, Any], where: str, marked: set[str]
) -> dict[str, Any]:
    """Document-level control name -> value, for the use case's main result.

    ``marked``: the labels whose evidence carries the principal role; a principal label
    without one goes to the principal text area.
    """
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
        if lay.principal and left and left[0] not in marked:
            out[lay.principal], left = left[0], left[1:]
        for name in lay.document_controls:
            offered = lay.options(name, data) or []
            if lay.tag(name) == "choices":
                chosen = [lb for lb in left if lb in offered]
                out[name] = chosen if lay.is_multiple(name) else chosen[:1]
                left = [lb for lb in left if lb not in out[name]]
        vocab = vocabulary(lay.use_case)
        for name in lay.document_controls:
            tree = lay.tree(name, data) if lay.tag(name) == "taxonomy" else None
            if tree and vocab is not None:
                paths = [vocab.path(lb) for lb in left if vocab.known(lb)]
                out[name] = [p for p in paths if tuple(p) in tree]
                placed = {p[-1] for p in out[name]}
                left = [lb for lb in left if lb not in placed]
        areas = [n for n in lay.document_controls if lay.tag(n) == "textarea"]
        if left and not areas:
            raise ConversionError(f"{where}: labels {left} are not options of the config")
        if left:
            out[areas[0]] = "\n".join(left)
    return out


def _bind_attribute(lay: Layout, slot: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Put one span attribute in the per-region control that holds it (the role: its own)."""
    if key == lay.role:
        slot[key] = value
        return
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
    if tag == "taxonomy":
        return {"taxonomy": [[str(p) for p in path] for path in value]}
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
    if tag == "taxonomy":
        return read_codes(lay, name, value)
    return int(value["rating"])


def _attributes(lay: Layout, index: int, values: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"span": index}
    if lay.role and values.get(lay.role) is not None:
        entry[lay.role] = values[lay.role]
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
        record.labels = _codes(lay.use_case, labels)
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


def _ranked(prediction: Record | None) -> list[tuple[str, float | None, str | None]]:
    """``(code, score, role)`` of a prediction's suggestions, best first, then its labels."""
    if prediction is None:
        return []
    suggestions = prediction.provenance.get("suggestions") or []
    ranked: list[tuple[str, float | None, str | None]] = [
        (str(s["code"]), s.get("score"), s.get("role"))
        for s in sorted(suggestions, key=lambda s: -float(s.get("score") or 0.0))
    ]
    if not ranked:
        ranked = [(label, None, None) for label in prediction.labels]
    ranked += [(span.label, None, None) for span in prediction.spans]
    first: dict[str, tuple[str, float | None, str | None]] = {}
    for entry in ranked:
        first.setdefault(entry[0], entry)
    return list(first.values())


def _codes(use_case: UseCase, values: Sequence[str]) -> list[str]:
    """Labels without duplicates; codes of a vocabulary normalised first (``e11.9`` -> ``E119``)."""
    vocab: CodeVocabulary | None = vocabulary(use_case)
    return _unique([vocab.normalise(v) for v in values] if vocab else list(values))


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))
