"""``dvc repro`` end to end in a fresh git + DVC repository: to Label Studio, simulated experts,
adjudication, review, quality gates (one of them failing on purpose), release, evaluation, no-op.

The contract test of the use cases `make run` takes through the loop: pseudonymisation (spans on
raw text) and CIM-10 coding (ranked codes with evidence on the pseudonymised text)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from curation.settings import StudioSettings
from curation.usecases import get

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Data Steward",
    "GIT_AUTHOR_EMAIL": "steward@curation.local",
    "GIT_COMMITTER_NAME": "Data Steward",
    "GIT_COMMITTER_EMAIL": "steward@curation.local",
}


ENV = {
    **os.environ,
    "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    "DVC_NO_ANALYTICS": "1",
    "CURATION_PSEUDONYMISE_KEY": "a-test-key-that-is-long-enough",
    **GIT_IDENTITY,
}


N_DOCS = 80  # 3 to 9 patients for each use case (oncology share 0.8)
OVERLAP = 16  # push.overlap_share 0.2 of the tasks annotated by two experts


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command of the project's environment; the caller checks how it ended."""
    return subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)


def sh(*args: str, cwd: Path) -> str:
    """Run a command that must succeed; its standard output and error."""
    done = run(*args, cwd=cwd)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def sh_json(*args: str, cwd: Path) -> object:
    """A command's standard output, parsed as JSON (warnings on stderr are left aside)."""
    done = run(*args, cwd=cwd)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, studio_settings: StudioSettings) -> Path:
    """A copy of the project's pipeline (dvc.yaml, params.yaml, code) in a new repository."""
    repo = tmp_path_factory.mktemp("pipeline")
    shutil.copy(ROOT / "dvc.yaml", repo)
    shutil.copytree(ROOT / "annotation_configs", repo / "annotation_configs")
    shutil.copytree(
        ROOT / "curation", repo / "curation", ignore=shutil.ignore_patterns("__pycache__")
    )
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"]["n_documents"] = N_DOCS
    params["generate"]["oncology_share"] = 0.8  # enough oncology reports for their use cases
    # a demo corpus this small has 3 to 9 patients per use case: splits of whole patients
    # cannot reach the release gate's shares for 10,000 documents; the gate still runs
    params["validate"]["split_bounds"] = {
        "train": [0.2, 0.9],
        "dev": [0.0, 0.4],
        "test": [0.05, 0.5],
    }
    # the session's real Label Studio server, and a project title of this test's own
    params["studio"].update(
        port=studio_settings.port,
        data_dir=studio_settings.data_dir,
        env_file=studio_settings.env_file,
    )
    params["push"]["title_prefix"] = "pipeline-test "
    train = params["train"]["pseudonymisation"]
    train["synthetic"].update(n_documents=40, n_sites=5)
    train["model"].update(
        vocab_size=500,
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        intermediate_size=64,
        max_length=64,
        stride=16,
        epochs=1,
    )
    params["train"]["icd10_coding"]["synthetic"].update(n_documents=300, n_sites=5)
    oncology = params["train"]["oncology_extraction"]
    oncology["synthetic"].update(n_documents=40, n_sites=5)
    oncology["model"] = dict(train["model"])
    params["train"]["oncology_response"]["synthetic"].update(n_documents=300, n_sites=5)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    sh("git", "init", "-q", cwd=repo)
    sh("dvc", "init", "-q", cwd=repo)
    sh("dvc", "remote", "add", "-d", "local", str(repo.parent / "remote"), cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", "pipeline", cwd=repo)
    return repo


def test_repro_up_to_label_studio(repo: Path) -> None:
    out = sh("dvc", "repro", "push", cwd=repo)
    for stage in (
        "generate",
        "ingest",
        "validate@pseudonymisation-documents",
        "train@pseudonymisation",
        "preannotate@pseudonymisation",
        "validate@pseudonymisation-preannotations",
        "push@pseudonymisation",
        "pseudonymise",
        "validate@icd10_coding-documents",
        "train@icd10_coding",
        "preannotate@icd10_coding",
        "validate@icd10_coding-preannotations",
        "push@icd10_coding",
        *(f"{verb}@{uc}" for uc in ONCOLOGY for verb in ("train", "preannotate", "push")),
        *(f"validate@{uc}-preannotations" for uc in ONCOLOGY),
    ):
        assert f"Running stage '{stage}'" in out
    table = pq.read_table(repo / "data/raw/documents.parquet")
    assert table.num_rows == N_DOCS
    quarantine = (repo / "data/raw/quarantine.jsonl").read_text().splitlines()
    assert quarantine == []  # the synthetic corpus is clean: all accepted
    keys = sorted(p.name for p in (repo / "data/raw/answer_key").iterdir())
    assert "pseudonymisation.jsonl" in keys and "patients" in keys and len(keys) == 7
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert {"generate", "ingest", "train@pseudonymisation"} <= set(lock["stages"])
    assert (repo / "models/pseudonymisation/config.json").exists()
    predictions = (repo / "data/preannotations/pseudonymisation.jsonl").read_text().splitlines()
    assert len(predictions) == N_DOCS
    quality = repo / "reports/quality/pseudonymisation"
    for stage in ("documents", "preannotations"):
        results = json.loads((quality / f"{stage}.json").read_text())
        assert results["success"] and results["failed_critical"] == 0
        assert (quality / "data_docs" / stage / "index.html").exists()
    receipt = json.loads((repo / "reports/pseudonymisation/push.json").read_text())
    assert receipt["tasks_in_projects"] == N_DOCS
    # CIM-10 coding: the pseudonymised CRH and letters only, each with ranked suggestions
    coded = coded_documents(repo)
    suggestions = [
        json.loads(line) for line in (repo / "data/preannotations/icd10_coding.jsonl").open()
    ]
    assert {s["doc_id"] for s in suggestions} == coded and coded
    suggested = [s for s in suggestions if s.get("labels")]  # a small model may find nothing
    assert len(suggested) >= 0.8 * len(suggestions)
    assert all(s["provenance"]["suggestions"][0]["role"] == "DP" for s in suggested)
    receipt = json.loads((repo / "reports/icd10_coding/push.json").read_text())
    assert receipt["tasks_in_projects"] == len(coded)
    # oncology: pathology reports and RCP forms with relations and attributes; responses of
    # the reports that assess a treatment, each with its evidence
    extracted = records(repo, "data/preannotations/oncology_extraction.jsonl")
    assert set(extracted) == oncology_documents(repo)["oncology_extraction"]
    assert any(r["relations"] for r in extracted.values())
    assert all(len(r["attributes"]) == len(r["spans"]) for r in extracted.values())
    responses = records(repo, "data/preannotations/oncology_response.jsonl")
    assert set(responses) == oncology_documents(repo)["oncology_response"] != set()
    assert all(len(r["labels"]) == 1 and r["spans"] for r in responses.values())
    for uc in ONCOLOGY:
        receipt = json.loads((repo / f"reports/{uc}/push.json").read_text())
        assert receipt["tasks_in_projects"] == len(oncology_documents(repo)[uc])


ONCOLOGY = ("oncology_extraction", "oncology_response")


def records(repo: Path, path: str) -> dict[str, dict[str, Any]]:
    """Records of a JSONL file, by doc_id."""
    rows = [json.loads(line) for line in (repo / path).open()]
    return {r["doc_id"]: r for r in rows}


def oncology_documents(repo: Path) -> dict[str, set[str]]:
    """doc_ids of each oncology use case's tasks: its document types, then its selector."""
    table = pq.read_table(repo / "data/pseudonymised/documents.parquet").to_pylist()
    out = {}
    for uc in ONCOLOGY:
        use_case = get(uc)
        selects = use_case.selects() or (lambda text: True)
        out[uc] = {
            r["doc_id"] for r in table if r["doc_type"] in use_case.doc_types and selects(r["text"])
        }
    return out


def coded_documents(repo: Path) -> set[str]:
    """doc_ids of the documents CIM-10 coding reads (CRH and letters)."""
    table = pq.read_table(
        repo / "data/pseudonymised/documents.parquet", columns=["doc_id", "doc_type"]
    )
    rows = table.to_pylist()
    return {r["doc_id"] for r in rows if r["doc_type"] in ("crh", "lettre_liaison")}


def test_simulated_experts_then_adjudication(repo: Path) -> None:
    sh("curation", "simulate-annotators", "pseudonymisation", cwd=repo)
    sh("curation", "simulate-annotators", "icd10_coding", cwd=repo)
    for uc in ONCOLOGY:
        sh("curation", "simulate-annotators", uc, cwd=repo)
    out = sh("dvc", "repro", "adjudicate", cwd=repo)
    for stage in (
        "pull@pseudonymisation",
        "validate@pseudonymisation-annotations",
        "adjudicate@pseudonymisation",
        "pull@icd10_coding",
        "validate@icd10_coding-annotations",
        "adjudicate@icd10_coding",
        *(f"{verb}@{uc}" for uc in ONCOLOGY for verb in ("pull", "adjudicate")),
        *(f"validate@{uc}-annotations" for uc in ONCOLOGY),
    ):
        assert f"Running stage '{stage}'" in out
    lines = (repo / "data/annotations/pseudonymisation.jsonl").read_text().splitlines()
    annotations = [json.loads(line) for line in lines]
    assert {a["doc_id"] for a in annotations} == set(
        pq.read_table(repo / "data/raw/documents.parquet", columns=["doc_id"])["doc_id"].to_pylist()
    )
    assert len(annotations) == N_DOCS + OVERLAP  # 20 % of the tasks annotated by two experts
    assert len({a["annotation"]["annotator"]["email"] for a in annotations}) >= 2
    edits = json.loads((repo / "reports/pseudonymisation/preannotation_edits.json").read_text())
    assert edits["annotations"] == N_DOCS + OVERLAP
    summary = json.loads((repo / "reports/quality/pseudonymisation/adjudication.json").read_text())
    assert summary["documents"] == N_DOCS
    assert summary["gold"] + summary["conflicts"] == N_DOCS
    # most documents were seen by one expert: gold as they are, unless they hold overlapping
    # spans (a conflict); those seen by two reach consensus or are conflicts
    single, overlap = summary["by_rule"]["single"], summary["by_rule"]["consensus"]
    assert single <= N_DOCS - OVERLAP and overlap <= OVERLAP
    assert summary["by_rule"]["single"] + summary["by_rule"]["consensus"] == summary["gold"]
    conflicts = (repo / "data/conflicts/pseudonymisation.jsonl").read_text().splitlines()
    assert len(conflicts) == summary["conflicts"] > 0  # simulated experts disagree somewhere
    coders = [json.loads(line) for line in (repo / "data/annotations/icd10_coding.jsonl").open()]
    assert {a["doc_id"] for a in coders} == coded_documents(repo)
    # every coder gave one DP (on its evidence, or typed): the roles are in the records
    marked = [
        {a["spans"][r["span"]]["label"] for r in a.get("attributes", []) if r.get("role") == "DP"}
        | {r["dp"] for r in a.get("attributes", []) if "dp" in r}  # a DP without evidence
        for a in coders
    ]
    assert all(len(codes) == 1 for codes in marked)
    summary = json.loads((repo / "reports/quality/icd10_coding/adjudication.json").read_text())
    assert summary["gold"] + summary["conflicts"] == len(coded_documents(repo))
    for uc, tasks in oncology_documents(repo).items():
        annotated = records(repo, f"data/annotations/{uc}.jsonl")
        assert set(annotated) == tasks
        summary = json.loads((repo / f"reports/quality/{uc}/adjudication.json").read_text())
        assert summary["gold"] + summary["conflicts"] == len(tasks)
    annotated = [
        json.loads(line)
        for line in (repo / "data/annotations/oncology_extraction.jsonl").read_text().splitlines()
    ]
    statuses = [a.get("status") for r in annotated for a in r.get("attributes", [])]
    assert {"positive", "negative"} <= set(statuses)  # per-region choices came back


def test_review_settles_conflicts_and_gold_passes_the_gates(repo: Path) -> None:
    conflicts = len((repo / "data/conflicts/pseudonymisation.jsonl").read_text().splitlines())
    sent = sh("curation", "review", "pseudonymisation", cwd=repo)
    assert f"{conflicts} conflicts, {conflicts} sent" in sent
    sh("curation", "simulate-annotators", "pseudonymisation", "--review", cwd=repo)
    sh("curation", "review", "icd10_coding", cwd=repo)
    sh("curation", "simulate-annotators", "icd10_coding", "--review", cwd=repo)
    for uc in ONCOLOGY:
        sh("curation", "review", uc, cwd=repo)
        sh("curation", "simulate-annotators", uc, "--review", cwd=repo)
    out = sh("dvc", "repro", cwd=repo)
    for stage in (
        "agreement@pseudonymisation",
        "validate@pseudonymisation-gold",
        "agreement@icd10_coding",
        "validate@icd10_coding-gold",
        *(f"agreement@{uc}" for uc in ONCOLOGY),
        *(f"validate@{uc}-gold" for uc in ONCOLOGY),
        *(f"score@{uc}" for uc in ONCOLOGY),
        "structure",
    ):
        assert f"Running stage '{stage}'" in out
    gold = [json.loads(line) for line in (repo / "data/gold/pseudonymisation.jsonl").open()]
    assert len(gold) == N_DOCS
    rules = {g["provenance"]["rule"] for g in gold}
    assert "review" in rules and "single" in rules
    assert (repo / "data/conflicts/pseudonymisation.jsonl").read_text() == ""
    quality = repo / "reports/quality/pseudonymisation"
    results = json.loads((quality / "gold.json").read_text())
    assert results["success"], results
    agreement = json.loads((quality / "agreement.json").read_text())
    assert agreement["overlapped_documents"] == OVERLAP
    assert 0 < agreement["spans"]["pooled"]["overlap"]["micro"]["f1"] <= 1
    metrics = sh_json("dvc", "metrics", "show", "--json", cwd=repo)
    shown = json.dumps(metrics)
    assert "preannotation_metrics.json" in shown and "leak_rate" in shown
    assert "agreement.json" in shown and "adjudication.json" in shown
    plots = sh("dvc", "plots", "show", "--json", cwd=repo)
    assert "agreement_per_label.json" in plots
    pseudonymised = pq.read_table(repo / "data/pseudonymised/documents.parquet")
    assert pseudonymised.num_rows == N_DOCS
    assert (repo / "data/pseudonymised/answer_key/icd10_coding.jsonl").exists()
    assert (repo / "data/secret/pseudonymisation_mapping.jsonl").exists()
    scores = json.loads((repo / "reports/icd10_coding/preannotation_metrics.json").read_text())
    assert 0 < scores["micro"]["f1"] <= 1 and "dp_accuracy" in scores  # vs the answer key
    coding_gold = [json.loads(line) for line in (repo / "data/gold/icd10_coding.jsonl").open()]
    assert {g["doc_id"] for g in coding_gold} == coded_documents(repo)
    gate = json.loads((repo / "reports/quality/icd10_coding/gold.json").read_text())
    assert gate["success"], gate
    checked = {(r["suite"], r["expectation"], r["target"]) for r in gate["expectations"]}
    assert ("principal", "expect_column_values_to_be_between", "marked") in checked
    assert ("labels", "expect_column_values_to_be_in_label_set", "label") in checked


def test_coding_release_and_evaluation(repo: Path) -> None:
    out = sh("curation", "release", "icd10_coding", "--version", "1.0.0", cwd=repo)
    assert "released icd10_coding v1.0.0" in out
    folder = repo / "benchmarks/icd10_coding"
    info = json.loads((folder / "release.json").read_text())
    assert sum(info["splits"].values()) == len(coded_documents(repo))
    card = (folder / "README.md").read_text()
    assert card.startswith("---\npretty_name: icd10_coding benchmark v1.0.0")
    assert "curation.cim10:codes" in card
    baseline = json.loads((folder / "baselines/preannotator.json").read_text())
    assert {"micro", "macro", "category", "dp_accuracy", "at_k", "bootstrap"} <= set(baseline)
    assert 0 <= baseline["micro"]["f1"] <= 1
    shown = sh("curation", "evaluate", "icd10_coding", "--baseline", "preannotator", cwd=repo)
    assert "micro F1 over codes" in shown and "dp accuracy" in shown
    report = (folder / "report/index.html").read_text()
    assert "principal diagnosis accuracy" in report


def test_oncology_gold_structure_and_releases(repo: Path) -> None:
    tasks = oncology_documents(repo)
    for uc in ONCOLOGY:
        gold = records(repo, f"data/gold/{uc}.jsonl")
        assert set(gold) == tasks[uc]
        gate = json.loads((repo / f"reports/quality/{uc}/gold.json").read_text())
        assert gate["success"], gate
    gate = json.loads((repo / "reports/quality/oncology_extraction/gold.json").read_text())
    suites = {r["suite"] for r in gate["expectations"]}
    assert {"relations", "attributes"} <= suites
    scores = json.loads(
        (repo / "reports/oncology_extraction/preannotation_metrics.json").read_text()
    )
    # against the answer key of its own documents (pathology reports, RCP forms)
    assert scores["strict"]["micro"]["f1"] > 0.9
    assert scores["relations"]["strict"]["micro"]["f1"] > 0.9
    scores = json.loads((repo / "reports/oncology_response/preannotation_metrics.json").read_text())
    assert scores["accuracy"] > 0.7 and "kappa" in scores
    # the research deliverable: a patient table with evidence, screening, patient-level accuracy
    structured = repo / "data/structured/oncology"
    patients = pq.read_table(structured / "patients.parquet").to_pylist()
    truth = [
        json.loads(line)
        for line in (repo / "data/raw/answer_key/patients/oncology.jsonl").read_text().splitlines()
    ]
    assert {p["patient_id"] for p in truth} <= {p["patient_id"] for p in patients}
    assert (structured / "patients.csv").exists() and (structured / "timeline.parquet").exists()
    screening = json.loads((structured / "screening.json").read_text())["criteria"]
    assert screening and all("candidates" in c and "excluded" in c for c in screening.values())
    evaluation = json.loads((repo / "reports/structure/oncology/evaluation.json").read_text())
    assert evaluation["truth"]["patients"]["matched"] == len(truth)
    assert evaluation["truth"]["fields"]["histology"]["accuracy"] > 0.5
    for uc in ONCOLOGY:
        out = sh("curation", "release", uc, "--version", "1.0.0", cwd=repo)
        assert f"released {uc} v1.0.0" in out
        folder = repo / "benchmarks" / uc
        info = json.loads((folder / "release.json").read_text())
        assert sum(info["splits"].values()) == len(tasks[uc])
        shown = sh("curation", "evaluate", uc, "--baseline", "preannotator", cwd=repo)
        assert "baseline:preannotator" in shown
    ann = (repo / "benchmarks/oncology_extraction/data").glob("brat/*/*.ann")
    assert any(line.startswith("R") for f in ann for line in f.read_text().splitlines())
    baseline = json.loads(
        (repo / "benchmarks/oncology_response/baselines/preannotator.json").read_text()
    )
    assert {"accuracy", "kappa"} <= set(baseline)


def test_release_tag_and_evaluate_through_dvc_api(repo: Path, tmp_path: Path) -> None:
    out = sh("curation", "release", "pseudonymisation", "--version", "1.0.0", "--tag", cwd=repo)
    assert "released pseudonymisation v1.0.0" in out and "tagged pseudonymisation@v1.0.0" in out
    folder = repo / "benchmarks/pseudonymisation"
    info = json.loads((folder / "release.json").read_text())
    assert sum(info["splits"].values()) == N_DOCS
    splits = json.loads((folder / "splits.json").read_text())
    patients = dict(
        zip(
            *pq.read_table(repo / "data/raw/documents.parquet", columns=["doc_id", "patient_id"])
            .to_pydict()
            .values(),
            strict=True,
        )
    )
    by_patient: dict[str, set[str]] = {}
    for doc_id, split in splits.items():
        by_patient.setdefault(patients[doc_id], set()).add(split)
    assert all(len(s) == 1 for s in by_patient.values())  # no patient in two splits
    card = (folder / "README.md").read_text()
    assert card.startswith("---\npretty_name: pseudonymisation benchmark v1.0.0")
    assert (folder / "report/index.html").exists() and (folder / "data.dvc").exists()
    assert "pseudonymisation@v1.0.0" in sh("git", "tag", cwd=repo)
    # the same version again: nothing to do; an older version: refused
    assert "already released" in sh(
        "curation", "release", "pseudonymisation", "--version", "1.0.0", cwd=repo
    )
    older = run("curation", "release", "pseudonymisation", "--version", "0.9.0", cwd=repo)
    assert older.returncode != 0 and "not greater than the released 1.0.0" in older.stderr
    # an evaluator elsewhere: the tag of the repository, data from its DVC remote
    elsewhere = tmp_path / "evaluator"
    elsewhere.mkdir()
    result = elsewhere / "scores.json"
    shown = sh(
        "curation",
        "evaluate",
        "pseudonymisation",
        "--benchmark",
        "pseudonymisation@v1.0.0",
        "--repo",
        str(repo),
        "--baseline",
        "preannotator",
        "--output",
        str(result),
        cwd=elsewhere,
    )
    assert "baseline:preannotator on pseudonymisation v1.0.0 test" in shown
    sh(
        "dvc",
        "artifacts",
        "get",
        str(repo),
        "pseudonymisation",
        "--rev",
        "v1.0.0",
        "-o",
        "got",
        cwd=elsewhere,
    )
    fetched = (elsewhere / "got/test.jsonl").read_text().splitlines()
    assert len(fetched) == info["splits"]["test"]
    scores = json.loads(result.read_text())
    assert scores["benchmark"]["documents"] == info["splits"]["test"]
    released = json.loads((folder / "baselines/preannotator.json").read_text())
    assert scores["strict"]["micro"] == released["strict"]["micro"]
    # a modified released file is refused
    test_file = folder / "data/test.jsonl"
    test_file.write_text(test_file.read_text().replace('"NOM"', '"PRENOM"', 1))
    tampered = run(
        "curation", "evaluate", "pseudonymisation", "--baseline", "preannotator", cwd=repo
    )
    assert tampered.returncode != 0 and "sha256 differs from manifest.json" in tampered.stderr
    sh("dvc", "checkout", "-f", "-q", "benchmarks/pseudonymisation/data.dvc", cwd=repo)
    assert not run(
        "curation", "evaluate", "pseudonymisation", "--baseline", "preannotator", cwd=repo
    ).returncode


def test_a_failed_critical_expectation_stops_the_pipeline(repo: Path) -> None:
    params_file = repo / "params.yaml"
    saved = params_file.read_text()
    params = yaml.safe_load(saved)
    params["validate"]["sites"] = ["chu-nord"]  # documents of the two other sites now fail
    params_file.write_text(yaml.safe_dump(params, allow_unicode=True))
    try:
        done = run("dvc", "repro", "validate@pseudonymisation-documents", cwd=repo)
    finally:
        params_file.write_text(saved)
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "expect_column_values_to_be_in_set on site" in said and "doc_id=" in said
    results = json.loads((repo / "reports/quality/pseudonymisation/documents.json").read_text())
    assert not results["success"]
    documents = pq.read_table(repo / "data/raw/documents.parquet").to_pylist()
    assert all(doc["text"][:40] not in said for doc in documents)  # ids and counts, no text


def test_second_repro_is_a_no_op_and_push_works(repo: Path) -> None:
    sh("dvc", "repro", "validate@pseudonymisation-documents", cwd=repo)  # back to passing
    out = sh("dvc", "repro", cwd=repo)
    assert "didn't change, skipping" in out
    assert "Running stage 'pull" in out  # the server is outside DVC: always pulled
    assert out.count("Running stage") == 4  # the pull of each use case
    sh("dvc", "push", cwd=repo)
    assert any((repo.parent / "remote").rglob("*"))
    mapping = (repo / "data/secret/pseudonymisation_mapping.jsonl").read_bytes()
    pushed = [p.read_bytes() for p in (repo.parent / "remote").rglob("*") if p.is_file()]
    assert mapping not in pushed  # the secret mapping never leaves the trusted zone
    status = sh_json("dvc", "status", "--json", cwd=repo)
    assert isinstance(status, dict) and set(status) <= {
        "pull@pseudonymisation",
        "pull@icd10_coding",
        *(f"pull@{uc}" for uc in ONCOLOGY),
    }  # always changed, by design


def test_changed_corpus_reruns_from_generate_and_stale_annotations_stop_at_the_gate(
    repo: Path,
) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["generate"]["seed"] += 1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    done = run("dvc", "repro", cwd=repo)
    said = done.stdout + done.stderr
    assert "Running stage 'generate'" in said and "Running stage 'ingest'" in said
    # the experts' annotations in Label Studio are of documents the new corpus changed:
    # validation of the pulled annotations stops the pipeline before adjudication
    assert done.returncode != 0
    assert "validate annotations pseudonymisation: FAILED" in said or (
        "validate annotations icd10_coding: FAILED" in said
    )
    assert "Running stage 'adjudicate@pseudonymisation'" not in said
