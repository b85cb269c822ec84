"""The OMOP CDM ``note`` table on a real SQLite database (curation.sources.omop)."""

from __future__ import annotations

import types
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from curation.settings import SourceSettings
from curation.sources.base import Reason, SourceError
from curation.sources.omop import read_omop

NOTES: list[dict[str, Any]] = [
    {
        "note_id": 12,
        "person_id": 501,
        "visit_occurrence_id": 9001,
        "note_date": date(2024, 3, 12),
        "note_datetime": datetime(2024, 3, 12, 14, 30),
        "note_title": "crh",
        "note_text": "Décompensation cardiaque, bonne évolution sous diurétiques.",
        "care_site": "chu-nord",
    },
    {
        "note_id": 5,
        "person_id": 502,
        "visit_occurrence_id": None,
        "note_date": date(2024, 1, 8),
        "note_datetime": None,
        "note_title": "Compte rendu opératoire",
        "note_text": "Cholécystectomie sous cœlioscopie sans incident.",
        "care_site": None,
    },
]


def _database(path: Path, *, with_datetime: bool = True, text_column: str = "note_text") -> Path:
    engine = sa.create_engine(f"sqlite:///{path}")
    columns: list[sa.Column[Any]] = [
        sa.Column("note_id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("visit_occurrence_id", sa.Integer),
        sa.Column("note_date", sa.Date, nullable=False),
        sa.Column("note_title", sa.String(250)),
        sa.Column(text_column, sa.Text),
        sa.Column("care_site", sa.String(50)),
    ]
    if with_datetime:
        columns.append(sa.Column("note_datetime", sa.DateTime))
    note = sa.Table("note", sa.MetaData(), *columns)
    rows = []
    for values in NOTES:
        row = dict(values)
        row[text_column] = row.pop("note_text")
        if not with_datetime:
            del row["note_datetime"]
        rows.append(row)
    with engine.begin() as connection:
        note.create(connection)
        connection.execute(sa.insert(note), rows)
    engine.dispose()
    return path


def test_default_mapping_in_note_id_order(tmp_path: Path) -> None:
    path = _database(tmp_path / "cdm.sqlite")
    records = list(read_omop(SourceSettings(kind="omop", path=str(path))))
    assert [r.location for r in records] == ["note.note_id=5", "note.note_id=12"]
    second, first = records
    assert first.fields == {
        "doc_id": 12,
        "patient_id": 501,
        "stay_id": 9001,
        "created_at": datetime(2024, 3, 12, 14, 30),
        "doc_type": "crh",
    }
    assert first.text == NOTES[0]["note_text"]
    # note_datetime is null: note_date stands in for it
    assert second.fields["created_at"] == date(2024, 1, 8)
    assert "stay_id" not in second.fields


def test_note_date_when_the_table_has_no_note_datetime(tmp_path: Path) -> None:
    path = _database(tmp_path / "cdm.sqlite", with_datetime=False)
    records = list(read_omop(SourceSettings(kind="omop", path=str(path))))
    assert [r.fields["created_at"] for r in records] == [date(2024, 1, 8), date(2024, 3, 12)]


def test_url_and_column_override(tmp_path: Path) -> None:
    path = _database(tmp_path / "cdm.sqlite")
    settings = SourceSettings(kind="omop", url=f"sqlite:///{path}", columns={"site": "care_site"})
    records = list(read_omop(settings))
    assert [r.fields.get("site") for r in records] == [None, "chu-nord"]


def test_rows_are_streamed(tmp_path: Path) -> None:
    path = _database(tmp_path / "cdm.sqlite")
    records = read_omop(SourceSettings(kind="omop", path=str(path)))
    assert isinstance(records, types.GeneratorType)
    assert next(records).location == "note.note_id=5"
    records.close()


def test_missing_text_column_quarantines_every_row(tmp_path: Path) -> None:
    path = _database(tmp_path / "cdm.sqlite", text_column="note_body")
    records = list(read_omop(SourceSettings(kind="omop", path=str(path))))
    assert len(records) == 2
    for record in records:
        assert record.problem is not None
        assert record.problem.reason is Reason.MISSING_COLUMN
        assert "note_text" in record.problem.message


def test_missing_database_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        read_omop(SourceSettings(kind="omop", path=str(tmp_path / "absent.sqlite")))
    assert not (tmp_path / "absent.sqlite").exists()  # no empty database left behind


def test_missing_table_is_a_source_error(tmp_path: Path) -> None:
    path = _database(tmp_path / "cdm.sqlite")
    with pytest.raises(SourceError, match="table 'notes' not found"):
        read_omop(SourceSettings(kind="omop", path=str(path), table="notes"))
    # an unknown schema is another error of the database, named all the same
    with pytest.raises(SourceError, match=r"table 'cdm\.note'.*ingest\.source\.table"):
        read_omop(SourceSettings(kind="omop", path=str(path), table="cdm.note"))


def test_bad_url_is_a_source_error_without_the_password() -> None:
    settings = SourceSettings(kind="omop", url="nosuchdialect://lecteur:secret@entrepot/cdm")
    with pytest.raises(SourceError) as info:
        read_omop(settings)
    assert "secret" not in str(info.value)
