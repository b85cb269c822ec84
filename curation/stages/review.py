"""``curation review <use_case>``: send adjudication conflicts to Label Studio as review tasks.

Each document of ``data/conflicts/<use_case>.jsonl`` becomes a task of the use case's review
project (``"<use_case> v1 revue"``, store key ``<use_case>@<version>/review``) carrying every
competing annotation as a prediction (``model_version`` = the annotator), so the reviewer
switches between versions in the editor, keeps the right one and corrects it. The task's
``meta`` lists the disputed places (offsets and votes, no text).

``curation pull`` reads the review project with the others and flags its annotations
``review: true``; ``curation adjudicate`` then takes them as authoritative (rule ``review``).
Idempotent: a document already in the review project is not sent again.

Not a DVC stage on purpose: adjudication writes the conflicts from what ``pull`` read, and
``pull`` reads the review project, so a stage would close a loop that DVC refuses. A steward
runs it after looking at the conflicts, then ``dvc repro`` once the review is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from label_studio_sdk.client import LabelStudio

from curation import paths
from curation.io import InputError, iter_json_objects, write_json
from curation.quality.annotations import annotated_from_dict
from curation.settings import Params
from curation.stages.preannotate import documents_path
from curation.stages.pull import REVIEW_SUFFIX, server_errors
from curation.stages.push import ProjectReport, import_batches
from curation.studio import projects as lsp
from curation.studio.client import connect
from curation.studio.converters import record_to_task
from curation.studio.layout import CONFIG_DIR
from curation.usecases import get
from curation.usecases.base import UseCase


def review_spec(use_case: UseCase) -> lsp.ProjectSpec:
    """The review project of a use case version."""
    return lsp.ProjectSpec(
        key=f"{use_case.id}@{use_case.version}{REVIEW_SUFFIX}",
        title=lsp.fit_title(f"{use_case.id} {use_case.version} revue"),
    )


def is_review_key(key: str) -> bool:
    return key.endswith(REVIEW_SUFFIX)


@dataclass(slots=True)
class ReviewSummary:
    use_case: str
    conflicts: int = 0
    already: int = 0
    project: ProjectReport | None = None
    versions: int = 0
    tasks: list[dict[str, Any]] = field(default_factory=list)

    def render(self) -> str:
        if self.project is None:
            return f"review {self.use_case}: no conflict to review"
        return (
            f"review {self.use_case}: {self.conflicts} conflicts, {self.project.imported} sent "
            f"({self.versions} competing versions as predictions), {self.already} already in "
            f"project {self.project.project_id} -> {self.project.url}"
        )


def conflict_tasks(
    use_case: UseCase, conflicts: list[dict[str, Any]], documents: Path
) -> list[dict[str, Any]]:
    """One task per conflict: the document and each competing version as a prediction."""
    if not conflicts:
        return []
    table = pq.read_table(documents, columns=["doc_id", "text", "sha256"])
    rows = {str(d): i for i, d in enumerate(table.column("doc_id").to_pylist())}
    tasks = []
    for conflict in conflicts:
        doc_id = str(conflict["doc_id"])
        if doc_id not in rows:
            raise InputError(
                f"{paths.conflicts(use_case.id)}: doc_id {doc_id} is not in {documents}; "
                "run `dvc repro` so that conflicts and documents agree"
            )
        row = table.take(pa.array([rows[doc_id]])).to_pylist()[0]
        task: dict[str, Any] = {"data": {}, "predictions": []}
        for number, version in enumerate(conflict.get("versions", []), 1):
            annotated = annotated_from_dict(version, f"conflict {doc_id} version {number}")
            made = record_to_task(
                use_case, row, annotated.record, model_version=annotated.annotator, score=0.0
            )
            task["data"] = made["data"]
            task["predictions"] += made.get("predictions", [])
        task["meta"] = {"review": True, "disputes": conflict.get("disputes", [])}
        tasks.append(task)
    return tasks


def run(use_case_id: str, params: Params, *, client: LabelStudio | None = None) -> ReviewSummary:
    """Send the conflicts not yet in the review project; write ``reports/<uc>/review.json``."""
    use_case = get(use_case_id)
    source = paths.conflicts(use_case_id)
    conflicts = [data for _, data in iter_json_objects(source)]
    summary = ReviewSummary(use_case_id, conflicts=len(conflicts))
    if conflicts:
        studio = params.studio
        server = studio.server
        config = CONFIG_DIR / use_case.config_name
        with server_errors(studio, "review"):
            client = client or connect(studio)
            spec = review_spec(use_case)
            project_id, how = lsp.find_or_create(
                client,
                lsp.ProjectStore(params.push.store),
                server,
                spec,
                config.read_text(encoding="utf-8"),
                source=str(config),
                settings={"maximum_annotations": 1, "overlap_cohort_percentage": 100},
                description=f"Revue des désaccords de {use_case.id} {use_case.version}",
            )
            report = ProjectReport(project_id, spec.title, lsp.project_url(server, project_id), how)
            held = lsp.present_tasks(client, project_id).task_ids
            todo = [c for c in conflicts if str(c["doc_id"]) not in held]
            summary.already = len(conflicts) - len(todo)
            tasks = conflict_tasks(use_case, todo, documents_path(use_case_id, params))
            summary.versions = sum(len(t["predictions"]) for t in tasks)
            import_batches(client, report, tasks, studio.batch_size)
            report.present = summary.already
            summary.project = report
    receipt = {
        "conflicts": summary.conflicts,
        "sent": summary.project.imported if summary.project else 0,
        "already": summary.already,
        "project_id": summary.project.project_id if summary.project else None,
    }
    write_json(paths.report_dir(use_case_id) / "review.json", receipt)
    return summary
