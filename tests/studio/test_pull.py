"""``curation pull``: edit statistics on hand-made cases, and snapshots from a real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from label_studio_sdk.client import LabelStudio

from curation.schema import Document, Record, Span
from curation.settings import PullSettings
from curation.stages.pull import (
    Edit,
    edit_statistics,
    label_edits,
    pull,
    span_edits,
)
from curation.studio.converters import record_to_task
from curation.studio.layout import load_config
from curation.usecases import get

PSEUDO = get("pseudonymisation")
MODEL = "regles-v0"
TEXT = "Patient vu par le Dr Jean Martin le 12/03/2024, né le 01/02/1950 à Lyon."


def span(fragment: str, label: str, text: str = TEXT) -> Span:
    start = text.index(fragment)
    return Span(start, start + len(fragment), label, fragment)


#: What the model proposed, and what the expert made of it: each kind of edit once or twice.
PREDICTED = [
    span("Patient", "NOM"),  # deleted: not a name
    span("Jean Martin", "NOM"),  # moved: the expert keeps "Martin" only
    span("12/03/2024", "DATE"),  # kept
    span("01/02/1950", "DATE"),  # relabelled DATE_NAISSANCE
    span("Lyon", "VILLE"),  # kept
]
ANNOTATED = [
    span("Jean", "PRENOM"),  # added
    span("Martin", "NOM"),
    span("12/03/2024", "DATE"),
    span("01/02/1950", "DATE_NAISSANCE"),
    span("Lyon", "VILLE"),
]


def test_span_edits_name_every_kind() -> None:
    edits = span_edits(PREDICTED, ANNOTATED)
    assert sorted(edits, key=lambda e: (e.kind, e.label)) == [
        Edit("added", "PRENOM"),
        Edit("deleted", "NOM"),
        Edit("kept", "DATE"),
        Edit("kept", "VILLE"),
        Edit("moved", "NOM"),
        Edit("relabelled", "DATE", "DATE_NAISSANCE"),
    ]


def test_moved_prefers_the_largest_overlap() -> None:
    text = "Dr Jean-Pierre Martin"
    predicted = [Span(3, 21, "NOM", text[3:21])]
    annotated = [Span(3, 7, "NOM", text[3:7]), Span(15, 21, "NOM", text[15:21])]
    edits = span_edits(predicted, annotated)
    assert sorted(e.kind for e in edits) == ["added", "moved"]


def test_label_edits() -> None:
    assert label_edits(["K359", "I10"], ["K359", "E119"]) == [
        Edit("kept", "K359"),
        Edit("added", "E119"),
        Edit("deleted", "I10"),
    ]


def test_edit_statistics_per_label_and_annotator() -> None:
    edits = span_edits(PREDICTED, ANNOTATED)
    stats = edit_statistics([("7", edits), ("8", span_edits(PREDICTED, PREDICTED))])
    total = stats["total"]
    assert (total["predicted"], total["annotated"]) == (10, 10)
    assert (total["kept"], total["moved"], total["relabelled"]) == (7, 1, 1)
    assert (total["added"], total["deleted"]) == (1, 1)
    assert total["kept_rate"] == 0.7
    nom, date = stats["per_label"]["NOM"], stats["per_label"]["DATE"]
    assert (nom["predicted"], nom["kept"], nom["moved"], nom["deleted"]) == (4, 2, 1, 1)
    assert (date["predicted"], date["kept"], date["relabelled"], date["annotated"]) == (4, 3, 1, 3)
    birth = stats["per_label"]["DATE_NAISSANCE"]
    assert (birth["predicted"], birth["annotated"], birth["kept_rate"]) == (0, 1, None)
    assert stats["per_label"]["PRENOM"]["added"] == 1
    assert stats["relabelled_pairs"] == {"DATE -> DATE_NAISSANCE": 1}
    assert stats["per_annotator"]["8"]["kept_rate"] == 1.0
    assert stats["per_annotator"]["7"]["kept"] == 2


# --- against the real server ------------------------------------------------------------------


def _result(doc_id: str, text: str, spans: list[Span]) -> list[dict[str, Any]]:
    """The Label Studio result of ``spans``, as the editor would submit it."""
    record = Record(doc_id, PSEUDO.id, "expert", spans=spans)
    row = Document(doc_id=doc_id, text=text).to_row()
    result: list[dict[str, Any]] = record_to_task(PSEUDO, row, record, model_version="-")[
        "predictions"
    ][0]["result"]
    for item in result:
        item.pop("score", None)
    return result


@pytest.fixture()
def hand_project(studio_client: LabelStudio) -> dict[str, Any]:
    """A project of two tasks: one corrected by two experts, one skipped."""
    client = studio_client
    project = client.projects.create(
        title=f"test-pull-{uuid.uuid4().hex[:8]}",
        label_config=load_config(PSEUDO).config,
        model_version=MODEL,
    )
    pid = int(project.id or 0)
    other = "Vu le 03/04/2025 au CHU de Nantes."
    rows = [Document(doc_id="doc-b", text=TEXT), Document(doc_id="doc-a", text=other)]
    predictions = [
        Record("doc-b", PSEUDO.id, MODEL, spans=PREDICTED),
        Record("doc-a", PSEUDO.id, MODEL, spans=[span("03/04/2025", "DATE", other)]),
    ]
    tasks = [
        record_to_task(PSEUDO, r.to_row(), p, model_version=MODEL)
        for r, p in zip(rows, predictions, strict=True)
    ]
    client.projects.import_tasks(id=pid, request=cast(Any, tasks))
    pages: list[Any] = list(client.tasks.list(project=pid, fields="all"))
    listed = {str(t.data["doc_id"]): t.model_dump() for t in pages}
    suffix = uuid.uuid4().hex[:6]
    experts = [
        client.users.create(email=f"dr.{name}-{suffix}@chu.local", username=f"{name}-{suffix}")
        for name in ("rossi", "durand")
    ]
    task_b, task_a = listed["doc-b"], listed["doc-a"]
    prediction_b = int(task_b["predictions"][0]["id"])
    for expert in experts:
        client.annotations.create(
            id=int(task_b["id"]),
            result=_result("doc-b", TEXT, ANNOTATED),
            lead_time=42.5,
            parent_prediction=prediction_b,
            completed_by=int(expert.id or 0),
        )
    client.annotations.create(
        id=int(task_a["id"]), result=[], was_cancelled=True, completed_by=int(experts[0].id or 0)
    )
    return {"id": pid, "experts": [str(e.email) for e in experts], "task_b": task_b}


@pytest.mark.slow
def test_pull_writes_sorted_records_with_metadata_and_edits(
    studio_client: LabelStudio, hand_project: dict[str, Any], tmp_path: Path
) -> None:
    output, report = tmp_path / "annotations.jsonl", tmp_path / "edits.json"
    summary = pull(
        studio_client, PSEUDO, [hand_project["id"]], PullSettings(), output=output, report=report
    )
    assert (summary.tasks, summary.annotations, summary.cancelled) == (2, 3, 1)
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    rossi, durand = hand_project["experts"]
    keys = [(x["doc_id"], x["annotation"]["annotator"]["email"]) for x in lines]
    assert keys == [("doc-a", rossi), ("doc-b", durand), ("doc-b", rossi)]
    skipped, first = lines[0], lines[1]
    assert skipped["annotation"]["was_cancelled"] is True and "spans" not in skipped
    assert first["origin"] == f"annotator:{durand}"
    assert [(s["start"], s["end"], s["label"]) for s in first["spans"]] == sorted(
        (s.start, s.end, s.label) for s in ANNOTATED
    )
    meta = first["annotation"]
    assert set(meta) == {
        "id",
        "project_id",
        "task_id",
        "use_case_version",
        "annotator",
        "created_at",
        "updated_at",
        "lead_time",
        "was_cancelled",
        "ground_truth",
        "review",
        "prediction_id",
        "prediction_model_version",
    }
    assert meta["lead_time"] == 42.5 and meta["ground_truth"] is False
    assert meta["prediction_model_version"] == MODEL and meta["use_case_version"] == "v1"
    assert meta["task_id"] == hand_project["task_b"]["id"]
    assert meta["created_at"].endswith("Z") and meta["updated_at"]

    edits = json.loads(report.read_text(encoding="utf-8"))
    assert (edits["annotations"], edits["compared"], edits["without_prediction"]) == (3, 2, 0)
    total = [edits["total"][k] for k in ("kept", "moved", "relabelled", "added", "deleted")]
    assert total == [4, 2, 2, 2, 2]
    assert edits["relabelled_pairs"] == {"DATE -> DATE_NAISSANCE": 2}
    assert "DATE -> DATE_NAISSANCE: 2" in summary.render()


@pytest.mark.slow
def test_pull_again_is_byte_identical_until_new_work(
    studio_client: LabelStudio, hand_project: dict[str, Any], tmp_path: Path
) -> None:
    output, report = tmp_path / "annotations.jsonl", tmp_path / "edits.json"
    project = [hand_project["id"]]
    first = pull(studio_client, PSEUDO, project, PullSettings(), output=output, report=report)
    content, stamp = output.read_bytes(), output.stat().st_mtime_ns
    again = pull(studio_client, PSEUDO, project, PullSettings(), output=output, report=report)
    assert first.changed and not again.changed
    assert output.read_bytes() == content and output.stat().st_mtime_ns == stamp

    task = hand_project["task_b"]
    studio_client.annotations.create(id=int(task["id"]), result=_result("doc-b", TEXT, PREDICTED))
    more = pull(studio_client, PSEUDO, project, PullSettings(), output=output, report=report)
    assert more.changed and more.annotations == 4

    kept = pull(
        studio_client,
        PSEUDO,
        project,
        PullSettings(include_cancelled=False),
        output=tmp_path / "no_skips.jsonl",
        report=tmp_path / "no_skips.json",
    )
    assert (kept.annotations, kept.cancelled) == (3, 0)
