"""``curation push`` against the session's real Label Studio, and what that server enforces.

Every test gets projects of its own (a unique title prefix and store): the server is shared.
The corpus is 40 synthetic documents; predictions are the generator's answer key with span
scores spread deterministically, so that documents differ in confidence.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError
from pydantic import ValidationError
from typer.testing import CliRunner

from curation.schema import DOCUMENT_SCHEMA, Record
from curation.settings import GenerateSettings, Params, PushSettings, StudioSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.stages import push
from curation.studio import server
from curation.studio.client import connect
from curation.studio.converters import prediction_score
from curation.studio.projects import UNCERTAINTY, ProjectError, ProjectStore, assign
from curation.usecases import get

ORIGIN = "regles-test-v1"
N_DOCS = 40


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """40 documents (and a 20-document subset) with scored pseudonymisation predictions."""
    root = tmp_path_factory.mktemp("push-corpus")
    rows, predictions = [], []
    for item in generate_documents(GenerateSettings(n_documents=N_DOCS, seed=3)):
        rows.append(item.document.to_row())
        record = item.records["pseudonymisation"].to_dict()
        for i, span in enumerate(record.get("spans", [])):
            digest = hashlib.sha256(f"{record['doc_id']}/{i}".encode()).digest()
            span["score"] = round(0.3 + 0.7 * digest[0] / 255, 3)
        predictions.append({**record, "origin": ORIGIN})
    table = pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA)
    pq.write_table(table, root / "documents.parquet")
    pq.write_table(table.slice(0, N_DOCS // 2), root / "subset.parquet")
    lines = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
    (root / "predictions.jsonl").write_text(lines, encoding="utf-8")
    return {
        "documents": root / "documents.parquet",
        "subset": root / "subset.parquet",
        "predictions": root / "predictions.jsonl",
    }


def params_for(studio: StudioSettings, tmp_path: Path, **push_settings: Any) -> Params:
    prefix = f"t{uuid.uuid4().hex[:8]} "
    settings = PushSettings(
        store=str(tmp_path / "projects.json"), title_prefix=prefix, **push_settings
    )
    return Params(studio=studio, push=settings)


def do_push(
    params: Params,
    corpus: dict[str, Path],
    client: LabelStudio,
    table: str = "documents",
    predictions: Path | None = None,
) -> push.PushSummary:
    return push.run(
        "pseudonymisation",
        params,
        documents=corpus[table],
        predictions=predictions or corpus["predictions"],
        client=client,
        progress=False,
    )


def tasks_of(client: LabelStudio, project_id: int) -> list[Any]:
    return list(client.tasks.list(project=project_id, fields="all", page_size=1000))


def admin(settings: StudioSettings) -> httpx.Client:
    token = server.credentials(settings)[server.TOKEN_VAR]
    return httpx.Client(
        base_url=settings.local_url, headers={"Authorization": f"Token {token}"}, timeout=30
    )


def annotator(settings: StudioSettings, email: str) -> httpx.Client:
    """A new user of the server, signed up through the web form; an API client as them."""
    web = httpx.Client(base_url=settings.local_url, follow_redirects=True, timeout=30)
    web.get("/user/signup/")
    form = {
        "email": email,
        "password": "Annotatrice-2026!",
        "csrfmiddlewaretoken": web.cookies["csrftoken"],
        "how_find_us": "Other",
    }
    web.post("/user/signup/", data=form, headers={"Referer": f"{settings.local_url}/user/signup/"})
    token = web.get("/api/current-user/token").json()["token"]
    return httpx.Client(
        base_url=settings.local_url, headers={"Authorization": f"Token {token}"}, timeout=30
    )


def scores(corpus: dict[str, Path]) -> dict[str, float]:
    lines = corpus["predictions"].read_text(encoding="utf-8").splitlines()
    records = [Record.from_dict(json.loads(line)) for line in lines]
    return {r.doc_id: prediction_score(r) for r in records}


# --- what the open-source server enforces ------------------------------------------------------


@pytest.mark.slow
def test_open_source_server_overlap_findings(
    studio_settings: StudioSettings,
    studio_client: LabelStudio,
    corpus: dict[str, Path],
    tmp_path: Path,
) -> None:
    """maximum_annotations/overlap_cohort_percentage: task overlap and the label stream."""
    params = params_for(studio_settings, tmp_path, overlap_share=0.2, overlap_k=2)
    summary = do_push(params, corpus, studio_client)
    (report,) = summary.projects
    project = studio_client.projects.get(id=report.project_id)
    assert (project.maximum_annotations, project.overlap_cohort_percentage) == (2, 20)
    tasks = {t.id: t for t in tasks_of(studio_client, report.project_id)}
    overlap = {i: t.overlap for i, t in tasks.items()}
    assert Counter(overlap.values()) == {2: 8, 1: 32}  # 20 % of 40, drawn by the server
    assert report.overlap_tasks == 8

    users = {n: annotator(studio_settings, f"{n}-{uuid.uuid4().hex[:6]}@chu.test") for n in "abc"}
    served: dict[str, list[int]] = defaultdict(list)
    seen_others: list[int] = []
    active = set(users)
    while active:
        for name in sorted(active):
            response = users[name].get(f"/api/projects/{report.project_id}/next")
            if response.status_code == 404:
                active.discard(name)
                continue
            task = response.json()
            served[name].append(task["id"])
            seen_others.extend(a["id"] for a in task.get("annotations") or [])
            result = task["predictions"][0]["result"]
            created = users[name].post(
                f"/api/tasks/{task['id']}/annotations/", json={"result": result, "lead_time": 5}
            )
            assert created.status_code == 201
    per_task = Counter(i for ids in served.values() for i in ids)
    # The stream serves a task to as many distinct users as its overlap, then stops.
    assert all(per_task[i] == overlap[i] for i in tasks)
    assert all(len(ids) == len(set(ids)) for ids in served.values())
    assert not seen_others  # a served task carries no other user's annotation
    # Outside the stream nothing is blind: any user reads any annotation ...
    first = served["a"][0]
    others = users["b"].get(f"/api/tasks/{first}").json()["annotations"]
    assert others and all(a["completed_by"] != 0 for a in others)
    # ... because every user of the open-source edition holds every permission,
    whoami = users["c"].get("/api/current-user/whoami").json()
    assert {"projects.change", "annotations.view", "tasks.delete"} <= set(whoami["permissions"])
    # and tasks cannot be assigned to named users (an Enterprise endpoint).
    assigned = admin(studio_settings).post(
        f"/api/projects/{report.project_id}/tasks/assignees", json={"type": "AN"}
    )
    assert assigned.status_code in (404, 405)


@pytest.mark.slow
def test_stream_and_task_order_serve_the_least_confident_first(
    studio_settings: StudioSettings,
    studio_client: LabelStudio,
    corpus: dict[str, Path],
    tmp_path: Path,
) -> None:
    refused = studio_client.projects.create(title=f"{uuid.uuid4().hex[:8]} sans prédiction")
    with pytest.raises(ApiError) as error:  # no prediction carries it: the server says no
        studio_client.projects.update(id=int(refused.id or 0), model_version=ORIGIN)
    assert error.value.status_code == 400
    params = params_for(studio_settings, tmp_path, overlap_share=0.0)
    summary = do_push(params, corpus, studio_client)
    pid = summary.projects[0].project_id
    project = studio_client.projects.get(id=pid)
    assert project.sampling == UNCERTAINTY and project.model_version == ORIGIN
    assert summary.model_version == ORIGIN and summary.projects[0].active_learning
    by_doc = scores(corpus)
    ordered = [by_doc[t.data["doc_id"]] for t in sorted(tasks_of(studio_client, pid), key=id_of)]
    assert ordered == sorted(ordered)  # default (id) order: ascending score
    first = admin(studio_settings).get(f"/api/projects/{pid}/next").json()
    assert first["queue"] == "Active learning or random queue"
    assert by_doc[first["data"]["doc_id"]] == min(by_doc.values())
    assert first["predictions"][0]["score"] == pytest.approx(min(by_doc.values()))


def id_of(task: Any) -> int:
    return int(task.id)


# --- idempotent, resumable -------------------------------------------------------------------


@pytest.mark.slow
def test_push_is_idempotent_and_adds_only_new_documents(
    studio_settings: StudioSettings,
    studio_client: LabelStudio,
    corpus: dict[str, Path],
    tmp_path: Path,
) -> None:
    params = params_for(studio_settings, tmp_path)
    first = do_push(params, corpus, studio_client, table="subset")
    assert (first.imported, first.present) == (20, 0)
    assert first.projects[0].how == "created"
    assert first.projects[0].overlap_tasks == 4  # the server's cohort: 20 % of 20
    again = do_push(params, corpus, studio_client, table="subset")
    assert (again.imported, again.present) == (0, 20)
    assert again.projects[0].how == "stored"
    assert again.projects[0].project_id == first.projects[0].project_id
    whole = do_push(params, corpus, studio_client)
    assert (whole.imported, whole.present) == (20, 20)
    assert whole.projects[0].overlap_tasks == 8  # redrawn at the import: 20 % of 40
    doc_ids = [t.data["doc_id"] for t in tasks_of(studio_client, whole.projects[0].project_id)]
    assert len(doc_ids) == len(set(doc_ids)) == N_DOCS
    task = tasks_of(studio_client, whole.projects[0].project_id)[0]
    assert set(task.data) >= {"text", "doc_id", "sha256", "use_case", "use_case_version"}
    assert task.predictions[0].model_version == ORIGIN


class Crash(httpx.ConnectError):
    pass


def crashing_client(settings: StudioSettings, after: int) -> LabelStudio:
    """A client whose import requests fail from the ``after``-th on (a server that dies)."""
    client = connect(settings)
    real = client.projects.import_tasks
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= after:
            raise Crash("connection reset")
        return real(*args, **kwargs)

    client.projects.import_tasks = flaky  # type: ignore[method-assign]
    return client


@pytest.mark.slow
def test_a_push_cut_off_half_way_is_finished_by_the_next(
    studio_settings: StudioSettings,
    studio_client: LabelStudio,
    corpus: dict[str, Path],
    tmp_path: Path,
) -> None:
    params = params_for(studio_settings, tmp_path)
    params.studio = studio_settings.model_copy(update={"batch_size": 5})
    with pytest.raises(ProjectError, match=r"lost the connection .* resumes"):
        do_push(params, corpus, crashing_client(studio_settings, after=3))
    project_id = ProjectStore(params.push.store).for_use_case(
        studio_settings.local_url, get("pseudonymisation")
    )["pseudonymisation@v1"]
    assert len(tasks_of(studio_client, project_id)) == 10  # two batches went through
    done = do_push(params, corpus, studio_client)
    assert (done.imported, done.present) == (30, 10)
    doc_ids = [t.data["doc_id"] for t in tasks_of(studio_client, project_id)]
    assert sorted(doc_ids) == sorted(set(doc_ids)) and len(doc_ids) == N_DOCS


@pytest.mark.slow
def test_a_stored_id_is_checked_and_the_project_found_again(
    studio_settings: StudioSettings,
    studio_client: LabelStudio,
    corpus: dict[str, Path],
    tmp_path: Path,
) -> None:
    params = params_for(studio_settings, tmp_path)
    first = do_push(params, corpus, studio_client, table="subset")
    old = first.projects[0].project_id
    store = ProjectStore(params.push.store)
    other = studio_client.projects.create(title=f"{params.push.title_prefix}autre projet")
    store.put(studio_settings.local_url, "pseudonymisation@v1", int(other.id or 0))
    found = do_push(params, corpus, studio_client, table="subset")
    assert found.projects[0].how == "found" and found.projects[0].project_id == old
    assert found.imported == 0
    assert store.get(studio_settings.local_url, "pseudonymisation@v1") == old
    studio_client.projects.delete(id=old)
    recreated = do_push(params, corpus, studio_client, table="subset")
    assert recreated.projects[0].how == "created" and recreated.projects[0].project_id != old
    assert recreated.imported == N_DOCS // 2


# --- checks on our side --------------------------------------------------------------------


@pytest.mark.slow
def test_an_invalid_prediction_stops_the_push_before_any_import(
    studio_settings: StudioSettings,
    studio_client: LabelStudio,
    corpus: dict[str, Path],
    tmp_path: Path,
) -> None:
    lines = corpus["predictions"].read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[-1])
    bad["spans"][0]["label"] = "PATIENT"
    secret = bad["spans"][0]["text"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*lines[:-1], json.dumps(bad)]) + "\n", encoding="utf-8")
    params = params_for(studio_settings, tmp_path)
    with pytest.raises(push.PushError) as error:
        do_push(params, corpus, studio_client, predictions=broken)
    message = str(error.value)
    assert bad["doc_id"] in message and "PATIENT" in message
    assert secret not in message
    stored = ProjectStore(params.push.store).get(studio_settings.local_url, "pseudonymisation@v1")
    assert stored is not None and tasks_of(studio_client, stored) == []


def test_missing_predictions_are_an_error_naming_doc_ids(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    first = corpus["predictions"].read_text(encoding="utf-8").splitlines()[:30]
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(first) + "\n", encoding="utf-8")
    with pytest.raises(push.PushError, match=r"no prediction for 10 documents .*preannotate"):
        push.run(
            "pseudonymisation",
            Params(push=PushSettings(store=str(tmp_path / "p.json"))),
            documents=corpus["documents"],
            predictions=partial,
            progress=False,
        )


def test_server_down_is_a_clear_error(corpus: dict[str, Path], tmp_path: Path) -> None:
    studio = StudioSettings(port=9, data_dir=str(tmp_path), env_file=str(tmp_path / "e.env"))
    server.credentials(studio, create=True)
    params = Params(studio=studio, push=PushSettings(store=str(tmp_path / "p.json")))
    with pytest.raises(server.StudioError, match="does not answer"):
        push.run(
            "pseudonymisation",
            params,
            documents=corpus["documents"],
            predictions=corpus["predictions"],
            progress=False,
        )


# --- named annotators: one project each ------------------------------------------------------


@pytest.mark.slow
def test_named_annotators_get_projects_of_their_own(
    studio_settings: StudioSettings,
    studio_client: LabelStudio,
    corpus: dict[str, Path],
    tmp_path: Path,
) -> None:
    names = [f"{n}.{uuid.uuid4().hex[:6]}@chu.test" for n in ("martin", "bernard", "petit")]
    params = params_for(studio_settings, tmp_path, annotators=names, overlap_share=0.2)
    params.studio = studio_settings.model_copy(update={"batch_size": 4})
    with pytest.raises(ProjectError):
        do_push(params, corpus, crashing_client(studio_settings, after=4))
    summary = do_push(params, corpus, studio_client)
    assert [p.annotator for p in summary.projects] == names
    titles = [p.title for p in summary.projects]  # over 50 characters: cut, with a hash
    assert len(set(titles)) == 3 and all(len(t) <= 50 and " — " in t for t in titles)
    holders: dict[str, set[str]] = defaultdict(set)
    for report in summary.projects:
        project = studio_client.projects.get(id=report.project_id)
        assert project.maximum_annotations == 1 and project.sampling == UNCERTAINTY
        for task in tasks_of(studio_client, report.project_id):
            assert report.annotator not in holders[task.data["doc_id"]]  # no duplicate
            holders[task.data["doc_id"]].add(str(report.annotator))
            assert set(task.meta["assigned_to"]) >= {report.annotator}
    assert len(holders) == N_DOCS  # nothing lost
    assert Counter(len(h) for h in holders.values()) == {1: 32, 2: 8}
    loads = [p.tasks for p in summary.projects]
    assert sum(loads) == 48 and max(loads) - min(loads) <= 2
    assert [p.overlap_tasks for p in summary.projects] == [
        sum(1 for h in holders.values() if len(h) == 2 and n in h) for n in names
    ]
    assert summary.missing_accounts == names  # not users of the server yet
    again = do_push(params, corpus, studio_client)
    assert again.imported == 0 and again.present == 48
    text = summary.render()
    assert "per annotator:" in text and all(n in text for n in names)


def test_assignment_is_deterministic_balanced_and_order_free() -> None:
    doc_ids = [f"doc-{i:03d}" for i in range(100)]
    names = ["a@chu.test", "b@chu.test", "c@chu.test"]
    plan = assign(doc_ids, names, k=2, n_overlap=20, seed=4)
    assert plan == assign(doc_ids[::-1], names, k=2, n_overlap=20, seed=4)
    assert plan != assign(doc_ids, names, k=2, n_overlap=20, seed=5)
    assert Counter(len(v) for v in plan.values()) == {1: 80, 2: 20}
    loads = Counter(n for v in plan.values() for n in v)
    assert max(loads.values()) - min(loads.values()) <= 1
    busy = assign(doc_ids[:9], names, k=2, n_overlap=0, seed=4, loads={"a@chu.test": 6})
    busy_loads = Counter(n for v in busy.values() for n in v)
    assert "a@chu.test" not in busy_loads and sorted(busy_loads.values()) == [4, 5]


def test_settings_refuse_too_few_annotators() -> None:
    with pytest.raises(ValidationError, match="overlap_k 3"):
        PushSettings(annotators=["a@chu.test", "b@chu.test"], overlap_k=3)
    with pytest.raises(ValidationError, match="distinct"):
        PushSettings(annotators=["a@chu.test", "A@chu.test"])
    assert PushSettings(overlap_share=0).overlap_k == 2


# --- the command ---------------------------------------------------------------------------


@pytest.mark.slow
def test_command_pushes_the_pipeline_files_and_prints_no_text(
    studio_settings: StudioSettings,
    corpus: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from curation.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/preannotations").mkdir(parents=True)
    (tmp_path / "data/preannotations/pseudonymisation.jsonl").write_text(
        corpus["predictions"].read_text(encoding="utf-8"), encoding="utf-8"
    )
    params = {
        "ingest": {"output": str(corpus["subset"])},
        "studio": {
            "port": studio_settings.port,
            "data_dir": studio_settings.data_dir,
            "env_file": studio_settings.env_file,
        },
        "push": {"title_prefix": f"cli{uuid.uuid4().hex[:6]} ", "store": "studio/projects.json"},
    }
    (tmp_path / "params.yaml").write_text(json.dumps(params), encoding="utf-8")
    done = CliRunner().invoke(app, ["push", "pseudonymisation"])
    assert done.exit_code == 0, done.output
    assert "20 tasks imported, 0 already present" in done.output
    assert "tasks/s" in done.output and "/projects/" in done.output
    texts = pq.read_table(corpus["subset"], columns=["text"]).column("text").to_pylist()
    lines = {line.strip() for t in texts for line in t.splitlines() if len(line.strip()) > 12}
    assert not [line for line in lines if line in done.output]
    assert server.credentials(studio_settings)[server.TOKEN_VAR] not in done.output
    assert json.loads((tmp_path / "studio/projects.json").read_text())[studio_settings.local_url]
