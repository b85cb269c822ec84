"""A folder of .txt files (curation.sources.files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from curation.settings import SourceSettings
from curation.sources.base import Reason, SourceError
from curation.sources.files import file_doc_id, read_files

CRH = "Compte rendu d'hospitalisation : patiente opérée d'une cholécystectomie, suites simples."


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    (root / "2024" / "cardiologie").mkdir(parents=True)
    (root / "DUPONT_Jean_crh.txt").write_bytes(CRH.encode("cp1252"))
    (root / "2024" / "bom.txt").write_bytes(b"\xef\xbb\xbf" + "Fièvre à 39 °C.".encode())
    (root / "2024" / "cardiologie" / "crlf.txt").write_bytes(b"Motif : malaise\r\nECG normal\r\n")
    (root / "notes.csv").write_text("not a txt file", encoding="utf-8")
    return root


def test_reads_txt_files_as_raw_bytes_in_path_order(folder: Path) -> None:
    records = list(read_files(SourceSettings(kind="files", path=str(folder))))
    assert [r.location for r in records] == [
        "2024/bom.txt",
        "2024/cardiologie/crlf.txt",
        "DUPONT_Jean_crh.txt",
    ]
    assert records[2].raw == CRH.encode("cp1252")
    assert records[1].raw == b"Motif : malaise\r\nECG normal\r\n"
    assert all(r.text is None and r.problem is None for r in records)


def test_doc_id_is_a_hash_of_the_relative_path_without_the_name(folder: Path) -> None:
    records = list(read_files(SourceSettings(kind="files", path=str(folder))))
    for record in records:
        doc_id = record.fields["doc_id"]
        assert doc_id == file_doc_id(record.location)
        assert doc_id.startswith("txt-") and len(doc_id) == 4 + 16
        assert "DUPONT" not in doc_id and "crh" not in doc_id
        assert record.log_ref == doc_id  # what may be logged is the id, never the path


def test_doc_ids_do_not_depend_on_where_the_folder_is(folder: Path, tmp_path: Path) -> None:
    moved = shutil.copytree(folder, tmp_path / "elsewhere" / "copie")
    first = [r.fields["doc_id"] for r in read_files(SourceSettings(kind="files", path=str(folder)))]
    second = [r.fields["doc_id"] for r in read_files(SourceSettings(kind="files", path=str(moved)))]
    assert first == second
    assert len(set(first)) == 3


def test_glob_selects_files(folder: Path) -> None:
    settings = SourceSettings(kind="files", path=str(folder), glob="2024/**/*.txt")
    assert [r.location for r in read_files(settings)] == [
        "2024/bom.txt",
        "2024/cardiologie/crlf.txt",
    ]


def test_unreadable_file_is_quarantined_not_fatal(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "crlf.txt":
            raise PermissionError(13, "Permission denied")
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    records = list(read_files(SourceSettings(kind="files", path=str(folder))))
    problems = [r.problem for r in records if r.problem is not None]
    assert len(records) == 3
    assert len(problems) == 1
    assert problems[0].reason is Reason.UNREADABLE
    assert "crlf" not in problems[0].message  # file names stay out of messages


def test_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist") as info:
        read_files(SourceSettings(kind="files", path=str(tmp_path / "absent")))
    assert str(tmp_path / "absent") in str(info.value)


def test_a_file_instead_of_a_folder_is_a_source_error(folder: Path) -> None:
    with pytest.raises(SourceError, match="is not a folder"):
        read_files(SourceSettings(kind="files", path=str(folder / "notes.csv")))


def test_no_matching_file_is_a_source_error(folder: Path) -> None:
    with pytest.raises(SourceError, match=r"ingest\.source\.glob"):
        read_files(SourceSettings(kind="files", path=str(folder), glob="*.rtf"))
