"""Manifest verification, semantic versioning rules, baseline errors and the dataset card."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from curation.release import card, manifest, versioning
from curation.release.baselines import score_baseline, span_errors
from curation.schema import Record, Span
from curation.usecases import get

PSEUDO = get("pseudonymisation")


def release_folder(tmp_path: Path) -> Path:
    (tmp_path / "data" / "brat").mkdir(parents=True)
    (tmp_path / "data" / "test.jsonl").write_text('{"doc_id": "d1"}\n')
    (tmp_path / "data" / "brat" / "d1.ann").write_text("T1\tNOM 0 4\tJean\n")
    manifest.write(tmp_path, manifest.build(tmp_path))
    return tmp_path


def test_manifest_verifies_untouched_files(tmp_path: Path) -> None:
    folder = release_folder(tmp_path)
    assert manifest.verify(folder) == []


def test_manifest_catches_a_modified_file_of_the_same_size(tmp_path: Path) -> None:
    folder = release_folder(tmp_path)
    (folder / "data" / "brat" / "d1.ann").write_text("T1\tTEL 0 4\tJean\n")
    assert manifest.verify(folder) == [
        "data/brat/d1.ann: modified (sha256 differs from manifest.json)"
    ]


def test_manifest_catches_missing_and_unlisted_files(tmp_path: Path) -> None:
    folder = release_folder(tmp_path)
    (folder / "data" / "test.jsonl").unlink()
    (folder / "data" / "extra.jsonl").write_text("{}\n")
    assert manifest.verify(folder) == [
        "data/test.jsonl: missing",
        "data/extra.jsonl: not in manifest.json",
    ]


@pytest.mark.parametrize(
    ("changes", "labels_changed", "data_changed", "bump"),
    [
        ({"test_touched": True}, False, True, "major"),
        ({"test_touched": False}, True, False, "major"),
        ({"test_touched": False}, False, True, "minor"),
        ({"test_touched": False}, False, False, "patch"),
    ],
)
def test_required_bump(changes: dict, labels_changed: bool, data_changed: bool, bump: str) -> None:
    assert versioning.required_bump(changes, labels_changed, data_changed) == bump


def test_a_changed_test_split_needs_a_major_version() -> None:
    with pytest.raises(ValueError, match=r"need a major bump \(at least 2\.0\.0\)"):
        versioning.check_version("1.1.0", "1.0.3", "major")
    versioning.check_version("2.0.0", "1.0.3", "major")
    with pytest.raises(ValueError, match="not greater"):
        versioning.check_version("1.0.3", "1.0.3", "patch")
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.PATCH"):
        versioning.check_version("v1", None, "patch")


def test_baseline_confusion_and_errors_on_a_hand_example() -> None:
    text = "Jean Dupont, 06 12 34 56 78, Lyon"
    gold = [
        Record(
            "d1",
            "pseudonymisation",
            "gold",
            spans=[
                Span(0, 4, "PRENOM", "Jean"),
                Span(5, 11, "NOM", "Dupont"),
                Span(13, 27, "TEL", "06 12 34 56 78"),
            ],
        )
    ]
    predicted = [
        Record(
            "d1",
            "pseudonymisation",
            "model",
            spans=[
                Span(0, 4, "NOM", "Jean"),  # wrong label
                Span(5, 12, "NOM", "Dupont,"),  # boundary
                Span(29, 33, "VILLE", "Lyon"),  # spurious; TEL missed
            ],
        )
    ]
    assert text[29:33] == "Lyon"
    labels = ["NOM", "PRENOM", "TEL", "VILLE"]
    matrix, errors = span_errors(gold, predicted, labels, "m")
    index = {label: i for i, label in enumerate(matrix["labels"])}
    assert matrix["matrix"][index["PRENOM"]][index["NOM"]] == 1
    assert matrix["matrix"][index["NOM"]][index["NOM"]] == 1  # the boundary pair
    assert matrix["matrix"][index["TEL"]][index["O"]] == 1
    assert matrix["matrix"][index["O"]][index["VILLE"]] == 1
    assert sorted(e["kind"] for e in errors) == ["boundary", "missed", "spurious", "wrong label"]
    assert all("text" not in e for e in errors)
    metrics, _ = score_baseline(PSEUDO, gold, predicted, "m")
    # strict: no exact match -> P 0/3, R 0/3; partial: NOM overlaps NOM -> 1 of 3 each way
    assert metrics["strict"]["micro"]["f1"] == 0.0
    assert metrics["partial"]["micro"]["precision"] == pytest.approx(1 / 3, abs=1e-4)


def test_card_front_matter_is_hugging_face_metadata() -> None:
    data = card.CardData(
        use_case=PSEUDO,
        version="1.2.0",
        splits={"train": 7, "dev": 1, "test": 2},
        label_counts={"train": {"NOM": 12}, "test": {"NOM": 3}},
        annotators=3,
        agreement=None,
        quality={"validate gold": True},
        provenance={"git_commit": "abc"},
        license="cc-by-4.0",
        baselines={"preannotator": 0.9},
        limitations=["Synthetic text."],
    )
    text = card.render(data)
    head = yaml.safe_load(text.split("---")[1])
    assert head["license"] == "cc-by-4.0" and head["language"] == ["fr"]
    assert head["task_categories"] == ["token-classification"]
    assert head["configs"][0]["data_files"][2] == {"split": "test", "path": "data/test.parquet"}
    assert "| NOM | 12 | 0 | 3 |" in text and "agreement is unknown" in text


def test_release_is_refused_when_a_quality_gate_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curation.release import ReleaseRefused
    from curation.stages.release import check_gates

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "reports" / "quality" / "pseudonymisation"
    folder.mkdir(parents=True)
    for stage in ("documents", "annotations"):
        (folder / f"{stage}.json").write_text('{"success": true}')
    with pytest.raises(ReleaseRefused, match="no validation of gold"):
        check_gates("pseudonymisation")
    (folder / "gold.json").write_text('{"success": false, "failed_critical": 2}')
    with pytest.raises(ReleaseRefused, match="gold quality gate failed \\(2 critical"):
        check_gates("pseudonymisation")
    (folder / "gold.json").write_text('{"success": true}')
    assert check_gates("pseudonymisation") == {
        "validate documents": True,
        "validate annotations": True,
        "validate gold": True,
    }


def test_test_digest_changes_with_a_corrected_label_not_with_provenance() -> None:
    from curation.stages.release import test_digest

    texts = {"d1": "Jean Dupont"}
    gold = Record("d1", "pseudonymisation", "gold:single", spans=[Span(5, 11, "NOM", "Dupont")])
    reviewed = Record(
        "d1",
        "pseudonymisation",
        "gold:review",
        spans=[Span(5, 11, "NOM", "Dupont")],
        provenance={"rule": "review"},
    )
    relabelled = Record(
        "d1", "pseudonymisation", "gold:single", spans=[Span(5, 11, "PRENOM", "Dupont")]
    )
    assert test_digest([gold], texts) == test_digest([reviewed], texts)
    assert test_digest([gold], texts) != test_digest([relabelled], texts)


def test_released_patient_groups_are_indexes_not_patient_ids() -> None:
    from curation.stages.release import _patient_groups

    groups = _patient_groups(
        {"a1": "train", "a2": "test", "b1": "train", "c1": "dev"},
        {"a1": "8012345678", "a2": "8012345678", "b1": "7000000001", "c1": None},
    )
    assert groups == {
        "a1": "patient-00001",
        "a2": "patient-00001",
        "b1": "patient-00002",
        "c1": "patient-00003",
    }


def test_a_gate_that_validated_another_version_of_the_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curation.release import ReleaseRefused
    from curation.release.manifest import file_sha256
    from curation.stages.release import check_gates

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "reports" / "quality" / "pseudonymisation"
    folder.mkdir(parents=True)
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"doc_id": "d1"}\n')
    for stage in ("documents", "annotations"):
        (folder / f"{stage}.json").write_text('{"success": true}')
    digest = file_sha256(gold)
    (folder / "gold.json").write_text(
        f'{{"success": true, "source": "{gold}", "source_sha256": "{digest}"}}'
    )
    assert check_gates("pseudonymisation")["validate gold"]
    gold.write_text('{"doc_id": "d2"}\n')
    with pytest.raises(ReleaseRefused, match="changed after its gold validation"):
        check_gates("pseudonymisation")
