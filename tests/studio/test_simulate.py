"""Simulated annotators: perturbation of the gold, and annotations posted to a real server."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from label_studio_sdk.client import LabelStudio
from pydantic import ValidationError
from typer.testing import CliRunner

from curation.cli import app
from curation.schema import DOCUMENT_SCHEMA, Record, Span
from curation.settings import (
    AnnotatorProfile,
    GenerateSettings,
    Params,
    PullSettings,
    PushSettings,
    SimulateSettings,
    StudioSettings,
)
from curation.sources.synthetic.corpus import generate_documents
from curation.stages import push
from curation.stages.pull import pull
from curation.stages.pull import run as pull_run
from curation.studio.converters import record_to_task
from curation.studio.layout import load_config
from curation.studio.perturbation import annotator_rng, perturb
from curation.studio.projects import ProjectStore
from curation.studio.simulate import ProjectTarget, SimulateSummary, annotation_result, simulate
from curation.studio.simulate import run as simulate_run
from curation.usecases import get

PSEUDO = get("pseudonymisation")
ONCO = get("oncology_extraction")
MODEL = "regles-v0"

PERFECT = AnnotatorProfile(name="parfait", email="sim.parfait@curation.local")
BLIND = AnnotatorProfile(name="aveugle", email="sim.aveugle@curation.local", miss_rate=1.0)
NOISY = AnnotatorProfile(
    name="brouillon",
    email="sim.brouillon@curation.local",
    miss_rate=0.2,
    boundary_shift_rate=0.3,
    max_shift=4,
    label_swap_rate=0.2,
    spurious_rate=0.2,
)
MILD = [
    AnnotatorProfile(name=f"expert-{k}", email=f"sim.expert-{k}@curation.local", miss_rate=0.05)
    for k in "abc"
]


@pytest.fixture(scope="module")
def corpus() -> list[tuple[dict[str, Any], dict[str, Record]]]:
    """Rows and answer keys of 24 synthetic documents."""
    return [
        (item.document.to_row(), item.records)
        for item in generate_documents(GenerateSettings(n_documents=24, seed=21))
    ]


def gold_of(corpus: list[tuple[dict[str, Any], dict[str, Record]]]) -> dict[str, Record]:
    return {row["doc_id"]: records[PSEUDO.id] for row, records in corpus}


def key(span: Span) -> tuple[int, int, str, str]:
    return (span.start, span.end, span.label, span.text)


# --- perturbation (no server) -----------------------------------------------------------------


def test_perfect_annotator_returns_the_gold_and_blind_one_nothing(
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
) -> None:
    for row, records in corpus[:10]:
        gold = records[PSEUDO.id]
        same = perturb(gold, row["text"], PERFECT, PSEUDO.labels, random.Random(0))
        assert [key(s) for s in same.spans] == [key(s) for s in gold.spans]
        assert perturb(gold, row["text"], BLIND, PSEUDO.labels, random.Random(0)).spans == []


def test_noisy_annotator_makes_each_kind_of_error(
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
) -> None:
    seen: Counter[str] = Counter()
    for row, records in corpus:
        gold, text = records[PSEUDO.id], row["text"]
        rng = annotator_rng(3, NOISY.email, row["doc_id"])
        noisy = perturb(gold, text, NOISY, PSEUDO.labels, rng)
        extents = {(s.start, s.end): s.label for s in gold.spans}
        for s in noisy.spans:
            assert s.text == text[s.start : s.end] and s.label in PSEUDO.labels
            if (s.start, s.end) in extents:
                seen["relabelled" if extents[(s.start, s.end)] != s.label else "same"] += 1
            elif any(s.start < e and b < s.end for b, e in extents):
                seen["moved"] += 1
            else:
                seen["spurious"] += 1
        seen["missed"] += max(len(gold.spans) - len(noisy.spans) + seen["spurious"], 0) > 0
    assert all(seen[k] > 0 for k in ("same", "relabelled", "moved", "spurious", "missed"))


def test_perturbation_is_deterministic_for_a_seed(
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
) -> None:
    row, records = corpus[0]

    def draw(seed: int) -> list[tuple[int, int, str, str]]:
        rng = annotator_rng(seed, NOISY.email, row["doc_id"])
        noisy = perturb(records[PSEUDO.id], row["text"], NOISY, PSEUDO.labels, rng)
        return [key(s) for s in noisy.spans]

    assert draw(1) == draw(1)
    assert any(draw(1) != draw(seed) for seed in range(2, 6))


def test_relations_and_attributes_follow_their_spans() -> None:
    settings = GenerateSettings(n_documents=30, seed=5, oncology_share=1.0)
    onco: list[tuple[dict[str, Any], Record]] = [
        (item.document.to_row(), item.records[ONCO.id])
        for item in generate_documents(settings)
        if ONCO.id in item.records and item.records[ONCO.id].relations
    ]
    assert onco, "the corpus should hold biomarker results"
    forgetful = AnnotatorProfile(name="distrait", email="d@curation.local", miss_rate=0.4)

    def ends(record: Record) -> set[tuple[int, int, int, int]]:
        first = [record.spans[r["from"]] for r in record.relations]
        second = [record.spans[r["to"]] for r in record.relations]
        return {(a.start, a.end, b.start, b.end) for a, b in zip(first, second, strict=True)}

    for row, gold in onco:
        rng = annotator_rng(0, forgetful.email, row["doc_id"])
        noisy = perturb(gold, row["text"], forgetful, ONCO.labels, rng)
        assert ends(noisy) <= ends(gold)
        kept = {(s.start, s.end) for s in noisy.spans}
        assert len(noisy.relations) == sum({(e[0], e[1]), (e[2], e[3])} <= kept for e in ends(gold))
        flagged = [a for a in noisy.attributes if "span" in a]
        assert [a["span"] for a in flagged] == list(range(len(noisy.spans)))
        noisy = perturb(gold, row["text"], NOISY, ONCO.labels, rng)
        task = record_to_task(ONCO, row, gold, model_version=MODEL)
        task["predictions"][0]["id"] = 1
        result = annotation_result(ONCO, task, noisy, task["predictions"][0], random.Random(0))
        assert all("score" not in item for item in result)


def test_untouched_regions_keep_the_prediction_ids(
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
) -> None:
    row, records = corpus[1]
    gold = records[PSEUDO.id]
    task = record_to_task(PSEUDO, row, gold, model_version=MODEL)
    prediction = task["predictions"][0]
    result = annotation_result(PSEUDO, task, gold, prediction, random.Random(0))
    assert [r["id"] for r in result] == [r["id"] for r in prediction["result"]]
    fewer = Record(gold.doc_id, PSEUDO.id, "x", spans=gold.spans[1:])
    shifted = annotation_result(PSEUDO, task, fewer, prediction, random.Random(0))
    assert {r["id"] for r in shifted} <= {r["id"] for r in prediction["result"]}


# --- against the real server ------------------------------------------------------------------


def new_project(
    client: LabelStudio,
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
    overlap: int,
) -> int:
    """A project of the corpus, pre-annotated with the gold, each task wanting ``overlap``."""
    project = client.projects.create(
        title=f"test-simulate-{uuid.uuid4().hex[:8]}",
        label_config=load_config(PSEUDO).config,
        maximum_annotations=overlap,
        overlap_cohort_percentage=100,
        model_version=MODEL,
    )
    tasks = [
        record_to_task(PSEUDO, row, records[PSEUDO.id], model_version=MODEL)
        for row, records in corpus
    ]
    client.projects.import_tasks(id=int(project.id or 0), request=cast(Any, tasks))
    return int(project.id or 0)


def run_simulation(
    client: LabelStudio,
    settings: StudioSettings,
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
    project_id: int,
    profiles: list[AnnotatorProfile],
    seed: int = 7,
) -> SimulateSummary:
    simulation = SimulateSettings(seed=seed, annotators=profiles)
    targets = [ProjectTarget(project_id)]
    return simulate(client, PSEUDO, gold_of(corpus), targets, simulation, settings)


def pulled(client: LabelStudio, project_id: int, folder: Path) -> list[dict[str, Any]]:
    output = folder / f"{project_id}.jsonl"
    pull(client, PSEUDO, [project_id], PullSettings(), output=output, report=folder / "e.json")
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_every_task_gets_its_overlap_from_distinct_annotators(
    studio_client: LabelStudio,
    studio_settings: StudioSettings,
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
    tmp_path: Path,
) -> None:
    project = new_project(studio_client, corpus, overlap=2)
    summary = run_simulation(studio_client, studio_settings, corpus, project, MILD)
    assert sum(summary.posted.values()) == len(corpus) * 2
    assert sorted(summary.posted.values()) == [16, 16, 16]  # balanced, in turn
    records = pulled(studio_client, project, tmp_path)
    assert len(records) == len(corpus) * 2
    per_doc: dict[str, set[str]] = {}
    for record in records:
        per_doc.setdefault(record["doc_id"], set()).add(record["origin"])
    assert all(len(names) == 2 for names in per_doc.values()) and len(per_doc) == len(corpus)

    again = run_simulation(studio_client, studio_settings, corpus, project, MILD)
    assert sum(again.posted.values()) == 0 and again.already == len(corpus) * 2


@pytest.mark.slow
def test_annotations_are_the_perturbed_gold_with_their_metadata(
    studio_client: LabelStudio,
    studio_settings: StudioSettings,
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
    tmp_path: Path,
) -> None:
    project = new_project(studio_client, corpus, overlap=2)
    summary = run_simulation(studio_client, studio_settings, corpus, project, [PERFECT, BLIND])
    assert summary.posts_as == {"parfait": "own token", "aveugle": "own token"}
    gold = gold_of(corpus)
    records = pulled(studio_client, project, tmp_path)
    assert len(records) == 2 * len(corpus)
    for record in records:
        meta = record["annotation"]
        email = meta["annotator"]["email"]
        assert record["origin"] == f"annotator:{email}"
        assert meta["lead_time"] > 0 and meta["created_at"] and meta["updated_at"]
        assert meta["prediction_model_version"] == MODEL and meta["prediction_id"]
        assert meta["was_cancelled"] is False and meta["ground_truth"] is False
        spans = [key(Span(**s)) for s in record.get("spans", [])]
        if email == PERFECT.email:
            assert spans == [key(s) for s in gold[record["doc_id"]].spans]
        else:
            assert email == BLIND.email and spans == []
    edits = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    who = [r["annotation"]["annotator"] for r in records]
    users = {w["email"]: str(w["id"]) for w in who}
    perfect, blind = (edits["per_annotator"][users[p.email]] for p in (PERFECT, BLIND))
    assert perfect["kept"] == perfect["predicted"] and perfect["kept_rate"] == 1.0
    assert blind["deleted"] == blind["predicted"] and blind["annotated"] == 0

    exported: list[Any] = list(studio_client.tasks.list(project=project, fields="all"))
    annotation = exported[0].model_dump()["annotations"][0]
    assert annotation["completed_by"] == annotation["updated_by"]  # posted by the user


@pytest.mark.slow
def test_a_user_without_known_password_is_served_by_completed_by(
    studio_client: LabelStudio,
    studio_settings: StudioSettings,
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
    tmp_path: Path,
) -> None:
    email = f"sim.manuel-{uuid.uuid4().hex[:6]}@curation.local"
    user = studio_client.users.create(email=email, username=email.split("@")[0])
    profile = AnnotatorProfile(name="manuel", email=email)
    project = new_project(studio_client, corpus[:4], overlap=1)
    summary = run_simulation(studio_client, studio_settings, corpus[:4], project, [profile])
    assert summary.posts_as == {"manuel": "completed_by (admin)"} and summary.posted["manuel"] == 4
    records = pulled(studio_client, project, tmp_path)
    assert {r["annotation"]["annotator"]["id"] for r in records} == {user.id}
    assert {r["origin"] for r in records} == {f"annotator:{email}"}


@pytest.mark.slow
def test_simulation_is_deterministic_for_a_seed(
    studio_client: LabelStudio,
    studio_settings: StudioSettings,
    corpus: list[tuple[dict[str, Any], dict[str, Record]]],
    tmp_path: Path,
) -> None:
    def content(seed: int) -> list[Any]:
        project = new_project(studio_client, corpus, overlap=1)
        run_simulation(studio_client, studio_settings, corpus, project, [NOISY], seed=seed)
        return [
            (r["doc_id"], r.get("spans"), r["annotation"]["lead_time"])
            for r in pulled(studio_client, project, tmp_path)
        ]

    first = content(11)
    assert content(11) == first
    assert content(12) != first


# --- push -> simulate -> pull, as the pipeline runs them --------------------------------------


@pytest.fixture()
def pushed_inputs(
    corpus: list[tuple[dict[str, Any], dict[str, Record]]], tmp_path: Path
) -> dict[str, Path]:
    """Document table, predictions (the gold, as a model's) and answer key of the corpus."""
    rows = [row for row, _ in corpus]
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), tmp_path / "docs.parquet")
    gold = [records[PSEUDO.id] for _, records in corpus]
    (tmp_path / "key.jsonl").write_text("".join(r.to_json() + "\n" for r in gold), "utf-8")
    predicted = [Record(r.doc_id, r.use_case, MODEL, spans=r.spans) for r in gold]
    (tmp_path / "preds.jsonl").write_text("".join(r.to_json() + "\n" for r in predicted), "utf-8")
    return {name: tmp_path / f"{name}.{ext}" for name, ext in _INPUTS}


_INPUTS = (("docs", "parquet"), ("key", "jsonl"), ("preds", "jsonl"))


def pipeline_params(
    studio: StudioSettings, inputs: dict[str, Path], profiles: list[AnnotatorProfile], **push: Any
) -> Params:
    store = inputs["docs"].parent / "projects.json"
    return Params(
        studio=studio,
        push=PushSettings(store=str(store), title_prefix=f"t{uuid.uuid4().hex[:8]} ", **push),
        simulate=SimulateSettings(annotators=profiles, answer_key=str(inputs["key"])),
    )


@pytest.mark.slow
def test_cli_push_simulate_pull_on_a_shared_project(
    studio_client: LabelStudio,
    studio_settings: StudioSettings,
    pushed_inputs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = pipeline_params(studio_settings, pushed_inputs, MILD, overlap_share=0.25, overlap_k=2)
    push.run(
        PSEUDO.id,
        params,
        documents=pushed_inputs["docs"],
        predictions=pushed_inputs["preds"],
        client=studio_client,
        progress=False,
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params.model_dump(mode="json")))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    simulated = runner.invoke(app, ["simulate-annotators", PSEUDO.id, "--params", "params.yaml"])
    assert simulated.exit_code == 0, simulated.output
    assert "expert-a" in simulated.output
    pulled_ = runner.invoke(app, ["pull", PSEUDO.id, "--params", "params.yaml"])
    assert pulled_.exit_code == 0, pulled_.output
    assert "kept" in pulled_.output

    (project_id,) = (
        ProjectStore(params.push.store).for_use_case(studio_settings.local_url, PSEUDO).values()
    )
    tasks: list[Any] = list(studio_client.tasks.list(project=project_id))
    overlaps = [int(t.overlap or 1) for t in tasks]
    assert sorted(set(overlaps)) == [1, 2] and overlaps.count(2) == 6  # 25 % of 24 tasks
    snapshot = tmp_path / "data" / "annotations" / f"{PSEUDO.id}.jsonl"
    lines = snapshot.read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(overlaps) == 30
    keys = [(r["doc_id"], r["origin"], r["annotation"]["id"]) for r in map(json.loads, lines)]
    assert keys == sorted(keys)
    assert (tmp_path / "reports" / PSEUDO.id / "preannotation_edits.json").exists()

    before = snapshot.read_bytes()
    again = runner.invoke(app, ["pull", PSEUDO.id, "--params", "params.yaml"])
    assert again.exit_code == 0 and "(unchanged)" in again.output
    assert snapshot.read_bytes() == before


@pytest.mark.slow
def test_per_annotator_projects_are_annotated_by_their_owner(
    studio_client: LabelStudio,
    studio_settings: StudioSettings,
    pushed_inputs: dict[str, Path],
    tmp_path: Path,
) -> None:
    emails = [p.email for p in MILD]
    params = pipeline_params(
        studio_settings, pushed_inputs, MILD, annotators=emails, overlap_share=0.5, overlap_k=2
    )
    pushed = push.run(
        PSEUDO.id,
        params,
        documents=pushed_inputs["docs"],
        predictions=pushed_inputs["preds"],
        client=studio_client,
        progress=False,
    )
    summary = simulate_run(PSEUDO.id, params, progress=False, admin=studio_client)
    held = {p.annotator: p.tasks for p in pushed.projects}
    assert {m.email: summary.posted[m.name] for m in MILD} == held
    assert sum(held.values()) == 24 + 12  # half of the documents go to two annotators
    output, report = tmp_path / "annotations.jsonl", tmp_path / "edits.json"
    pulled_ = pull_run(PSEUDO.id, params, admin=studio_client, output=output, report=report)
    assert pulled_.annotations == 36 and len(pulled_.projects) == 3
    for record in map(json.loads, output.read_text(encoding="utf-8").splitlines()):
        owner = {p.project_id: p.annotator for p in pushed.projects}
        assert record["origin"] == f"annotator:{owner[record['annotation']['project_id']]}"


def test_profiles_need_distinct_names_and_emails() -> None:
    twice = [MILD[0], MILD[0].model_copy(update={"name": "autre"})]
    with pytest.raises(ValidationError, match="distinct emails"):
        SimulateSettings(annotators=twice)
    with pytest.raises(ValidationError):
        AnnotatorProfile(name="x", email="pas-une-adresse")
