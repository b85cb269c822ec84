"""Stage ``pull``: every expert annotation of a use case, from Label Studio to a DVC snapshot.

Writes ``data/annotations/<use_case>.jsonl``: one line per annotation (every annotator of every
task of the use case's project(s)), in the record format shared with the answer keys and the
predictions, plus an ``annotation`` object with where the annotation comes from::

    {"doc_id": "...", "use_case": "pseudonymisation", "origin": "annotator:dr.x@chu.fr",
     "spans": [{"start": 10, "end": 16, "label": "NOM", "text": "...", "score": 1.0}],
     "annotation": {
       "id": 41, "project_id": 3, "task_id": 17, "use_case_version": "v1",
       "annotator": {"id": 5, "email": "dr.x@chu.fr"},
       "created_at": "2026-11-23T11:58:28.847758Z", "updated_at": "2026-11-23T12:01:02.100000Z",
       "lead_time": 41.3, "was_cancelled": false, "ground_truth": false,
       "prediction_id": 12, "prediction_model_version": "phi-rules+bert-v1"}}

``origin`` is ``annotator:<e-mail>`` (``annotator:<user id>`` when the server does not say the
e-mail); times are the server's ISO 8601 UTC strings; ``lead_time`` is in seconds;
``prediction_*`` name the pre-annotation the expert started from (``null`` without one).
Lines are sorted by ``doc_id``, annotator, annotation id, and the file is rewritten only when
its content changes, so that pulling again with no new work leaves it byte-identical.

It also measures how much the experts changed the pre-annotations, per label, and writes
``reports/<use_case>/preannotation_edits.json`` (DVC metrics); see :func:`span_edits`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from curation import paths
from curation.io import atomic_writer
from curation.schema import Record, Span
from curation.settings import Params, PullSettings, StudioSettings
from curation.studio.client import connect
from curation.studio.converters import annotation_to_record
from curation.studio.projects import ProjectStore
from curation.studio.server import StudioError
from curation.usecases import get
from curation.usecases.base import UseCase

#: Store keys of review projects end with this (see :mod:`curation.stages.review`).
REVIEW_SUFFIX = "/review"

#: How a predicted span fared, in the order they are matched.
EDIT_KINDS = ("kept", "moved", "relabelled", "added", "deleted")


@dataclass(frozen=True, slots=True)
class Edit:
    """What happened to one predicted span (or where an expert added one).

    ``label`` is the predicted label (the added span's label for ``added``); ``to_label`` is
    the expert's label of a ``relabelled`` span.
    """

    kind: str
    label: str
    to_label: str | None = None


def span_edits(predicted: Sequence[Span], annotated: Sequence[Span]) -> list[Edit]:
    """Match predicted and annotated spans, one to one, and say what became of each.

    In this order: **kept** (same offsets and label), **relabelled** (same offsets, another
    label), **moved** (overlapping, same label, other offsets; the largest overlaps first),
    then annotated spans left are **added** and predicted spans left are **deleted**.

    Examples
    --------
    « Dr Martin vu le 12/03/2024 » predicted ``NOM`` on « Dr Martin » and ``DATE`` on the date;
    the expert keeps the date and trims the title: one ``kept`` (DATE), one ``moved`` (NOM).
    """
    left = list(range(len(predicted)))
    right = list(range(len(annotated)))
    edits: list[Edit] = []

    def take(i: int, j: int, edit: Edit) -> None:
        left.remove(i)
        right.remove(j)
        edits.append(edit)

    for same_label in (True, False):
        for i in list(left):
            p = predicted[i]
            for j in right:
                a = annotated[j]
                if (p.start, p.end) == (a.start, a.end) and (p.label == a.label) == same_label:
                    kind = "kept" if same_label else "relabelled"
                    take(i, j, Edit(kind, p.label, None if same_label else a.label))
                    break
    pairs = sorted(
        (-(min(p.end, a.end) - max(p.start, a.start)), i, j)
        for i in left
        for j in right
        if (p := predicted[i]).label == (a := annotated[j]).label
        and p.start < a.end
        and a.start < p.end
    )
    for _, i, j in pairs:
        if i in left and j in right:
            take(i, j, Edit("moved", predicted[i].label))
    edits += [Edit("added", annotated[j].label) for j in right]
    edits += [Edit("deleted", predicted[i].label) for i in left]
    return edits


def label_edits(predicted: Sequence[str], annotated: Sequence[str]) -> list[Edit]:
    """Document labels: ``kept`` in both, ``added`` by the expert, ``deleted`` by the expert."""
    edits = [Edit("kept", lb) for lb in predicted if lb in annotated]
    edits += [Edit("added", lb) for lb in annotated if lb not in predicted]
    return edits + [Edit("deleted", lb) for lb in predicted if lb not in annotated]


def record_edits(kind: str, predicted: Record, annotated: Record) -> list[Edit] | None:
    """Edits of a use case's main result (``None`` for generated text: sections, items)."""
    if kind == "spans":
        return span_edits(predicted.spans, annotated.spans)
    if kind == "labels":
        return label_edits(predicted.labels, annotated.labels)
    return None


def _counts(edits: Iterable[Edit], predicted: int, annotated: int) -> dict[str, Any]:
    tally = Counter(edit.kind for edit in edits)
    row: dict[str, Any] = {"predicted": predicted, "annotated": annotated}
    row.update({kind: tally[kind] for kind in EDIT_KINDS})
    row["kept_rate"] = round(tally["kept"] / predicted, 4) if predicted else None
    return row


def edit_statistics(compared: Iterable[tuple[str, list[Edit]]]) -> dict[str, Any]:
    """Totals, per label, per relabelling and per annotator of ``(annotator, edits)`` pairs.

    ``predicted`` counts predicted spans (or labels) of the compared annotations, ``annotated``
    the expert's; ``kept_rate`` is the share of predictions the expert left as they were.
    """
    everything: list[Edit] = []
    by_annotator: dict[str, list[Edit]] = defaultdict(list)
    for annotator, edits in compared:
        everything += edits
        by_annotator[annotator] += edits

    def summary(edits: list[Edit]) -> dict[str, Any]:
        predicted = sum(e.kind != "added" for e in edits)
        return _counts(edits, predicted, sum(e.kind != "deleted" for e in edits))

    labels = sorted({e.label for e in everything} | {e.to_label or e.label for e in everything})
    per_label = {}
    for label in labels:
        mine = [e for e in everything if e.label == label]
        received = sum(e.to_label == label for e in everything)
        predicted = sum(e.kind != "added" for e in mine)
        annotated = sum(e.kind in ("kept", "moved", "added") for e in mine) + received
        per_label[label] = _counts(mine, predicted, annotated)
    pairs = Counter(f"{e.label} -> {e.to_label}" for e in everything if e.kind == "relabelled")
    return {
        "total": summary(everything),
        "per_label": per_label,
        "relabelled_pairs": dict(sorted(pairs.items())),
        "per_annotator": {k: summary(v) for k, v in sorted(by_annotator.items())},
    }


# --- reading the server -----------------------------------------------------------------------


def export_tasks(admin: LabelStudio, project_id: int) -> list[dict[str, Any]]:
    """Every task of a project with its annotations (JSON export, unannotated tasks included)."""
    chunks = admin.projects.exports.download_sync(
        project_id, export_type="JSON", download_all_tasks=True
    )
    tasks: list[dict[str, Any]] = json.loads(b"".join(chunks))
    return tasks


def project_predictions(admin: LabelStudio, project_id: int) -> dict[int, dict[str, Any]]:
    """Prediction contents by id (the export gives their ids only)."""
    found = admin.predictions.list(project=project_id)
    return {int(p.id or 0): p.model_dump() for p in found}


def started_from(
    annotation: Mapping[str, Any], predictions: Mapping[int, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The prediction an annotation started from: its ``parent_prediction``, else the copy of
    the project's current prediction that the server stores with a submitted annotation."""
    parent = annotation.get("parent_prediction")
    if parent is not None and int(parent) in predictions:
        return predictions[int(parent)]
    snapshot = annotation.get("prediction")
    if isinstance(snapshot, Mapping) and snapshot.get("id") is not None:
        return predictions.get(int(snapshot["id"]), snapshot if "result" in snapshot else None)
    return None


@dataclass(slots=True)
class Pulled:
    """One annotation as written, with what the edit statistics need."""

    key: tuple[str, str, int]
    line: str
    annotator_id: str
    cancelled: bool
    edits: list[Edit] | None


def pull_project(
    use_case: UseCase,
    project_id: int,
    tasks: Sequence[Mapping[str, Any]],
    predictions: Mapping[int, Mapping[str, Any]],
    emails: Mapping[int, str],
    settings: PullSettings,
    review: bool = False,
) -> list[Pulled]:
    """Our annotation records (as JSON lines) of a project's exported tasks.

    ``review`` marks a review project (conflicts sent back by ``curation review``): its
    annotations are flagged ``review`` and left out of the edit statistics, since they start
    from the annotators' versions, not from a model.
    """
    out: list[Pulled] = []
    for task in tasks:
        for annotation in task.get("annotations") or []:
            cancelled = bool(annotation.get("was_cancelled"))
            if cancelled and not settings.include_cancelled:
                continue
            if cancelled:  # a skipped task: no result, only the fact that it was skipped
                record = Record(str(task["data"]["doc_id"]), use_case.id, "")
            else:
                record = annotation_to_record(use_case, task, annotation)
            user = annotation.get("completed_by")
            user_id = int(user["id"] if isinstance(user, Mapping) else user)
            email = emails.get(user_id)
            who = email or str(user_id)
            record.origin = f"annotator:{who}"
            prediction = started_from(annotation, predictions)
            edits = None
            if prediction is not None and not cancelled and not review:
                predicted = annotation_to_record(use_case, task, prediction)
                edits = record_edits(use_case.kind, predicted, record)
            meta = {
                "id": int(annotation["id"]),
                "project_id": project_id,
                "task_id": int(task["id"]),
                "use_case_version": str(task["data"].get("use_case_version", use_case.version)),
                "annotator": {"id": user_id, "email": email},
                "created_at": annotation.get("created_at"),
                "updated_at": annotation.get("updated_at"),
                "lead_time": annotation.get("lead_time"),
                "was_cancelled": cancelled,
                "ground_truth": bool(annotation.get("ground_truth")),
                "review": review,
                "prediction_id": int(prediction["id"]) if prediction else None,
                "prediction_model_version": prediction.get("model_version") if prediction else None,
            }
            line = json.dumps({**record.to_dict(), "annotation": meta}, ensure_ascii=False)
            key = (record.doc_id, who, int(meta["id"]))
            out.append(Pulled(key, line, str(user_id), cancelled, edits))
    return out


def write_if_changed(path: Path, content: str) -> bool:
    """Write ``content`` to ``path`` (atomically) unless the file holds it already."""
    if path.exists() and path.read_bytes() == content.encode("utf-8"):
        return False
    with atomic_writer(path) as handle:
        handle.write(content)
    return True


def pushed_projects(use_case: UseCase, params: Params) -> dict[str, int]:
    """The use case's projects that ``push`` stored for the configured server: key -> id.

    Keys are ``<use_case>@<version>`` (the shared project) or ``<use_case>@<version>/<e-mail>``
    (one project per named annotator).
    """
    studio = params.studio
    server = studio.server
    found = ProjectStore(params.push.store).for_use_case(server, use_case)
    if not found:
        raise StudioError(
            f"{params.push.store}: no project of {use_case.id} {use_case.version} on {server}; "
            f"run `curation push {use_case.id}` first"
        )
    return found


@contextmanager
def server_errors(studio: StudioSettings, command: str) -> Iterator[None]:
    """Turn the SDK's and httpx's errors into a :class:`StudioError` that says what to do."""
    server = studio.server
    try:
        yield
    except ApiError as exc:
        raise StudioError(
            f"{server} answered HTTP {exc.status_code} during {command}; fix the cause and run "
            "it again (it resumes: work already done is kept)"
        ) from None
    except httpx.HTTPError as exc:
        raise StudioError(
            f"lost the connection to {server} ({type(exc).__name__}) during {command}; run it "
            "again once the server answers"
        ) from None


# --- the stage --------------------------------------------------------------------------------


@dataclass(slots=True)
class PullSummary:
    use_case: str
    output: str
    report: str
    projects: list[int] = field(default_factory=list)
    tasks: int = 0
    annotated_tasks: int = 0
    annotations: int = 0
    cancelled: int = 0
    annotators: int = 0
    changed: bool = False
    edits: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        state = "written" if self.changed else "unchanged"
        lines = [
            f"pulled {self.annotations} annotations ({self.cancelled} skipped) by "
            f"{self.annotators} annotators on {self.annotated_tasks}/{self.tasks} tasks of "
            f"project(s) {self.projects} -> {self.output} ({state})",
        ]
        compared = self.edits.get("compared", 0)
        if not compared:
            lines.append("  no annotation to compare with a pre-annotation")
            return "\n".join(lines)
        total = self.edits["total"]
        lines.append(
            f"  edits of the pre-annotations ({compared} annotations compared, -> {self.report}): "
            + ", ".join(f"{k} {total[k]}" for k in EDIT_KINDS)
            + f"; kept {_percent(total['kept_rate'])} of {total['predicted']} predictions"
        )
        header = f"  {'label':<18}" + "".join(f"{k:>11}" for k in (*EDIT_KINDS, "kept %"))
        lines.append(header)
        for label, row in self.edits["per_label"].items():
            cells = "".join(f"{row[k]:>11}" for k in EDIT_KINDS)
            lines.append(f"  {label:<18}{cells}{_percent(row['kept_rate']):>11}")
        pairs = Counter(self.edits["relabelled_pairs"]).most_common()
        for pair, count in pairs[:10]:
            lines.append(f"  relabelled {pair}: {count}")
        if len(pairs) > 10:
            lines.append(f"  ... and {len(pairs) - 10} other relabellings (see {self.report})")
        return "\n".join(lines)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def pull(
    admin: LabelStudio,
    use_case: UseCase,
    project_ids: Sequence[int],
    settings: PullSettings,
    *,
    output: Path,
    report: Path,
    review_ids: Collection[int] = (),
) -> PullSummary:
    """Export, convert and write the annotations and the edit statistics of ``project_ids``."""
    summary = PullSummary(use_case.id, str(output), str(report), projects=list(project_ids))
    emails = {int(u.id or 0): str(u.email) for u in admin.users.list() if u.email}
    pulled: list[Pulled] = []
    for project_id in project_ids:
        tasks = export_tasks(admin, project_id)
        summary.tasks += len(tasks)
        summary.annotated_tasks += sum(bool(t.get("annotations")) for t in tasks)
        predictions = project_predictions(admin, project_id)
        review = project_id in review_ids
        pulled += pull_project(use_case, project_id, tasks, predictions, emails, settings, review)
    pulled.sort(key=lambda p: p.key)
    summary.annotations = len(pulled)
    summary.cancelled = sum(p.cancelled for p in pulled)
    summary.annotators = len({p.key[1] for p in pulled})
    summary.changed = write_if_changed(output, "".join(p.line + "\n" for p in pulled))
    compared = [(p.annotator_id, p.edits) for p in pulled if p.edits is not None]
    summary.edits = {
        "annotations": summary.annotations,
        "compared": len(compared),
        "without_prediction": summary.annotations - summary.cancelled - len(compared),
        **edit_statistics(compared),
    }
    text = json.dumps(summary.edits, indent=2, ensure_ascii=False) + "\n"
    write_if_changed(report, text)
    return summary


def run(
    use_case_id: str,
    params: Params,
    *,
    admin: LabelStudio | None = None,
    project_ids: Sequence[int] | None = None,
    output: Path | None = None,
    report: Path | None = None,
) -> PullSummary:
    """``curation pull <use_case>``: snapshot of the use case's annotations and edit metrics."""
    use_case = get(use_case_id)
    review_ids: set[int] = set()
    if project_ids is None:
        projects = pushed_projects(use_case, params)
        project_ids = sorted(projects.values())
        review_ids = {pid for key, pid in projects.items() if key.endswith(REVIEW_SUFFIX)}
    with server_errors(params.studio, "pull"):
        admin = admin or connect(params.studio)
        return pull(
            admin,
            use_case,
            project_ids,
            params.pull,
            output=output or paths.annotations(use_case_id),
            report=report or paths.report_dir(use_case_id) / "preannotation_edits.json",
            review_ids=review_ids,
        )
