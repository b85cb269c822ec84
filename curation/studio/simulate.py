"""Simulated annotators: Label Studio users who correct pre-annotated tasks from the answer key.

Each simulated annotator is a real user of the server with an error profile
(:class:`~curation.settings.AnnotatorProfile`). For a task it reads the synthetic gold of the
document, perturbs it (spans missed, boundaries moved, labels swapped, spurious spans added),
and submits the result **as that user**, starting from the task's prediction like an expert in
the editor: regions left as predicted keep the prediction's region id, the annotation names its
``parent_prediction``, and ``lead_time`` grows with the text length and the number of changes.
Everything drawn at random depends on ``(seed, annotator e-mail, doc_id)`` only, so a simulation
is reproducible whatever the order of the tasks.

Annotators act as their own Label Studio users (see :mod:`curation.studio.accounts`).

Overlap: in a shared project a task receives annotations until it has as many annotators as
its ``overlap`` (set by the project's ``maximum_annotations``), from annotators chosen in turn
so that the load is balanced; annotators who already annotated a task are never asked again,
so running the simulation twice adds nothing. In a project assigned to given annotators (one
project per annotator), each of them annotates every task once.

Examples
--------
A careful expert who leaves out nothing and moves nothing returns the gold of
« Patient vu par le Dr Martin le 12/03/2024. » unchanged
(see :func:`~curation.studio.perturbation.perturb`).
"""

from __future__ import annotations

import logging
import random
import string
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from label_studio_sdk.client import LabelStudio

from curation.io import read_records
from curation.progress import progress_bar
from curation.schema import Record
from curation.settings import AnnotatorProfile, Params, SimulateSettings, StudioSettings
from curation.stages.pull import REVIEW_SUFFIX, pushed_projects, server_errors
from curation.stages.score import reference_path
from curation.studio.accounts import Annotator, annotators
from curation.studio.client import connect
from curation.studio.converters import record_results
from curation.studio.layout import layout
from curation.studio.perturbation import annotator_rng, perturb
from curation.studio.server import StudioError
from curation.studio.validation import validate_results
from curation.studio.vocabulary import vocabulary
from curation.usecases import get
from curation.usecases.base import UseCase

logger = logging.getLogger(__name__)

ID_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class ProjectTarget:
    """A project to annotate, and who annotates it (``None``: every annotator, by overlap)."""

    project_id: int
    annotators: tuple[str, ...] | None = None


@dataclass(slots=True)
class SimulateSummary:
    """What a simulation did, per annotator."""

    use_case: str
    projects: list[int] = field(default_factory=list)
    tasks: int = 0
    posted: Counter[str] = field(default_factory=Counter)
    already: int = 0
    without_gold: int = 0
    posts_as: dict[str, str] = field(default_factory=dict)
    unstaffed: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def render(self) -> str:
        lines = [
            f"simulated annotators on {self.use_case}: {sum(self.posted.values())} annotations "
            f"posted on {self.tasks} tasks of project(s) {self.projects} in {self.seconds:.1f} s",
        ]
        for name, how in sorted(self.posts_as.items()):
            lines.append(f"  {name:<16} {self.posted[name]:>5} annotations, posted with {how}")
        if self.already:
            lines.append(f"  {self.already} task/annotator pairs already annotated (left alone)")
        if self.without_gold:
            lines.append(f"  {self.without_gold} tasks have no gold record: not annotated")
        if self.unstaffed:
            lines.append(
                f"  project(s) {self.unstaffed} belong to annotators without a profile in "
                "simulate.annotators: left alone"
            )
        return "\n".join(lines)


# --- results ----------------------------------------------------------------------------------


def annotation_result(
    use_case: UseCase,
    task: Mapping[str, Any],
    record: Record,
    prediction: Mapping[str, Any] | None,
    rng: random.Random,
) -> list[dict[str, Any]]:
    """The Label Studio ``result`` of ``record`` on ``task``, edited from ``prediction``.

    Regions equal to a predicted one (same offsets and label) keep the prediction's region id,
    as when an expert leaves a pre-annotation untouched; new regions get fresh ids. Options
    read from task data are the task's: a span whose label the task does not offer cannot be
    drawn in the editor and is left out (its code still goes to the taxonomy or text area).

    Raises
    ------
    StudioError
        If the result does not fit the config and the task (names the ``doc_id``).
    """
    lay = layout(use_case)
    data = task["data"]
    result = record_results(use_case, drawable(use_case, record, data), data)
    predicted: dict[tuple[int, int, str], str] = {}
    for item in (prediction or {}).get("result") or []:
        if item.get("from_name") == lay.spans and item.get("id"):
            value = item["value"]
            for label in value.get("labels") or []:
                predicted.setdefault((value["start"], value["end"], label), str(item["id"]))
    renamed: dict[str, str] = {}
    for item in result:
        item.pop("score", None)
        if item.get("from_name") == lay.spans:
            value = item["value"]
            reuse = predicted.pop((value["start"], value["end"], value["labels"][0]), None)
            renamed[item["id"]] = reuse or "".join(rng.choices(ID_CHARS, k=10))
    for item in result:
        for key in ("id", "from_id", "to_id"):
            if item.get(key) in renamed:
                item[key] = renamed[item[key]]
    problems = validate_results(use_case, result, task=task)
    if problems:
        raise StudioError(
            f"doc_id {data['doc_id']}: the simulated annotation does not fit the task: "
            f"{problems[:3]}"
        )
    return result


def drawable(use_case: UseCase, record: Record, data: Mapping[str, Any]) -> Record:
    """``record`` without the spans whose label the task's ``<Labels>`` does not offer."""
    lay = layout(use_case)
    offered = lay.options(lay.spans, data) if lay.spans else None
    if offered is None or all(span.label in offered for span in record.spans):
        return record
    keep = [i for i, span in enumerate(record.spans) if span.label in offered]
    index = {old: new for new, old in enumerate(keep)}
    out = Record(
        doc_id=record.doc_id,
        use_case=record.use_case,
        origin=record.origin,
        spans=[record.spans[i] for i in keep],
        labels=list(record.labels),
        sections=dict(record.sections),
        items=list(record.items),
    )
    out.relations = [
        {**r, "from": index[r["from"]], "to": index[r["to"]]}
        for r in record.relations
        if r["from"] in index and r["to"] in index
    ]
    out.attributes = [
        {**a, "span": index[a["span"]]} if "span" in a else dict(a)
        for a in record.attributes
        if "span" not in a or a["span"] in index
    ]
    return out


def changed_regions(prediction: Mapping[str, Any] | None, result: Sequence[Any]) -> int:
    """How many regions differ between the prediction and the result (offsets and labels)."""

    def keys(items: Sequence[Any]) -> Counter[tuple[Any, ...]]:
        return Counter(
            (i["from_name"], i["value"].get("start"), i["value"].get("end"), str(i["value"]))
            for i in items
            if isinstance(i, Mapping) and isinstance(i.get("value"), Mapping)
        )

    before, after = keys((prediction or {}).get("result") or []), keys(result)
    return sum(((before - after) + (after - before)).values())


def lead_time(
    settings: SimulateSettings, profile: AnnotatorProfile, chars: int, edits: int, rng: Any
) -> float:
    """Seconds the annotator spent: reading plus editing, over its speed, with some jitter."""
    seconds = (
        settings.seconds_base
        + settings.seconds_per_kchar * chars / 1000
        + settings.seconds_per_edit * edits
    )
    return round(seconds / profile.speed * rng.lognormvariate(0.0, 0.25), 1)


# --- users ------------------------------------------------------------------------------------


# --- the simulation ---------------------------------------------------------------------------


def simulate(
    admin: LabelStudio,
    use_case: UseCase,
    gold: Mapping[str, Record],
    targets: Sequence[ProjectTarget],
    settings: SimulateSettings,
    studio: StudioSettings,
    *,
    progress: bool = False,
) -> SimulateSummary:
    """Let the simulated annotators annotate the tasks of ``targets`` from ``gold``.

    Parameters
    ----------
    admin
        A client authenticated as an administrator of the projects.
    use_case
        The use case of the projects (its config says how results are written).
    gold
        The answer key, by ``doc_id``; tasks of other documents are left alone (counted).
    targets
        The projects, with the annotators assigned to each (``None``: shared, by overlap).
    settings
        Annotator profiles, seed and lead-time model.
    studio
        The server settings (URL and administrator token, to sign the annotators in).
    progress
        Show a progress bar on a terminal.
    """
    started = time.perf_counter()
    team = annotators(admin, studio, settings.annotators)
    by_email = {a.email: a for a in team}
    summary = SimulateSummary(use_case.id, projects=[t.project_id for t in targets])
    summary.posts_as = {a.profile.name: a.posts_as for a in team}
    lay = layout(use_case)
    labels = list(lay.interface.get_control(lay.spans).labels or []) if lay.spans else []
    turn = 0
    for target in targets:
        if target.annotators is None:
            crew = team
        else:
            crew = [by_email[e.lower()] for e in target.annotators if e.lower() in by_email]
        if not crew:
            summary.unstaffed.append(target.project_id)
            continue
        version = admin.projects.get(id=target.project_id).model_version
        project = target.project_id
        pages: Iterable[Any] = admin.tasks.list(project=project, fields="all", page_size=100)
        tasks = sorted((t.model_dump() for t in pages), key=lambda t: int(t["id"]))
        for task in progress_bar(tasks, desc=f"simulate {use_case.id}", enabled=progress):
            summary.tasks += 1
            record = gold.get(str(task["data"].get("doc_id")))
            if record is None:
                summary.without_gold += 1
                continue
            done = {_user_id(a.get("completed_by")) for a in task.get("annotations") or []}
            summary.already += sum(a.user_id in done for a in crew)
            if target.annotators is None:
                wanted = max(min(int(task.get("overlap") or 1), len(crew)) - len(done), 0)
            else:
                wanted = len(crew)
            rotation = [crew[(turn + k) % len(crew)] for k in range(len(crew))]
            chosen = [a for a in rotation if a.user_id not in done][:wanted]
            turn += len(chosen)
            prediction = _prediction(task, version)
            for annotator in chosen:
                _post(admin, annotator, use_case, task, record, prediction, labels, settings)
                summary.posted[annotator.profile.name] += 1
    summary.seconds = time.perf_counter() - started
    return summary


def _post(
    admin: LabelStudio,
    annotator: Annotator,
    use_case: UseCase,
    task: Mapping[str, Any],
    gold: Record,
    prediction: Mapping[str, Any] | None,
    labels: Sequence[str],
    settings: SimulateSettings,
) -> None:
    """Create one annotation of ``annotator`` on ``task``."""
    lay = layout(use_case)
    text = str(task["data"][lay.text_key])
    rng = annotator_rng(settings.seed, annotator.email, gold.doc_id)
    vocab = vocabulary(use_case)
    edited = perturb(
        gold,
        text,
        annotator.profile,
        labels,
        rng,
        roles=use_case.roles,
        siblings=vocab.siblings if vocab else None,
        role_key=lay.role,
        attributes=use_case.span_attributes,
    )
    result = annotation_result(use_case, task, edited, prediction, rng)
    seconds = lead_time(
        settings, annotator.profile, len(text), changed_regions(prediction, result), rng
    )
    parent = int(prediction["id"]) if prediction else None
    if annotator.client is not None:
        annotator.client.annotations.create(
            id=int(task["id"]), result=result, lead_time=seconds, parent_prediction=parent
        )
    else:
        admin.annotations.create(
            id=int(task["id"]),
            result=result,
            lead_time=seconds,
            parent_prediction=parent,
            completed_by=annotator.user_id,
        )
    logger.debug("doc_id %s: annotation posted for %s", gold.doc_id, annotator.profile.name)


def _prediction(task: Mapping[str, Any], model_version: str | None) -> dict[str, Any] | None:
    """The prediction an annotator starts from: the project's model version, else the latest."""
    predictions = sorted(task.get("predictions") or [], key=lambda p: int(p["id"]))
    current = [p for p in predictions if model_version and p.get("model_version") == model_version]
    chosen = (current or predictions or [None])[-1]
    return dict(chosen) if chosen else None


def _user_id(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return int(value) if value is not None else None


def read_gold(path: Path) -> dict[str, Record]:
    """The answer key, by ``doc_id``."""
    return {record.doc_id: record for record in read_records(path)}


def run(
    use_case_id: str,
    params: Params,
    *,
    progress: bool = True,
    targets: Sequence[ProjectTarget] | None = None,
    admin: LabelStudio | None = None,
    review: bool = False,
) -> SimulateSummary:
    """``curation simulate-annotators``: annotate the use case's pushed projects.

    With ``review``, the simulated reviewer (``simulate.reviewer``) settles the tasks of the
    review project (``curation review``) instead.
    """
    use_case = get(use_case_id)
    settings = params.simulate
    path = Path(settings.answer_key) if settings.answer_key else reference_path(use_case_id, params)
    gold = read_gold(path)
    if targets is None:
        projects = pushed_projects(use_case, params)
        targets = pushed_targets(projects, review=review, reviewer=settings.reviewer.email)
    if review:
        settings = settings.model_copy(update={"annotators": [settings.reviewer]})
    with server_errors(params.studio, "simulate-annotators"):
        admin = admin or connect(params.studio)
        return simulate(admin, use_case, gold, targets, settings, params.studio, progress=progress)


def pushed_targets(
    projects: Mapping[str, int], review: bool = False, reviewer: str = ""
) -> list[ProjectTarget]:
    """Targets of the projects ``push`` stored (key ``<use_case>@<version>[/<e-mail>]`` -> id).

    The review project (key ending in ``/review``) is the reviewer's, and only it, when
    ``review``; it is left out otherwise.
    """
    if review:
        return [
            ProjectTarget(pid, (reviewer,))
            for key, pid in sorted(projects.items())
            if key.endswith(REVIEW_SUFFIX)
        ]
    return [
        ProjectTarget(pid, (key.partition("/")[2],) if "/" in key else None)
        for key, pid in sorted(projects.items())
        if not key.endswith(REVIEW_SUFFIX)
    ]
