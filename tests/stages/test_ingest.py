"""The ingest stage end to end: every source kind, every quarantine reason, the invariants."""

from __future__ import annotations

import json
import logging
import tempfile
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.schema import DOCUMENT_SCHEMA, text_sha256
from curation.settings import IngestSettings, ParamsError, SourceSettings
from curation.sources.base import Reason, SourceError
from curation.sources.files import file_doc_id
from curation.stages import ingest
from curation.stages.ingest import IngestSummary, run

#: Sentinel sentences: they must never reach a log, a message or the quarantine file.
SECRET = "Antécédent de cholécystectomie sous cœlioscopie en 2019"
NOTES = [
    "Patiente de 67 ans hospitalisée pour pneumopathie, amoxicilline 7 jours.",
    "Scanner thoraco-abdominal : nodule pulmonaire de 8 mm à contrôler.",
    "Consultation d'oncologie : bonne tolérance de la chimiothérapie adjuvante.",
    "Compte rendu opératoire : appendicectomie sans incident.",
]


def _settings(tmp_path: Path, kind: str, path: Path, **overrides: Any) -> IngestSettings:
    source_keys = {"columns", "name", "glob", "table", "url"}
    source = {k: overrides.pop(k) for k in list(overrides) if k in source_keys}
    return IngestSettings(
        source=SourceSettings(kind=kind, path=str(path), **source),
        output=str(tmp_path / "out" / "documents.parquet"),
        quarantine=str(tmp_path / "out" / "quarantine.jsonl"),
        **overrides,
    )


def _jsonl(path: Path, records: Sequence[dict[str, Any] | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _quarantine(summary: IngestSummary) -> list[dict[str, Any]]:
    lines = summary.quarantine.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _documents(summary: IngestSummary) -> list[dict[str, Any]]:
    return pq.read_table(summary.output).to_pylist()


def _assert_counts(summary: IngestSummary) -> None:
    assert summary.accepted + summary.quarantined == summary.read
    assert sum(summary.reasons.values()) == summary.quarantined
    assert pq.ParquetFile(summary.output).metadata.num_rows == summary.accepted
    assert len(_quarantine(summary)) == summary.quarantined


# --- every quarantine reason, through the stage ------------------------------------------

GOOD = {"doc_id": "ok", "text": NOTES[0]}
CASES: dict[str, list[dict[str, Any] | str]] = {
    "empty_text": [{"doc_id": "bad", "text": "  \n "}],
    "binary_content": [{"doc_id": "bad", "text": SECRET + "\u0000\u0000"}],
    "too_large": [{"doc_id": "bad", "text": SECRET * 10}],
    "duplicate_id_conflict": [{"doc_id": "ok", "text": SECRET}],
    "duplicate_text": [{"doc_id": "bad", "text": NOTES[0]}],
    "missing_column": [{"doc_id": "bad", "texte": SECRET}],
    "missing_doc_id": [{"doc_id": " ", "text": SECRET}],
    "invalid_record": ["{" + SECRET],
    "hash_mismatch": [{"doc_id": "bad", "text": SECRET, "sha256": text_sha256(SECRET + ".")}],
}


@pytest.mark.parametrize("reason", sorted(CASES))
def test_each_reason_is_quarantined_with_a_message(tmp_path: Path, reason: str) -> None:
    path = _jsonl(tmp_path / "notes.jsonl", [GOOD, *CASES[reason]])
    summary = run(_settings(tmp_path, "jsonl", path, max_chars=200), progress=False)
    _assert_counts(summary)
    assert (summary.read, summary.accepted, summary.quarantined) == (2, 1, 1)
    assert summary.reasons == {reason: 1}
    [entry] = _quarantine(summary)
    assert entry["reason"] == reason
    assert entry["location"] == f"{path}:line 2"
    assert entry["message"]
    assert SECRET not in json.dumps(entry, ensure_ascii=False)
    assert "cholécystectomie" not in summary.render()


def test_undecodable_and_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "ok.txt").write_text(NOTES[1], encoding="utf-8")
    (folder / "garbled.txt").write_bytes(b"Bilan \x81\x8d\x90 illisible")
    (folder / "locked.txt").write_text(NOTES[2], encoding="utf-8")
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    summary = run(_settings(tmp_path, "files", folder), progress=False)
    _assert_counts(summary)
    assert summary.reasons == {"undecodable": 1, "unreadable": 1}
    by_location = {e["location"]: e for e in _quarantine(summary)}
    assert by_location["garbled.txt"]["doc_id"] == file_doc_id("garbled.txt")
    assert by_location["locked.txt"]["reason"] == "unreadable"


# --- each source kind ---------------------------------------------------------------------


def test_files_source_decodes_cp1252_bom_and_crlf(tmp_path: Path) -> None:
    folder = tmp_path / "txt"
    (folder / "cardio").mkdir(parents=True)
    (folder / "MARTIN_Paul_lettre.txt").write_bytes(
        "Lettre de liaison : opéré à J0.".encode("cp1252")
    )
    (folder / "cardio" / "bom.txt").write_bytes(b"\xef\xbb\xbf" + "Fièvre à 39 °C.".encode())
    (folder / "cardio" / "crlf.txt").write_bytes(b"Motif : malaise\r\nECG normal\r\n")
    summary = run(_settings(tmp_path, "files", folder, name="export-ged"), progress=False)
    _assert_counts(summary)
    assert summary.encodings == {"cp1252": 1, "utf-8": 2}
    rows = {row["doc_id"]: row for row in _documents(summary)}
    assert rows[file_doc_id("MARTIN_Paul_lettre.txt")]["text"] == "Lettre de liaison : opéré à J0."
    assert rows[file_doc_id("cardio/bom.txt")]["text"] == "Fièvre à 39 °C."
    assert rows[file_doc_id("cardio/crlf.txt")]["text"] == "Motif : malaise\nECG normal\n"
    assert {row["source"] for row in rows.values()} == {"export-ged"}
    assert all("MARTIN" not in doc_id for doc_id in rows)


def test_parquet_source_with_mapping_and_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "export.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["p1", "p2"],
                "corps": NOTES[:2],
                "ipp": ["P001", None],
                "date_doc": pa.array([datetime(2024, 3, 12, 9, 5), None], pa.timestamp("ms")),
                "type": ["cr_imagerie", "compte rendu de radiologie"],
            }
        ),
        path,
    )
    columns = {"doc_id": "id", "text": "corps", "patient_id": "ipp", "created_at": "date_doc"}
    columns["doc_type"] = "type"
    summary = run(
        _settings(tmp_path, "parquet", path, columns=columns, default_site="chu-sud"),
        progress=False,
    )
    _assert_counts(summary)
    first, second = _documents(summary)
    assert first == {
        "doc_id": "p1",
        "patient_id": "P001",
        "stay_id": None,
        "site": "chu-sud",
        "doc_type": "cr_imagerie",
        "specialty": None,
        "created_at": "2024-03-12T09:05:00",
        "text": NOTES[0],
        "source": "parquet",
        "sha256": text_sha256(NOTES[0]),
    }
    assert (second["doc_type"], second["created_at"]) == ("autre", None)
    assert pq.read_schema(summary.output).equals(DOCUMENT_SCHEMA)


def test_csv_source_with_mapping_and_cp1252_cells(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "N° document;Texte du CR;Date\r\n"
        "c1;Biopsie hépatique : absence de fibrose.;12/03/2024\r\n"
        'c2;"Ligne 1\r\nLigne 2 : écho normale";\r\n'.encode("cp1252")
    )
    columns = {"doc_id": "N° document", "text": "Texte du CR", "created_at": "Date"}
    summary = run(_settings(tmp_path, "csv", path, columns=columns), progress=False)
    _assert_counts(summary)
    rows = _documents(summary)
    assert [(r["doc_id"], r["text"], r["created_at"]) for r in rows] == [
        ("c1", "Biopsie hépatique : absence de fibrose.", "2024-03-12"),
        ("c2", "Ligne 1\nLigne 2 : écho normale", None),
    ]


def test_csv_without_the_mapped_text_column_quarantines_every_row(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("doc_id,texte\nc1,Bilan normal.\nc2,Bilan normal.\n", encoding="utf-8")
    summary = run(_settings(tmp_path, "csv", path), progress=False)
    _assert_counts(summary)
    assert (summary.read, summary.accepted) == (2, 0)
    assert summary.reasons == {"missing_column": 2}
    assert [e["doc_id"] for e in _quarantine(summary)] == ["c1", "c2"]
    assert pq.read_schema(summary.output).equals(DOCUMENT_SCHEMA)  # an empty, valid table


def test_omop_source(tmp_path: Path) -> None:
    path = tmp_path / "cdm.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    note = sa.Table(
        "note",
        sa.MetaData(),
        sa.Column("note_id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer),
        sa.Column("visit_occurrence_id", sa.Integer),
        sa.Column("note_date", sa.Date),
        sa.Column("note_title", sa.String),
        sa.Column("note_text", sa.Text),
    )
    with engine.begin() as connection:
        note.create(connection)
        connection.execute(
            sa.insert(note),
            [
                {
                    "note_id": i,
                    "person_id": 100 + i,
                    "visit_occurrence_id": 7,
                    "note_date": datetime(2024, 1, i).date(),
                    "note_title": "crh",
                    "note_text": text,
                }
                for i, text in enumerate([*NOTES, ""], start=1)
            ],
        )
    engine.dispose()
    summary = run(_settings(tmp_path, "omop", path), progress=False)
    _assert_counts(summary)
    assert summary.reasons == {"empty_text": 1}
    assert _quarantine(summary)[0]["location"] == "note.note_id=5"
    rows = _documents(summary)
    assert [r["doc_id"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["patient_id"] == "101" and rows[0]["stay_id"] == "7"
    assert rows[0]["created_at"] == "2024-01-01" and rows[0]["doc_type"] == "crh"


# --- normalisation, determinism, idempotence ----------------------------------------------


def test_text_is_nfc_normalised_once_at_ingest(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Réévaluation à J3 : état général conservé.\r\n")
    path = _jsonl(tmp_path / "n.jsonl", [{"doc_id": "n1", "text": decomposed}])
    summary = run(_settings(tmp_path, "jsonl", path), progress=False)
    [row] = _documents(summary)
    assert row["text"] == "Réévaluation à J3 : état général conservé.\n"
    assert unicodedata.is_normalized("NFC", row["text"])
    assert "e\u0301" not in row["text"]
    assert row["sha256"] == text_sha256(row["text"])


def test_reingest_is_a_no_op(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "n.jsonl",
        [{"doc_id": f"n{i}", "text": t} for i, t in enumerate(NOTES)]
        + [{"doc_id": "x", "text": ""}],
    )
    config = _settings(tmp_path, "jsonl", path)
    first = run(config, progress=False)
    assert not first.output_unchanged and "written" in first.render()
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (first.output, first.quarantine)}
    second = run(config, progress=False)
    assert second.unchanged
    assert "unchanged" in second.render()
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (first.output, first.quarantine)}
    assert after == before  # same bytes, and not even rewritten
    assert sorted(p.name for p in first.output.parent.iterdir()) == [
        "documents.parquet",
        "quarantine.jsonl",
    ]  # no temporary file left behind
    _jsonl(path, [{"doc_id": "n0", "text": NOTES[0]}])
    third = run(config, progress=False)
    assert not third.output_unchanged and not third.quarantine_unchanged
    assert third.read == 1


def test_output_is_deterministic_across_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "ROW_GROUP_ROWS", 3)
    records = [{"doc_id": f"n{i}", "text": f"{NOTES[i % 4]} (séance {i})"} for i in range(10)]
    path = _jsonl(tmp_path / "n.jsonl", records)
    one = run(_settings(tmp_path / "a", "jsonl", path), progress=False)
    two = run(_settings(tmp_path / "b", "jsonl", path), progress=False)
    assert one.output.read_bytes() == two.output.read_bytes()
    assert pq.ParquetFile(one.output).metadata.num_row_groups == 4
    assert [r["doc_id"] for r in _documents(one)] == [f"n{i}" for i in range(10)]


# --- errors, logs and progress ---------------------------------------------------------------


def test_source_error_leaves_outputs_untouched(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "n.jsonl", [{"doc_id": "n1", "text": NOTES[0]}])
    config = _settings(tmp_path, "jsonl", path)
    summary = run(config, progress=False)
    before = summary.output.read_bytes()
    path.unlink()
    with pytest.raises(SourceError, match=r"n\.jsonl does not exist"):
        run(config, progress=False)
    assert summary.output.read_bytes() == before
    assert len(list(summary.output.parent.iterdir())) == 2


def test_unknown_encoding_is_a_params_error(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "n.jsonl", [{"doc_id": "n1", "text": NOTES[0]}])
    with pytest.raises(ParamsError, match="unknown encoding 'latin-9x'"):
        run(_settings(tmp_path, "jsonl", path, encodings=["utf-8", "latin-9x"]), progress=False)


def test_logs_hold_counts_and_ids_never_text_or_file_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "DURAND_Marie.txt").write_text(SECRET, encoding="utf-8")
    (folder / "LEROY_Luc.txt").write_text(SECRET, encoding="utf-8")
    (folder / "vide.txt").write_text(" ", encoding="utf-8")
    with caplog.at_level(logging.DEBUG, logger="curation"):
        summary = run(_settings(tmp_path, "files", folder), progress=True)
    assert summary.reasons == {"duplicate_text": 1, "empty_text": 1}
    logged = caplog.text
    assert file_doc_id("LEROY_Luc.txt") in logged
    assert "3 read" in logged
    for forbidden in ("cholécystectomie", "DURAND", "LEROY", "vide.txt"):
        assert forbidden not in logged
        assert forbidden not in summary.render()
    assert capsys.readouterr().err == ""  # no progress bar outside a terminal


# --- the invariant, on random mixes -------------------------------------------------------

KINDS = ["good", "empty", "binary", "dup_text", "dup_id", "not_json", "no_text", "no_id", "big"]
EXPECTED = {
    "empty": "empty_text",
    "binary": "binary_content",
    "not_json": "invalid_record",
    "no_text": "missing_column",
    "no_id": "missing_doc_id",
    "big": "too_large",
}


def _line(kind: str, i: int) -> dict[str, Any] | str:
    text = f"Consultation n°{i} : examen clinique sans particularité."
    lines: dict[str, dict[str, Any] | str] = {
        "good": {"doc_id": f"d{i}", "text": text},
        "empty": {"doc_id": f"d{i}", "text": " \r\n"},
        "binary": {"doc_id": f"d{i}", "text": "\u0000" + text},
        "dup_text": {"doc_id": f"d{i}", "text": "Texte répété dans l'export."},
        "dup_id": {"doc_id": "partagé", "text": text},
        "not_json": f"[{i}, ",
        "no_text": {"doc_id": f"d{i}"},
        "no_id": {"doc_id": None, "text": text},
        "big": {"doc_id": f"d{i}", "text": text + "x" * 200},
    }
    return lines[kind]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(KINDS), max_size=25))
def test_every_record_is_accepted_or_quarantined(kinds: list[str]) -> None:
    expected: dict[str, int] = {}
    for position, kind in enumerate(kinds):
        reason = EXPECTED.get(kind)
        if kind == "dup_text" and "dup_text" in kinds[:position]:
            reason = "duplicate_text"
        if kind == "dup_id" and "dup_id" in kinds[:position]:
            reason = "duplicate_id_conflict"
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = _jsonl(root / "mix.jsonl", [_line(kind, i) for i, kind in enumerate(kinds)])
        summary = run(_settings(root, "jsonl", path, max_chars=200), progress=False)
        _assert_counts(summary)
        assert summary.read == len(kinds)
        assert summary.reasons == dict(sorted(expected.items()))
        assert summary.accepted == len(kinds) - sum(expected.values())
        assert {e["reason"] for e in _quarantine(summary)} <= {r.value for r in Reason}
