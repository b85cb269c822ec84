"""Stage ``push``: documents + predictions -> Label Studio tasks, idempotent and resumable.

Each document of the use case's table becomes one task (``record_to_task``: text, ``doc_id``,
``sha256``, use case and version) pre-annotated with its prediction from
``data/preannotations/<use_case>.jsonl`` (``model_version`` = the prediction's origin,
``score`` = its least confident span). Predictions are checked against the labeling config
(``validate_results``) before anything is imported: the server itself accepts any label.

Idempotent and resumable: the ``doc_id`` of every task already in a project is listed first and
only the missing documents are imported, in batches of ``studio.batch_size`` (one request
each). A second push imports nothing, a new batch of documents only the new ones, and a push cut
off half-way (crash, lost connection) is finished by running it again.

Queue order (active learning): tasks are imported sorted by ascending score, so that the data
manager's default order and sequential sampling serve the least confident first, and the project
is set to ``Uncertainty sampling`` on the predictions' ``model_version``.

What the open-source server (Label Studio 1.23) enforces, checked against a running server in
``tests/studio/test_push.py``:

- ``maximum_annotations = k`` with ``overlap_cohort_percentage = p`` gives ``p`` % of the tasks
  (rounded) ``overlap = k`` and the others ``overlap = 1``. The server draws which tasks, and
  draws again among the tasks not yet fully annotated whenever tasks are imported or the two
  settings change: the share holds, the choice of tasks is not ours.
- The label stream (``GET /api/projects/<id>/next``) holds to it: a task of overlap ``k`` is
  served to ``k`` different users and then to nobody, a task of overlap 1 to one user, and a
  served task carries none of the other users' annotations.
- Nothing else is enforced. Every user of the open-source edition has every permission: anyone
  can open any project and read every annotation through the data manager or the API, so
  overlap is blind only for annotators who stay in the stream. There is no task assignment to
  a named user (an Enterprise feature) and no project membership.
- ``sampling = "Uncertainty sampling"`` serves the lowest prediction ``score`` first among the
  tasks whose predictions carry the project's ``model_version``; the server refuses a
  ``model_version`` that no prediction of the project carries, so it is set after the import.

Assignment, built on that (``push.annotators``):

- No annotators named: one shared project (``"<use_case> v1"``) with ``maximum_annotations =
  overlap_k`` and ``overlap_cohort_percentage = overlap_share`` in whole percent; the stream
  spreads the work and keeps overlap blind as far as above.
- Annotators named (e-mails): one project per annotator (``"<use_case> v1 — <e-mail>"``) holding
  exactly that annotator's tasks, ``maximum_annotations = 1``. ``round(overlap_share × n)``
  documents are copied to ``overlap_k`` annotators' projects, the others go to one
  (:func:`curation.studio.projects.assign`: seeded, least-loaded first, so round-robin). Blind
  by construction as long as each annotator opens only their project. Each task's ``meta``
  records ``assigned_to``, so that a re-run completes a half-pushed overlap document with the
  same annotators; documents already pushed are never reassigned. ``pull`` merges the projects
  by ``doc_id``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from curation import paths
from curation.io import atomic_writer
from curation.progress import progress_bar
from curation.schema import Record
from curation.settings import Params, PushSettings
from curation.stages.preannotate import documents_path
from curation.studio import projects as lsp
from curation.studio.client import connect
from curation.studio.converters import prediction_score, record_to_task
from curation.studio.layout import CONFIG_DIR, ConversionError, load_config
from curation.studio.validation import validate_results
from curation.usecases import get
from curation.usecases.base import UseCase


class PushError(ValueError):
    """The inputs of a push are wrong (the message names the file and the doc_id)."""


@dataclass(slots=True)
class ProjectReport:
    """What one project holds after the push."""

    project_id: int
    title: str
    url: str
    how: str  # stored | found | created
    annotator: str | None = None
    imported: int = 0
    present: int = 0  # documents of this push already in the project
    held: int = 0  # tasks in the project before the push
    overlap_tasks: int = 0
    duplicates: int = 0
    foreign: int = 0
    changed: list[str] = field(default_factory=list)
    active_learning: bool = False

    @property
    def tasks(self) -> int:
        return self.imported + self.held


@dataclass(slots=True)
class PushSummary:
    use_case: str
    version: str
    server: str
    documents: int = 0
    model_version: str | None = None
    without_prediction: int = 0
    orphan_predictions: int = 0
    overlap_share: float = 0.0
    overlap_k: int = 1
    projects: list[ProjectReport] = field(default_factory=list)
    missing_accounts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def imported(self) -> int:
        return sum(p.imported for p in self.projects)

    @property
    def present(self) -> int:
        return sum(p.present for p in self.projects)

    def receipt(self) -> dict[str, object]:
        """What the pipeline records of a push (counts, project ids; no text, no token)."""
        return {
            "use_case": self.use_case,
            "version": self.version,
            "model_version": self.model_version,
            "documents": self.documents,
            "tasks_in_projects": sum(p.present + p.imported for p in self.projects),
            "projects": {p.title: p.project_id for p in self.projects},
            "overlap_share": self.overlap_share,
            "overlap_k": self.overlap_k,
        }

    def render(self) -> str:
        rate = self.imported / self.seconds if self.seconds else 0.0
        lines = [
            f"pushed {self.documents} documents of {self.use_case} {self.version} to "
            f"{self.server}: {self.imported} tasks imported, {self.present} already present, "
            f"in {self.seconds:.1f} s ({rate:,.1f} tasks/s)"
        ]
        for p in self.projects:
            who = f" for {p.annotator}" if p.annotator else ""
            lines.append(f"  project {p.project_id} {p.title!r}{who} ({p.how}) {p.url}")
            lines.append(
                f"    {p.tasks} tasks: {p.imported} imported, {p.present} already present; "
                f"{p.overlap_tasks} with overlap {self.overlap_k}"
            )
            if p.changed:
                lines.append(f"    settings updated: {', '.join(p.changed)}")
            if p.duplicates or p.foreign:
                lines.append(
                    f"    warning: {p.duplicates} doc_ids held by more than one task, "
                    f"{p.foreign} tasks without doc_id (not ours): check the project"
                )
        named = [p for p in self.projects if p.annotator]
        if named:
            lines.append(
                "  per annotator: "
                + ", ".join(f"{p.annotator} {p.tasks} ({p.overlap_tasks} overlap)" for p in named)
            )
        else:
            lines.append(
                "  per annotator: decided by the label stream (no named assignment on the "
                "open-source server; set push.annotators to name them)"
            )
        learning = all(p.active_learning for p in self.projects)
        lines.append(
            "  queue: least confident first ("
            + (
                f"uncertainty sampling on model_version {self.model_version})"
                if learning
                else "import order; uncertainty sampling not set: no prediction yet)"
            )
        )
        if self.without_prediction:
            lines.append(f"  {self.without_prediction} documents have no prediction")
        if self.orphan_predictions:
            lines.append(f"  {self.orphan_predictions} predictions name no document of the table")
        if self.missing_accounts:
            lines.append(
                "  no account yet on the server (create them before annotation): "
                + ", ".join(self.missing_accounts)
            )
        return "\n".join(lines)


# --- inputs -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Inputs:
    """The document table (Arrow, texts taken on demand) and where each prediction lies."""

    use_case: UseCase
    table: pa.Table
    predictions: Path
    rows: dict[str, int] = field(default_factory=dict)
    at: dict[str, tuple[int, float, str]] = field(default_factory=dict)  # offset, score, origin
    orphans: int = 0

    @classmethod
    def read(cls, use_case: UseCase, documents: Path, predictions: Path) -> _Inputs:
        if not documents.exists():
            raise PushError(f"{documents}: no such document table; run ingest (or pseudonymise)")
        names = set(pq.read_schema(documents).names)
        if not {"doc_id", "text"} <= names:
            raise PushError(f"{documents}: a document table needs the columns doc_id and text")
        columns = [c for c in ("doc_id", "text", "sha256") if c in names]
        filters = None
        if use_case.doc_types and "doc_type" in names:  # the documents this use case codes
            filters = pc.field("doc_type").isin(list(use_case.doc_types))
        table = pq.read_table(documents, columns=columns, filters=filters)
        selects = use_case.selects()
        if selects is not None:  # the documents its selector takes (reports assessing a response)
            keep = [selects(text) for text in table.column("text").to_pylist()]
            table = table.filter(pa.array(keep, type=pa.bool_()))
        inputs = cls(use_case, table, predictions)
        ids = [str(d) for d in inputs.table.column("doc_id").to_pylist()]
        inputs.rows = {d: i for i, d in enumerate(ids)}
        if len(inputs.rows) != len(ids):
            twice = sorted({d for d, n in Counter(ids).items() if n > 1})
            raise PushError(f"{documents}: doc_ids {twice[:5]} appear more than once; fix it")
        inputs._index()
        return inputs

    def _index(self) -> None:
        path, use_case = self.predictions, self.use_case
        if not path.exists():
            raise PushError(f"{path}: no predictions; run `curation preannotate {use_case.id}`")
        with path.open("rb") as handle:
            offset = 0
            for number, line in enumerate(handle, 1):
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                try:
                    record = Record.from_dict(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    raise PushError(
                        f"{path}:{number}: not a record ({type(exc).__name__}); re-run preannotate"
                    ) from None
                if record.use_case != use_case.id:
                    raise PushError(f"{path}:{number}: a {record.use_case} record in {use_case.id}")
                if record.doc_id not in self.rows:
                    self.orphans += 1
                elif record.doc_id in self.at:
                    raise PushError(f"{path}:{number}: second prediction of doc_id {record.doc_id}")
                else:
                    self.at[record.doc_id] = (start, prediction_score(record), record.origin)

    @property
    def doc_ids(self) -> list[str]:
        return list(self.rows)

    def queue_key(self, doc_id: str) -> tuple[bool, float, str]:
        """Least confident first; documents without prediction last (as uncertainty sampling)."""
        known = doc_id in self.at
        return (not known, self.at[doc_id][1] if known else 0.0, doc_id)

    def tasks(
        self,
        doc_ids: Sequence[str],
        plan: dict[str, tuple[str, ...]] | None = None,
        chunk: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """Tasks of ``doc_ids``, predictions checked against the config (errors name doc_id).

        Texts are taken from the table ``chunk`` documents at a time, never all at once.
        """
        with self.predictions.open("rb") as handle:
            for begin in range(0, len(doc_ids), chunk):
                part = [self.rows[d] for d in doc_ids[begin : begin + chunk]]
                for row in self.table.take(pa.array(part, type=pa.int64())).to_pylist():
                    task = self._task(handle, row)
                    if plan is not None:
                        task["meta"] = {"assigned_to": list(plan[task["data"]["doc_id"]])}
                    yield task

    def _task(self, handle: IO[bytes], row: dict[str, Any]) -> dict[str, Any]:
        doc_id, record = str(row["doc_id"]), None
        if doc_id in self.at:
            handle.seek(self.at[doc_id][0])
            record = Record.from_dict(json.loads(handle.readline()))
        version = (record.origin or "unknown") if record else "none"
        try:
            task = record_to_task(self.use_case, row, record, model_version=version)
        except ConversionError as exc:
            raise PushError(f"{self.predictions}: {exc}; nothing was imported") from None
        for prediction in task.get("predictions", []):
            problems = validate_results(self.use_case, prediction["result"], task=task)
            if problems:
                raise PushError(f"{self.predictions}: doc_id {doc_id}: {problems}")
        return task


# --- the push ---------------------------------------------------------------------------------


def run(
    use_case_id: str,
    params: Params,
    *,
    documents: Path | None = None,
    predictions: Path | None = None,
    client: LabelStudio | None = None,
    progress: bool = True,
) -> PushSummary:
    """Push the use case's documents with their predictions; see the module docstring.

    Raises
    ------
    PushError
        Missing or malformed inputs, or a prediction that does not fit the config (by doc_id).
    curation.studio.server.StudioError
        The server is down, refuses the token, or a project cannot be used.
    """
    started = time.perf_counter()
    use_case, settings = get(use_case_id), params.push
    studio = params.studio
    server = studio.server
    doc_path = documents or documents_path(use_case_id, params)
    inputs = _Inputs.read(use_case, doc_path, predictions or paths.preannotations(use_case_id))
    without = [d for d in inputs.rows if d not in inputs.at]
    if without and settings.on_missing_prediction == "error":
        raise PushError(
            f"{inputs.predictions}: no prediction for {len(without)} documents of {doc_path} "
            f"(doc_ids {without[:5]}); run `curation preannotate {use_case.id}`, or set "
            "push.on_missing_prediction: push_without"
        )
    load_config(use_case)  # a broken config fails here, before the server is touched
    summary = PushSummary(
        use_case.id,
        use_case.version,
        server,
        documents=len(inputs.rows),
        without_prediction=len(without),
        orphan_predictions=inputs.orphans,
        overlap_share=settings.overlap_share,
        overlap_k=settings.overlap_k,
    )
    try:
        client = client or connect(studio)
        _push(client, inputs, settings, studio.batch_size, summary, progress)
        _finish(client, inputs, settings, summary)
    except ApiError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        why = body.get("validation_errors") or body.get("detail") or ""
        raise lsp.ProjectError(
            f"{server} answered HTTP {exc.status_code} during the push ({str(why)[:300]}); fix "
            "the cause and push again, it resumes where it stopped"
        ) from None
    except httpx.HTTPError as exc:
        raise lsp.ProjectError(
            f"lost the connection to {server} ({type(exc).__name__}) after retries; push again "
            "once it answers, it resumes where it stopped"
        ) from None
    summary.seconds = time.perf_counter() - started
    if documents is None and predictions is None:  # the pipeline's push: leave a receipt
        with atomic_writer(paths.report_dir(use_case_id) / "push.json") as handle:
            json.dump(summary.receipt(), handle, indent=2)
            handle.write("\n")
    return summary


def _push(
    client: LabelStudio,
    inputs: _Inputs,
    settings: PushSettings,
    batch_size: int,
    summary: PushSummary,
    progress: bool,
) -> None:
    """Find the projects, list what they hold, check what is missing, then import it."""
    use_case = inputs.use_case
    store, wanted = lsp.ProjectStore(settings.store), lsp.project_settings(settings)
    config = CONFIG_DIR / use_case.config_name
    present: dict[str, lsp.Present] = {}
    for spec in lsp.project_specs(use_case, settings):
        described = f"Tâches de {use_case.id} {use_case.version}" + (
            f", réservées à {spec.annotator}" if spec.annotator else ""
        )
        project_id, how = lsp.find_or_create(
            client,
            store,
            summary.server,
            spec,
            config.read_text(encoding="utf-8"),
            source=str(config),
            settings=wanted,
            description=described,
        )
        url = lsp.project_url(summary.server, project_id)
        report = ProjectReport(project_id, spec.title, url, how, annotator=spec.annotator)
        if how != "created":
            report.changed = lsp.ensure_settings(client, project_id, wanted)
        listed = lsp.present_tasks(client, project_id)
        report.duplicates, report.foreign = len(listed.duplicates), listed.foreign
        present[spec.annotator or ""] = listed
        summary.projects.append(report)
    plan = lsp.plan_named(inputs.doc_ids, present, settings) if settings.annotators else None
    todo: dict[int, list[str]] = {}
    for report in summary.projects:
        held = present[report.annotator or ""].task_ids
        mine = [d for d in inputs.rows if plan is None or report.annotator in plan[d]]
        missing = sorted((d for d in mine if d not in held), key=inputs.queue_key)
        report.present, report.held = len(mine) - len(missing), len(held)
        if plan is not None:
            report.overlap_tasks = sum(
                1 for names in plan.values() if len(names) > 1 and report.annotator in names
            )
        todo[report.project_id] = missing
    every = sorted({d for missing in todo.values() for d in missing}, key=inputs.rows.__getitem__)
    for _ in inputs.tasks(every, plan):
        pass  # every prediction is checked before the first import
    for report in summary.projects:
        missing = todo[report.project_id]
        tasks = progress_bar(
            inputs.tasks(missing, plan),
            total=len(missing),
            desc=f"push {report.title}",
            enabled=progress,
        )
        import_batches(client, report, tasks, batch_size)


def import_batches(
    client: LabelStudio, report: ProjectReport, tasks: Iterable[dict[str, Any]], batch_size: int
) -> None:
    """Import ``tasks`` in batches, one request each (with predictions and task ids back)."""
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        first, last = batch[0]["data"]["doc_id"], batch[-1]["data"]["doc_id"]
        try:
            done = client.projects.import_tasks(
                id=report.project_id, request=cast(Any, batch), return_task_ids=True
            )
        except ApiError as exc:
            raise lsp.ProjectError(
                f"project {report.project_id}: the server refused the batch of doc_ids {first} "
                f"to {last} (HTTP {exc.status_code}); fix the cause and push again, it resumes"
            ) from None
        if done.task_count != len(batch):
            raise lsp.ProjectError(
                f"project {report.project_id}: {done.task_count} tasks created for a batch of "
                f"{len(batch)} (doc_ids {first} to {last}); push again to complete it"
            )
        report.imported += len(batch)
        batch.clear()

    for task in tasks:
        batch.append(task)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()


def _finish(
    client: LabelStudio, inputs: _Inputs, settings: PushSettings, summary: PushSummary
) -> None:
    """Point uncertainty sampling at the commonest origin; count overlap; check accounts."""
    origins = Counter(origin or "unknown" for _, _, origin in inputs.at.values())
    if origins:
        summary.model_version = origins.most_common(1)[0][0]
        for report in summary.projects:
            report.active_learning = lsp.set_model_version(
                client, report.project_id, summary.model_version
            )
    for report in summary.projects:
        if not report.annotator:
            counts = lsp.overlaps(client, report.project_id)
            report.overlap_tasks = sum(n for overlap, n in counts.items() if overlap > 1)
    if settings.annotators:
        accounts = {str(user.email).lower() for user in client.users.list()}
        summary.missing_accounts = [a for a in settings.annotators if a.lower() not in accounts]
