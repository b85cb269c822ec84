"""``dvc repro`` end to end in a fresh git + DVC repository: generate, ingest, push, no-op."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from curation.settings import StudioSettings

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def sh(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "CURATION_PSEUDONYMISE_KEY": "a-test-key-that-is-long-enough",
    }
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


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
    params["generate"]["n_documents"] = 60
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
    (repo / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    sh("git", "init", "-q", cwd=repo)
    sh("dvc", "init", "-q", cwd=repo)
    sh("dvc", "remote", "add", "-d", "local", str(repo.parent / "remote"), cwd=repo)
    return repo


def test_repro_runs_every_stage(repo: Path) -> None:
    out = sh("dvc", "repro", cwd=repo)
    for stage in (
        "generate",
        "ingest",
        "train@pseudonymisation",
        "preannotate@pseudonymisation",
        "score@pseudonymisation",
    ):
        assert f"Running stage '{stage}'" in out
    table = pq.read_table(repo / "data/raw/documents.parquet")
    assert table.num_rows == 60
    quarantine = (repo / "data/raw/quarantine.jsonl").read_text().splitlines()
    assert quarantine == []  # the synthetic corpus is clean: all 60 accepted
    keys = sorted(p.name for p in (repo / "data/raw/answer_key").iterdir())
    assert "pseudonymisation.jsonl" in keys and len(keys) == 6
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert {"generate", "ingest", "train@pseudonymisation"} <= set(lock["stages"])
    assert (repo / "models/pseudonymisation/config.json").exists()
    predictions = (repo / "data/preannotations/pseudonymisation.jsonl").read_text().splitlines()
    assert len(predictions) == 60
    metrics = json.loads(sh("dvc", "metrics", "show", "--json", cwd=repo))
    shown = json.dumps(metrics)
    assert "preannotation_metrics.json" in shown and "leak_rate" in shown
    pseudonymised = pq.read_table(repo / "data/pseudonymised/documents.parquet")
    assert pseudonymised.num_rows == 60
    assert (repo / "data/pseudonymised/answer_key/icd10_coding.jsonl").exists()
    assert (repo / "data/secret/pseudonymisation_mapping.jsonl").exists()


def test_simulated_experts_then_pull(repo: Path) -> None:
    receipt = json.loads((repo / "reports/pseudonymisation/push.json").read_text())
    assert receipt["tasks_in_projects"] == 60
    assert (repo / "data/annotations/pseudonymisation.jsonl").read_text() == ""  # no work yet
    sh("curation", "simulate-annotators", "pseudonymisation", cwd=repo)
    out = sh("dvc", "repro", "pull@pseudonymisation", cwd=repo)
    assert "Running stage 'pull@pseudonymisation'" in out
    lines = (repo / "data/annotations/pseudonymisation.jsonl").read_text().splitlines()
    annotations = [json.loads(line) for line in lines]
    assert {a["doc_id"] for a in annotations} == set(
        pq.read_table(repo / "data/raw/documents.parquet", columns=["doc_id"])["doc_id"].to_pylist()
    )
    assert len(annotations) == 60 + 12  # 20 % of the tasks annotated by two experts
    assert len({a["annotation"]["annotator"]["email"] for a in annotations}) >= 2
    edits = json.loads((repo / "reports/pseudonymisation/preannotation_edits.json").read_text())
    assert edits["annotations"] == 72


def test_second_repro_is_a_no_op_and_push_works(repo: Path) -> None:
    out = sh("dvc", "repro", cwd=repo)
    assert "didn't change, skipping" in out
    assert "Running stage 'pull" in out  # the server is outside DVC: always pulled
    assert out.count("Running stage") == 1
    sh("dvc", "push", cwd=repo)
    assert any((repo.parent / "remote").rglob("*"))
    mapping = (repo / "data/secret/pseudonymisation_mapping.jsonl").read_bytes()
    pushed = [p.read_bytes() for p in (repo.parent / "remote").rglob("*") if p.is_file()]
    assert mapping not in pushed  # the secret mapping never leaves the trusted zone
    status = json.loads(sh("dvc", "status", "--json", cwd=repo))
    assert set(status) <= {"pull@pseudonymisation"}  # always changed, by design


def test_changed_param_reruns_from_generate(repo: Path) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["generate"]["seed"] += 1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    out = sh("dvc", "repro", cwd=repo)
    assert "Running stage 'generate'" in out and "Running stage 'ingest'" in out
