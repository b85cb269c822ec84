"""params.yaml -> typed settings, with errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.settings import ParamsError, load_params


def test_repository_params_are_valid() -> None:
    params = load_params(Path(__file__).parents[1] / "params.yaml")
    assert params.generate.n_documents > 0
    assert params.ingest.source.path == params.generate.output


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("generate:\n  n_documnets: 10\n")
    with pytest.raises(ParamsError, match=r"generate\.n_documnets"):
        load_params(path)


def test_bad_value_is_named(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("generate:\n  noise:\n    typo_rate: 2\n")
    with pytest.raises(ParamsError, match=r"generate\.noise\.typo_rate"):
        load_params(path)


def test_source_needs_a_location(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("ingest:\n  source:\n    kind: omop\n")
    with pytest.raises(ParamsError, match="url"):
        load_params(path)
