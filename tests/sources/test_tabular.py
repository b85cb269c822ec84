"""Parquet, JSON Lines and CSV exports (curation.sources.tabular)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.settings import SourceSettings
from curation.sources.base import Reason, SourceError
from curation.sources.tabular import PARQUET_BATCH_ROWS, read_csv, read_jsonl, read_parquet

CR_IMAGERIE = "Scanner thoraco-abdominal : pas de lésion secondaire décelable."
CR_CONSULT = "Consultation de suivi : patient asymptomatique, poursuite du traitement."


# --- JSON Lines -------------------------------------------------------------------------


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_yields_one_record_per_line(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "notes.jsonl",
        [
            json.dumps({"doc_id": "n1", "text": CR_IMAGERIE, "patient_id": 17}),
            "",
            json.dumps({"doc_id": "n2", "text": CR_CONSULT, "doc_type": "cr_consultation"}),
        ],
    )
    records = list(read_jsonl(SourceSettings(kind="jsonl", path=str(path))))
    assert [r.text for r in records] == [CR_IMAGERIE, CR_CONSULT]
    assert records[0].fields == {"doc_id": "n1", "patient_id": 17}
    assert records[1].fields["doc_type"] == "cr_consultation"
    assert [r.location for r in records] == [f"{path}:line 1", f"{path}:line 3"]
    assert [r.log_ref for r in records] == ["line 1", "line 3"]  # blank line 2 is no record


def test_jsonl_flags_bad_lines_without_stopping(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps({"doc_id": "n1", "text": CR_CONSULT}).encode()
        + b"\n{pas du json\n"
        + b'["n2", "liste"]\n'
        + b'{"doc_id": "n3"}\n'
        + b'{"doc_id": "n4", "text": "op\xe9r\xe9e"}\n'
        + json.dumps({"doc_id": "n5", "text": CR_IMAGERIE}).encode()
        + b"\n"
    )
    records = list(read_jsonl(SourceSettings(kind="jsonl", path=str(path))))
    reasons = [r.problem.reason if r.problem else None for r in records]
    assert reasons == [
        None,  # the UTF-8 BOM before the first line is ignored
        Reason.INVALID_RECORD,
        Reason.INVALID_RECORD,
        Reason.MISSING_COLUMN,
        Reason.UNDECODABLE,
        None,
    ]
    assert records[3].fields == {"doc_id": "n3"}  # the doc_id still reaches the quarantine
    assert records[1].problem is not None and "line 2" in records[1].problem.message
    assert records[2].problem is not None and "list" in records[2].problem.message


def test_jsonl_column_mapping(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "n.jsonl", [json.dumps({"id": "n1", "contenu": CR_CONSULT})])
    settings = SourceSettings(
        kind="jsonl", path=str(path), columns={"doc_id": "id", "text": "contenu"}
    )
    [record] = read_jsonl(settings)
    assert record.fields == {"doc_id": "n1"}
    assert record.text == CR_CONSULT


# --- CSV ---------------------------------------------------------------------------------

CSV_COLUMNS = {"doc_id": "id_document", "text": "texte", "patient_id": "ipp", "created_at": "date"}


def test_csv_with_column_mapping_semicolons_and_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "id_document;ipp;date;texte\r\n"
        'c1;P001;12/03/2024;"Motif : douleur thoracique\r\nConclusion : RAD"\r\n'
        "\r\n"
        "c2;P002;;Suites opératoires simples.\r\n".encode("cp1252")
    )
    settings = SourceSettings(kind="csv", path=str(path), columns=CSV_COLUMNS)
    records = list(read_csv(settings))
    assert len(records) == 2
    first, second = records
    assert first.raw == b"Motif : douleur thoracique\r\nConclusion : RAD"
    assert first.fields == {"doc_id": b"c1", "patient_id": b"P001", "created_at": b"12/03/2024"}
    # cells keep their original bytes: the cp1252 é is decoded at ingest, like a .txt file
    assert second.raw == "Suites opératoires simples.".encode("cp1252")
    assert "created_at" not in second.fields  # an empty cell is a missing value
    assert first.location == f"{path}:row 1 (line 2)"
    assert second.log_ref == "row 2 (line 5)"


def test_csv_header_without_the_mapped_column_quarantines_every_row(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id_document,texte_libre\nc1,Bilan normal.\nc2,Bilan normal.\n")
    records = list(read_csv(SourceSettings(kind="csv", path=str(path), columns=CSV_COLUMNS)))
    assert len(records) == 2
    for record in records:
        assert record.problem is not None
        assert record.problem.reason is Reason.MISSING_COLUMN
        assert "'texte'" in record.problem.message


def test_csv_row_with_wrong_field_count_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("doc_id,text\nc1,Bilan normal.\nc2,Bilan,en trop\n", encoding="utf-8")
    records = list(read_csv(SourceSettings(kind="csv", path=str(path))))
    assert records[0].problem is None
    assert records[1].problem is not None
    assert records[1].problem.reason is Reason.INVALID_RECORD
    assert "3 fields" in records[1].problem.message


def test_csv_in_utf16_gives_text(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("doc_id\ttext\nc1\tFièvre à 39 °C.\n".encode("utf-16"))
    [record] = read_csv(SourceSettings(kind="csv", path=str(path)))
    assert record.text == "Fièvre à 39 °C."
    assert record.fields == {"doc_id": "c1"}


def test_csv_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"export\.csv does not exist"):
        read_csv(SourceSettings(kind="csv", path=str(tmp_path / "export.csv")))


# --- Parquet -----------------------------------------------------------------------------


def test_parquet_reads_mapped_columns_in_batches(tmp_path: Path) -> None:
    n = PARQUET_BATCH_ROWS * 2 + 7
    table = pa.table(
        {
            "id": [f"p{i:04d}" for i in range(n)],
            "body": [f"Séance de chimiothérapie n°{i}, bonne tolérance." for i in range(n)],
            "when": pa.array([datetime(2024, 3, 12, 14, 30)] * n, pa.timestamp("us")),
            "unused": [b"\x00" * 10] * n,
        }
    )
    path = tmp_path / "export.parquet"
    pq.write_table(table, path, row_group_size=100)
    settings = SourceSettings(
        kind="parquet",
        path=str(path),
        columns={"doc_id": "id", "text": "body", "created_at": "when"},
    )
    records = list(read_parquet(settings))
    assert len(records) == n
    assert [r.fields["doc_id"] for r in records] == table.column("id").to_pylist()
    assert records[-1].text == f"Séance de chimiothérapie n°{n - 1}, bonne tolérance."
    assert records[0].fields["created_at"] == datetime(2024, 3, 12, 14, 30)
    assert records[5].location == f"{path}:row 6"


def test_parquet_binary_text_goes_to_raw(tmp_path: Path) -> None:
    path = tmp_path / "export.parquet"
    pq.write_table(
        pa.table({"doc_id": ["b1"], "text": pa.array([CR_CONSULT.encode("cp1252")], pa.binary())}),
        path,
    )
    [record] = read_parquet(SourceSettings(kind="parquet", path=str(path)))
    assert record.raw == CR_CONSULT.encode("cp1252")


@pytest.mark.parametrize("names", [["doc_id", "body"], ["foo", "bar"]])
def test_parquet_without_text_column_quarantines_every_row(
    tmp_path: Path, names: list[str]
) -> None:
    path = tmp_path / "export.parquet"
    pq.write_table(pa.table({names[0]: ["a", "b", "c"], names[1]: ["x", "y", "z"]}), path)
    records = list(read_parquet(SourceSettings(kind="parquet", path=str(path))))
    assert len(records) == 3
    assert {r.problem.reason for r in records if r.problem} == {Reason.MISSING_COLUMN}
    assert all(r.problem is not None for r in records)


def test_not_a_parquet_file_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "export.parquet"
    path.write_text("doc_id,text\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not a readable Parquet file"):
        read_parquet(SourceSettings(kind="parquet", path=str(path)))
