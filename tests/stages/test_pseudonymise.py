"""Stage ``pseudonymise`` on a small synthetic corpus, and the file mode of the CLI."""

from __future__ import annotations

import json
import logging
import re
import stat
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import SecretStr, ValidationError

from curation.schema import DOCUMENT_SCHEMA, Span, text_sha256
from curation.settings import GenerateSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.stages.pseudonymise import (
    PseudonymiseError,
    PseudonymiseSettings,
    PseudonymiseSummary,
    pseudonymise_file,
    run,
)
from curation.surrogates import KeyConfigError
from curation.surrogates.dates import format_date, parse_date
from curation.surrogates.text import fold, fold_same_length

KEY = "cle-de-test-du-stage-0123456789"
NO_ENV = "CURATION_TEST_KEY_NEVER_SET"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50 synthetic documents and their answer keys, in the layout of ``data/raw``."""
    root = tmp_path_factory.mktemp("corpus")
    rows = []
    keys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in generate_documents(GenerateSettings(n_documents=50)):
        rows.append(item.document.to_row())
        for use_case, record in item.records.items():
            keys[use_case].append(record.to_dict())
    (root / "raw").mkdir()
    pq.write_table(
        pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), root / "raw/documents.parquet"
    )
    for use_case, records in keys.items():
        write_jsonl(root / "raw/answer_key" / f"{use_case}.jsonl", records)
    return root


def settings_for(corpus: Path, out: Path, **overrides: Any) -> PseudonymiseSettings:
    values: dict[str, Any] = {
        "documents": str(corpus / "raw/documents.parquet"),
        "predictions": str(corpus / "raw/answer_key/pseudonymisation.jsonl"),
        "output": str(out / "pseudonymised/documents.parquet"),
        "spans": str(out / "pseudonymised/spans.jsonl"),
        "mapping": str(out / "secret/pseudonymisation_mapping.jsonl"),
        "reoffset_dir": str(out / "pseudonymised/answer_key"),
        "reoffset": [
            str(corpus / "raw/answer_key" / f"{uc}.jsonl")
            for uc in (
                "pseudonymisation",
                "oncology_extraction",
                "icd10_coding",
                "clinical_summary",
            )
        ],
        "key": SecretStr(KEY),
        "key_env": NO_ENV,
        "batch_size": 16,
    }
    values.update(overrides)
    return PseudonymiseSettings(**values)


@pytest.fixture(scope="module")
def done(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, PseudonymiseSummary]:
    out = tmp_path_factory.mktemp("run")
    return out, run(settings_for(corpus, out), progress=False)


def tables(corpus: Path, out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    old = pq.read_table(corpus / "raw/documents.parquet").to_pylist()
    new = pq.read_table(out / "pseudonymised/documents.parquet").to_pylist()
    return {r["doc_id"]: r for r in old}, {r["doc_id"]: r for r in new}


def test_documents_keep_their_ids_and_get_new_text(
    corpus: Path, done: tuple[Path, PseudonymiseSummary]
) -> None:
    out, summary = done
    assert pq.read_schema(out / "pseudonymised/documents.parquet").equals(DOCUMENT_SCHEMA)
    old, new = tables(corpus, out)
    assert list(old) == list(new) and summary.documents == 50
    for doc_id, row in new.items():
        for name in ("patient_id", "stay_id", "site", "doc_type", "specialty", "source"):
            assert row[name] == old[doc_id][name]
        assert row["text"] != old[doc_id]["text"]
        assert row["sha256"] == text_sha256(row["text"])
        assert row["created_at"] != old[doc_id]["created_at"]  # moved like the text's dates
    assert summary.created_at_shifted == 50


def test_span_records_have_exact_new_offsets(
    corpus: Path, done: tuple[Path, PseudonymiseSummary]
) -> None:
    out, summary = done
    _, new = tables(corpus, out)
    records = read_jsonl(out / "pseudonymised/spans.jsonl")
    assert [r["doc_id"] for r in records] == list(new)
    gold = {r["doc_id"]: r for r in read_jsonl(corpus / "raw/answer_key/pseudonymisation.jsonl")}
    for record in records:
        text = new[record["doc_id"]]["text"]
        assert record["use_case"] == "pseudonymisation"
        assert [s["label"] for s in record["spans"]] == [
            s["label"] for s in gold[record["doc_id"]]["spans"]
        ]
        for span in record["spans"]:
            assert text[span["start"] : span["end"]] == span["text"]
    assert sum(summary.spans_replaced.values()) == sum(len(r["spans"]) for r in records)


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    """Whole-word, case- and accent-insensitive occurrences of ``value`` in ``text``."""
    pattern = rf"(?<!\w){re.escape(fold(value))}(?!\w)"
    return [(m.start(), m.end()) for m in re.finditer(pattern, fold_same_length(text))]


def test_no_original_identifier_is_left(
    corpus: Path, done: tuple[Path, PseudonymiseSummary]
) -> None:
    """No original of 4+ characters is left in its document's new text.

    Fair to common words: an occurrence outside the surrogates is allowed only as many times
    as the value stood outside the identifying spans of the old text (the surname ``Rose`` in
    ``rose``), and an occurrence inside a surrogate only when that surrogate replaced another
    value (a name drawn for one person may, by chance, be another person's real name).
    """
    out, _ = done
    old, new = tables(corpus, out)
    mapping: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in read_jsonl(out / "secret/pseudonymisation_mapping.jsonl"):
        mapping[line["doc_id"]].append(line)
    assert set(mapping) == set(new)
    checked = 0
    for doc_id, replacements in mapping.items():
        old_text, new_text = old[doc_id]["text"], new[doc_id]["text"]
        for r in replacements:
            assert fold(r["surrogate"]) != fold(r["original"]), (doc_id, r["start"], r["label"])
        for value in {r["original"] for r in replacements if len(r["original"].strip()) >= 4}:
            in_old_phi = sum(
                any(r["start"] <= a and b <= r["end"] for r in replacements)
                for a, b in occurrences(old_text, value)
            )
            old_free = len(occurrences(old_text, value)) - in_old_phi
            new_free = 0
            for a, b in occurrences(new_text, value):
                inside = [r for r in replacements if r["new_start"] <= a and b <= r["new_end"]]
                if inside:
                    assert all(fold(r["original"]) != fold(value) for r in inside), doc_id
                else:
                    new_free += 1
            assert new_free <= old_free, (doc_id, "a value is left outside its spans")
            checked += 1
    assert checked > 500


def test_mapping_is_secret_and_kept_apart(done: tuple[Path, PseudonymiseSummary]) -> None:
    out, summary = done
    mapping = out / "secret/pseudonymisation_mapping.jsonl"
    assert summary.mapping == str(mapping)
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    lines = read_jsonl(mapping)
    assert set(lines[0]) >= {"doc_id", "start", "end", "label", "original", "surrogate"}
    public = list((out / "pseudonymised").rglob("*"))
    assert public and not any(p.name.startswith("pseudonymisation_mapping") for p in public)
    for path in public:
        if path.suffix == ".jsonl":
            assert '"original"' not in path.read_text(encoding="utf-8")
    assert "original" not in summary.render().lower()


def test_same_patient_same_surrogates_and_preserved_intervals(
    done: tuple[Path, PseudonymiseSummary], corpus: Path
) -> None:
    out, _ = done
    old, _ = tables(corpus, out)
    by_value: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    shifts: dict[str, set[int]] = defaultdict(set)
    patients_of_value: dict[str, set[str]] = defaultdict(set)
    dates: list[tuple[str, str, str]] = []
    for line in read_jsonl(out / "secret/pseudonymisation_mapping.jsonl"):
        patient = old[line["doc_id"]]["patient_id"]
        if line["label"] in ("NOM", "PRENOM", "VILLE", "IPP", "HOPITAL"):
            by_value[(patient, line["label"], fold(line["original"]))].add(fold(line["surrogate"]))
        if line["label"] == "HOPITAL":
            patients_of_value[line["original"]].add(patient)
        if line["label"] in ("DATE", "DATE_NAISSANCE"):
            before, after = parse_date(line["original"]), parse_date(line["surrogate"])
            assert before is not None and after is not None
            assert before.value is not None and after.value is not None
            dates.append((patient, line["original"], line["surrogate"]))
            if before.shape.year_digits == 4:  # two-digit years: the century is a guess
                shifts[patient].add((after.value - before.value).days)
    assert all(len(s) == 1 for s in by_value.values())
    assert all(len(s) == 1 and 0 not in s for s in shifts.values())
    assert len({next(iter(s)) for s in shifts.values()}) > 1  # one offset per patient
    for patient, original, surrogate in dates:  # same offset, same format, every date
        before = parse_date(original)
        assert before is not None and before.value is not None
        moved = before.value + timedelta(days=next(iter(shifts[patient])))
        assert format_date(moved, before.shape) == surrogate
    hospital, patients = max(patients_of_value.items(), key=lambda kv: len(kv[1]))
    assert len(patients) > 1
    across = {next(iter(by_value[(p, "HOPITAL", fold(hospital))])) for p in patients}
    assert len(across) > 1  # the same hospital gets other surrogates for other patients


def test_answer_keys_are_carried_over(corpus: Path, done: tuple[Path, PseudonymiseSummary]) -> None:
    out, summary = done
    _, new = tables(corpus, out)
    keys = out / "pseudonymised/answer_key"
    assert {p.name for p in keys.iterdir()} == {
        "pseudonymisation.jsonl",
        "oncology_extraction.jsonl",
        "icd10_coding.jsonl",
        "clinical_summary.jsonl",
    }
    pseudo_key = read_jsonl(keys / "pseudonymisation.jsonl")
    assert pseudo_key == [
        {**r, "origin": "synthetic-generator"}
        for r in read_jsonl(out / "pseudonymised/spans.jsonl")
    ]
    counts = summary.reoffset[str(corpus / "raw/answer_key/pseudonymisation.jsonl")]
    assert counts.spans_replaced == sum(summary.spans_replaced.values()) and counts.conflicts == 0
    onco_old = read_jsonl(corpus / "raw/answer_key/oncology_extraction.jsonl")
    onco_new = read_jsonl(keys / "oncology_extraction.jsonl")
    assert [r["doc_id"] for r in onco_new] == [r["doc_id"] for r in onco_old]
    for before, after in zip(onco_old, onco_new, strict=True):
        text = new[after["doc_id"]]["text"]
        assert [s["text"] for s in after["spans"]] == [s["text"] for s in before["spans"]]
        assert all(text[s["start"] : s["end"]] == s["text"] for s in after["spans"])
        assert after.get("relations") == before.get("relations")


def test_conflicting_spans_are_dropped_and_counted(corpus: Path, tmp_path: Path) -> None:
    """Predictions that cut names short: the gold names now conflict, and are counted."""
    predictions = []
    for record in read_jsonl(corpus / "raw/answer_key/pseudonymisation.jsonl"):
        spans = []
        for s in record.get("spans", []):
            if s["label"] == "NOM" and len(s["text"]) > 3:
                s = {**s, "end": s["end"] - 1, "text": s["text"][:-1]}
            spans.append(s)
        predictions.append({**record, "origin": "detecteur-test", "spans": spans})
    path = write_jsonl(tmp_path / "predictions.jsonl", predictions)
    settings = settings_for(
        corpus,
        tmp_path,
        predictions=str(path),
        reoffset=[str(corpus / "raw/answer_key/pseudonymisation.jsonl")],
    )
    summary = run(settings, progress=False)
    counts = summary.reoffset[str(corpus / "raw/answer_key/pseudonymisation.jsonl")]
    gold = read_jsonl(corpus / "raw/answer_key/pseudonymisation.jsonl")
    gold_noms = sum(
        1 for r in gold for s in r.get("spans", []) if s["label"] == "NOM" and len(s["text"]) > 3
    )
    assert counts.conflicts == gold_noms > 0
    assert counts.records == 50
    moved = read_jsonl(tmp_path / "pseudonymised/answer_key/pseudonymisation.jsonl")
    assert (
        sum(len(r.get("spans", [])) for r in moved) == counts.spans_replaced + counts.spans_mapped
    )
    assert f"{gold_noms} conflicts dropped" in summary.render()


def test_missing_prediction_is_refused_unless_pass_through(corpus: Path, tmp_path: Path) -> None:
    records = read_jsonl(corpus / "raw/answer_key/pseudonymisation.jsonl")
    missing = records[7]["doc_id"]
    path = write_jsonl(tmp_path / "predictions.jsonl", records[:7] + records[8:])
    settings = settings_for(corpus, tmp_path, predictions=str(path), reoffset=[])
    with pytest.raises(PseudonymiseError, match=f"doc_id '{missing}' has no record"):
        run(settings, progress=False)
    assert not (tmp_path / "pseudonymised").exists() or not any(
        (tmp_path / "pseudonymised").iterdir()
    )
    assert not (tmp_path / "secret/pseudonymisation_mapping.jsonl").exists()
    summary = run(
        settings.model_copy(update={"on_missing_prediction": "pass_through"}), progress=False
    )
    assert summary.passed_through == 1 and "WARNING 1 documents" in summary.render()
    old, new = tables(corpus, tmp_path)
    assert new[missing]["text"] == old[missing]["text"]


def test_reruns_are_identical_and_logs_hold_no_identifier(
    corpus: Path,
    tmp_path: Path,
    done: tuple[Path, PseudonymiseSummary],
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, _ = done
    with caplog.at_level(logging.DEBUG):
        run(settings_for(corpus, tmp_path, batch_size=7), progress=False)
    for rel in (
        "pseudonymised/spans.jsonl",
        "secret/pseudonymisation_mapping.jsonl",
        "pseudonymised/answer_key/oncology_extraction.jsonl",
    ):
        assert (tmp_path / rel).read_bytes() == (first / rel).read_bytes()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert KEY not in logged
    for line in read_jsonl(first / "secret/pseudonymisation_mapping.jsonl"):
        if len(line["original"]) >= 5:
            assert line["original"] not in logged and line["surrogate"] not in logged


def test_documents_order_does_not_change_surrogates(
    corpus: Path, tmp_path: Path, done: tuple[Path, PseudonymiseSummary]
) -> None:
    first, _ = done
    table = pq.read_table(corpus / "raw/documents.parquet")
    reversed_docs = tmp_path / "reversed.parquet"
    pq.write_table(table.take(list(range(table.num_rows))[::-1]), reversed_docs)
    run(settings_for(corpus, tmp_path, documents=str(reversed_docs), reoffset=[]), progress=False)
    _, a = tables(corpus, first)
    _, b = tables(corpus, tmp_path)
    assert all(a[doc_id]["text"] == b[doc_id]["text"] for doc_id in a)


def test_settings_refuse_a_mapping_beside_the_outputs(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="kept apart"):
        PseudonymiseSettings(
            output=str(tmp_path / "pseudonymised/documents.parquet"),
            mapping=str(tmp_path / "pseudonymised/mapping.jsonl"),
        )
    with pytest.raises(ValidationError, match="date_shift_min_days"):
        PseudonymiseSettings(date_shift_min_days=400, date_shift_max_days=365)


def test_no_key_no_run(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NO_ENV, raising=False)
    with pytest.raises(KeyConfigError, match=NO_ENV):
        run(settings_for(corpus, tmp_path, key=None), progress=False)


# --- file mode --------------------------------------------------------------------------

LINES: list[dict[str, Any]] = [
    {
        "doc_id": "f1",
        "patient_id": "p1",
        "text": "Patient DUPONT Jean, né le 12/03/1961.",
        "created_at": "2024-04-02T10:00:00",
        "spans": [
            {"start": 27, "end": 37, "label": "DATE", "text": "12/03/1961", "score": 1.0},
            {"start": 0, "end": 7, "label": "X", "text": "Patient", "score": 1.0},
        ],
    },
    {"doc_id": "f2", "patient_id": "p1", "text": "Revu le 02/04/2024 : M. DUPONT va bien."},
    {"doc_id": "f3", "text": "Mme MARTIN, vue le 05/05/2023."},
]


def fake_detect(texts: list[str]) -> list[list[Span]]:
    """A stand-in for the real detector: capitalised words and dd/mm/yyyy dates."""
    out = []
    for text in texts:
        spans = [
            Span(m.start(), m.end(), "NOM", m.group()) for m in re.finditer(r"\b[A-Z]{3,}\b", text)
        ]
        spans += [
            Span(m.start(), m.end(), "DATE", m.group())
            for m in re.finditer(r"\d\d/\d\d/\d{4}", text)
        ]
        out.append(spans)
    return out


def test_file_mode_with_a_detector(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "docs.jsonl", LINES)
    settings = PseudonymiseSettings(key=SecretStr(KEY), key_env=NO_ENV, batch_size=2)
    summary = pseudonymise_file(
        source,
        tmp_path / "out.jsonl",
        tmp_path / "secret/mapping.jsonl",
        None,
        settings,
        detect=fake_detect,
        spans_jsonl=tmp_path / "spans.jsonl",
    )
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [o["doc_id"] for o in out] == ["f1", "f2", "f3"]
    assert summary.documents == 3 and summary.spans_replaced["NOM"] == 3
    assert not any("DUPONT" in o["text"] or "MARTIN" in o["text"] for o in out)
    name_1 = re.match(r"Patient (\S+)", out[0]["text"])
    name_2 = re.search(r"M\. (\S+) va", out[1]["text"])
    assert name_1 and name_2 and name_1.group(1) == name_2.group(1)  # same patient p1
    assert out[0]["created_at"] != LINES[0]["created_at"] and out[0]["created_at"].endswith(
        "T10:00:00"
    )
    spans = out[0]["spans"]  # carried over: the date is now its surrogate, the other moved
    assert [out[0]["text"][s["start"] : s["end"]] for s in spans] == [s["text"] for s in spans]
    assert spans[1]["text"] == "Patient"
    for record in read_jsonl(tmp_path / "spans.jsonl"):
        assert record["origin"] == "fake_detect"
    mapping = read_jsonl(tmp_path / "secret/mapping.jsonl")
    assert {m["original"] for m in mapping} >= {"DUPONT", "MARTIN", "12/03/1961"}


def test_file_mode_with_predictions(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "docs.jsonl", LINES)
    predictions = write_jsonl(
        tmp_path / "preds.jsonl",
        [
            {
                "doc_id": d["doc_id"],
                "use_case": "pseudonymisation",
                "origin": "regles-v1",
                "spans": [s.to_dict() for s in spans],
            }
            for d, spans in zip(LINES, fake_detect([d["text"] for d in LINES]), strict=True)
        ],
    )
    settings = PseudonymiseSettings(key=SecretStr(KEY), key_env=NO_ENV)
    pseudonymise_file(source, tmp_path / "a.jsonl", tmp_path / "m1.jsonl", predictions, settings)
    pseudonymise_file(
        source, tmp_path / "b.jsonl", tmp_path / "m2.jsonl", None, settings, detect=fake_detect
    )
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    with pytest.raises(PseudonymiseError, match="file of its own"):
        pseudonymise_file(source, tmp_path / "a.jsonl", tmp_path / "a.jsonl", predictions, settings)
    with pytest.raises(PseudonymiseError, match="predictions file or a detector"):
        pseudonymise_file(source, tmp_path / "c.jsonl", tmp_path / "m3.jsonl", None, settings)
