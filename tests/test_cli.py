"""The ``curation`` command as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CURATION = str(Path(sys.executable).parent / "curation")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CURATION, *args], cwd=cwd, capture_output=True, text=True)


def test_help_lists_the_stages(tmp_path: Path) -> None:
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0
    for verb in ("generate", "ingest", "usecases"):
        assert verb in done.stdout


def test_bad_params_exit_with_the_key_named(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("generate:\n  seeed: 1\n")
    done = run("generate", cwd=tmp_path)
    assert done.returncode == 1
    assert "generate.seeed" in done.stderr
    assert "Traceback" not in done.stderr


def test_generate_then_ingest_on_defaults(tmp_path: Path) -> None:
    assert run("generate", "--n-documents", "25", cwd=tmp_path).returncode == 0
    done = run("ingest", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data/raw/documents.parquet").exists()
    assert "25" in done.stderr


def test_file_mode_preannotate_and_pseudonymise_with_rules_only(tmp_path: Path) -> None:
    import json
    import os

    (tmp_path / "params.yaml").write_text("preannotate:\n  use_model: false\n")
    text = "Mme Jeanne PETIT, née le 12/03/1950, tél 06 12 34 56 78, jeanne.petit@orange.fr"
    (tmp_path / "docs.jsonl").write_text(json.dumps({"doc_id": "d1", "text": text}) + "\n")
    done = run(
        "preannotate",
        "pseudonymisation",
        "--input",
        "docs.jsonl",
        "--output",
        "p.jsonl",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    labels = {s["label"] for s in json.loads((tmp_path / "p.jsonl").read_text())["spans"]}
    assert {"DATE_NAISSANCE", "TEL", "MAIL"} <= labels
    env = {**os.environ, "CURATION_PSEUDONYMISE_KEY": "a-test-key-that-is-long-enough"}
    done = subprocess.run(
        [
            CURATION,
            "pseudonymise",
            "--input",
            "docs.jsonl",
            "--output",
            "out.jsonl",
            "--mapping",
            "secret/mapping.jsonl",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    new_text = json.loads((tmp_path / "out.jsonl").read_text())["text"]
    for original in ("12/03/1950", "06 12 34 56 78", "jeanne.petit@orange.fr"):
        assert original not in new_text
        assert original not in done.stderr + done.stdout  # never printed
    assert (tmp_path / "secret" / "mapping.jsonl").exists()
