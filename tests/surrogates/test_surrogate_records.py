"""Record files: indexed by doc_id, carried over to the new text with conflicts counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.schema import Record, Span
from curation.surrogates import (
    JsonlIndex,
    RecordFileError,
    TextRewriter,
    apply_replacements,
    remap_record,
)

TEXT = "Mme Dupont, HER2 : score 3+ le 12/03/2024 (Dr Martin)."


def test_remap_moves_spans_renumbers_relations_and_counts_conflicts() -> None:
    replaced = [Span(4, 10, "NOM", "Dupont"), Span(31, 41, "DATE", "12/03/2024")]
    surrogate = {"NOM": "Lefèvre-Rousseau", "DATE": "2 mai 2024"}
    new_text, _, offsets = apply_replacements(TEXT, replaced, lambda s: surrogate[s.label])
    record = Record(
        "d1",
        "oncology_extraction",
        "gold",
        spans=[
            Span(0, 10, "MENTION", "Mme Dupont"),  # overlaps a replacement: conflict
            Span(12, 16, "BIOMARKER", "HER2"),
            Span(19, 27, "BIOMARKER_RESULT", "score 3+"),
            Span(31, 41, "DATE", "12/03/2024"),  # identical to a replacement
        ],
        relations=[{"from": 1, "to": 2, "type": "has_result"}, {"from": 0, "to": 1, "type": "x"}],
        attributes=[{"span": 0, "negated": False}, {"span": 2, "status": "positive"}],
        sections={"motif": "Mme Dupont, le 12/03/2024"},
    )
    moved, counts = remap_record(record, offsets, TextRewriter({"Dupont": "Lefèvre-Rousseau"}))
    assert (counts.conflicts, counts.spans_mapped, counts.spans_replaced) == (1, 2, 1)
    assert (counts.relations_dropped, counts.attributes_dropped, counts.texts_rewritten) == (
        1,
        1,
        1,
    )
    assert [new_text[s.start : s.end] for s in moved.spans] == [s.text for s in moved.spans]
    assert [s.text for s in moved.spans] == ["HER2", "score 3+", "2 mai 2024"]
    assert moved.relations == [{"from": 0, "to": 1, "type": "has_result"}]
    assert moved.attributes == [{"span": 1, "status": "positive"}]
    assert moved.sections == {"motif": "Mme Lefèvre-Rousseau, le 12/03/2024"}


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_index_takes_each_document_once(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "k.jsonl",
        [
            {"doc_id": "a", "use_case": "x"},
            {"doc_id": "b", "use_case": "x"},
            {"doc_id": "a", "use_case": "y"},
        ],
    )
    with JsonlIndex(path) as index:
        assert len(index) == 2
        assert [line for line, _ in index.take("a")] == [1, 3]
        assert index.take("a") == []
        assert index.remaining() == ["b"]


def test_index_errors_name_file_and_line(tmp_path: Path) -> None:
    dup = write_lines(tmp_path / "dup.jsonl", [{"doc_id": "a"}, {"doc_id": "a"}])
    with pytest.raises(RecordFileError, match=r"dup.jsonl:2: doc_id 'a' already on line 1"):
        JsonlIndex(dup, unique=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "a"}\n{oops\n', encoding="utf-8")
    with pytest.raises(RecordFileError, match=r"bad.jsonl:2: not valid JSON"):
        JsonlIndex(bad)
    with pytest.raises(RecordFileError, match="file not found"):
        JsonlIndex(tmp_path / "absent.jsonl")
