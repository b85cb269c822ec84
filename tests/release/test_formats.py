"""Benchmark formats: JSONL, Parquet (pandas and Hugging Face ``datasets``), BRAT and CoNLL.

Every text here is synthetic: invented names in invented letters.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import datasets
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.io import read_records
from curation.quality.noise import tokenize
from curation.release.formats import (
    conll_sentences,
    read_brat,
    write_brat,
    write_conll,
    write_jsonl,
    write_parquet,
)
from curation.schema import Record, Span

PSEUDO = "pseudonymisation"
ONCO = "oncology_extraction"

CRH = "Patient : Jean Dupont, né le 12/03/1961.\nAdressé par le Dr Martin\nLefèvre à Lyon."
ANAPATH = "HER2 : score 3+. Carcinome canalaire infiltrant."
LETTRE = "Hospitalisation pour pneumopathie. Chimiothérapie en cours."
TEXTS = {"crh-0001": CRH, "ap-0002": ANAPATH, "ll-0003": LETTRE}


def span(text: str, quote: str, label: str) -> Span:
    start = text.index(quote)
    return Span(start, start + len(quote), label, quote)


def crh_record() -> Record:
    labels = [("Jean", "PRENOM"), ("Dupont", "NOM"), ("12/03/1961", "DATE_NAISSANCE")]
    labels += [("Martin\nLefèvre", "NOM"), ("Lyon", "VILLE")]
    spans = [span(CRH, quote, label) for quote, label in labels]
    provenance = {"rule": "consensus", "annotators": ["ann-1", "ann-2"], "agreement": 0.91}
    return Record("crh-0001", PSEUDO, "gold:consensus", spans=spans, provenance=provenance)


def anapath_record() -> Record:
    spans = [span(ANAPATH, "HER2", "BIOMARKER"), span(ANAPATH, "score 3+", "BIOMARKER_RESULT")]
    return Record(
        "ap-0002",
        ONCO,
        "gold:single",
        spans=spans,
        relations=[{"from": 0, "to": 1, "type": "has_result"}],
        attributes=[
            {"span": 1, "status": "positive"},
            {"span": 0, "hypothetical": True, "negated": False},
        ],
    )


def lettre_record() -> Record:
    return Record(
        "ll-0003",
        "icd10_coding",
        "gold:single",
        labels=["J18.9", "Z51.1"],
        sections={"motif": "Pneumopathie.", "traitement": "Chimiothérapie."},
        items=[{"question": "Quel diagnostic ?", "answers": [0]}],
    )


# --- JSONL -----------------------------------------------------------------------------------


def test_jsonl_round_trip_with_text_and_extra_fields(tmp_path: Path) -> None:
    records = [crh_record(), anapath_record(), lettre_record()]
    extra: dict[str, dict[str, Any]] = {"crh-0001": {"patient_id": "pat-1", "doc_type": "crh"}}
    extra["other-doc"] = {"n_pages": 1}  # extra may cover documents outside the split
    path = tmp_path / "test.jsonl"
    write_jsonl(records, TEXTS, path, extra=extra)
    assert list(read_records(path)) == records
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert list(lines[0])[:4] == ["doc_id", "use_case", "origin", "text"]
    assert lines[0]["text"] == CRH and lines[0]["patient_id"] == "pat-1"
    assert lines[0]["provenance"]["agreement"] == 0.91
    assert "patient_id" not in lines[1]


def test_surrogate_mapping_is_never_released(tmp_path: Path) -> None:
    record = crh_record()
    record.provenance["surrogates"] = [{"original": "x", "surrogate": "y"}]
    with pytest.raises(ValueError, match=r"crh-0001.*surrogate mapping"):
        write_jsonl([record], TEXTS, tmp_path / "out.jsonl")
    with pytest.raises(ValueError, match=r"crh-0001.*mapping"):
        extra = {"crh-0001": {"mapping_file": "secret/mapping.jsonl"}}
        write_parquet([crh_record()], TEXTS, tmp_path / "out.parquet", extra=extra)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("records", "texts", "message"),
    [
        ([crh_record(), crh_record()], TEXTS, "crh-0001 has two records"),
        ([crh_record()], {}, "crh-0001: no text"),
        ([crh_record()], {"crh-0001": CRH.replace("Jean", "Paul")}, "crh-0001: span 10-14"),
        ([crh_record()], {"crh-0001": CRH[:50]}, "crh-0001: span 59-73.*outside"),
    ],
)
def test_bad_records_name_the_doc_id(
    records: list[Record], texts: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_jsonl(records, texts, Path("/nonexistent/never-written.jsonl"))


def test_extra_field_may_not_replace_a_record_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"crh-0001.*\['text'\]"):
        write_jsonl([crh_record()], TEXTS, tmp_path / "x.jsonl", extra={"crh-0001": {"text": ""}})


# --- Parquet ---------------------------------------------------------------------------------


def write_sample_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "test.parquet"
    extra: dict[str, dict[str, Any]] = {"crh-0001": {"patient_id": "pat-1", "n_pages": 2}}
    extra["ap-0002"] = {"n_pages": 1}
    records = [crh_record(), anapath_record(), lettre_record()]
    write_parquet(records, TEXTS, path, extra=extra)
    return path


def test_parquet_reads_back_with_pandas(tmp_path: Path) -> None:
    frame = pd.read_parquet(write_sample_parquet(tmp_path))
    assert list(frame.columns) == [
        "doc_id",
        "text",
        "spans",
        "labels",
        "relations",
        "attributes",
        "sections",
        "items",
        "patient_id",
        "n_pages",
    ]
    first = frame.iloc[0]
    assert first["text"] == CRH
    assert list(first["spans"])[3] == {
        "start": 59,
        "end": 73,
        "label": "NOM",
        "text": "Martin\nLefèvre",
    }
    assert list(frame.iloc[2]["labels"]) == ["J18.9", "Z51.1"]
    assert len(frame.iloc[2]["spans"]) == 0
    assert json.loads(frame.iloc[1]["relations"]) == anapath_record().relations
    assert list(json.loads(frame.iloc[2]["sections"])) == ["motif", "traitement"]
    assert frame["patient_id"].iloc[0] == "pat-1"
    assert frame["patient_id"].isna().tolist() == [False, True, True]
    assert frame["n_pages"].tolist()[:2] == [2, 1] and pd.isna(frame["n_pages"].iloc[2])


def test_parquet_loads_with_hugging_face_datasets(tmp_path: Path) -> None:
    datasets.disable_progress_bars()
    path = write_sample_parquet(tmp_path)
    data = datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
    )
    span = {name: datasets.Value("int64") for name in ("start", "end")}
    span |= {name: datasets.Value("string") for name in ("label", "text")}
    assert data.features["spans"] == datasets.List(span)
    assert data.features["labels"] == datasets.List(datasets.Value("string"))
    assert data.features["sections"] == datasets.Value("string")
    assert data.num_rows == 3
    assert data[0]["spans"][0] == {"start": 10, "end": 14, "label": "PRENOM", "text": "Jean"}
    assert data[0]["doc_id"] == "crh-0001" and data[2]["labels"] == ["J18.9", "Z51.1"]


def test_parquet_fields_fix_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "dev.parquet"
    write_parquet([crh_record()], TEXTS, path, fields=("spans", "relations"))
    frame = pd.read_parquet(path)
    assert list(frame.columns) == ["doc_id", "text", "spans", "relations"]
    assert frame.iloc[0]["relations"] == "[]"
    with pytest.raises(ValueError, match="unknown result fields"):
        write_parquet([crh_record()], TEXTS, path, fields=("entities",))


# --- BRAT ------------------------------------------------------------------------------------


def test_brat_files_on_a_hand_example(tmp_path: Path) -> None:
    write_brat([crh_record(), anapath_record()], TEXTS, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ap-0002.ann",
        "ap-0002.txt",
        "crh-0001.ann",
        "crh-0001.txt",
    ]
    assert (tmp_path / "crh-0001.txt").read_bytes() == CRH.encode("utf-8")
    assert (tmp_path / "crh-0001.ann").read_text(encoding="utf-8") == (
        "T1\tPRENOM 10 14\tJean\n"
        "T2\tNOM 15 21\tDupont\n"
        "T3\tDATE_NAISSANCE 29 39\t12/03/1961\n"
        "T4\tNOM 59 65;66 73\tMartin Lefèvre\n"
        "T5\tVILLE 76 80\tLyon\n"
    )
    assert CRH[59:65] == "Martin" and CRH[66:73] == "Lefèvre"
    assert (tmp_path / "ap-0002.ann").read_text(encoding="utf-8") == (
        "T1\tBIOMARKER 0 4\tHER2\n"
        "T2\tBIOMARKER_RESULT 7 15\tscore 3+\n"
        "R1\thas_result Arg1:T1 Arg2:T2\n"
        "A1\tstatus T2 positive\n"
        "A2\thypothetical T1\n"
    )


def test_brat_round_trip_gives_back_the_spans(tmp_path: Path) -> None:
    crlf = "Vu par le Dr Alice\r\nMorel.\r\nRAS."
    texts = {**TEXTS, "cr-crlf": crlf}
    records = [crh_record(), anapath_record(), Record("cr-crlf", PSEUDO, "gold", [])]
    records[2].spans = [span(crlf, "Alice\r\nMorel", "NOM")]
    write_brat(records, texts, tmp_path)
    back = {r.doc_id: r for r in read_brat(tmp_path, "mixed")}
    for record in records:
        assert back[record.doc_id].spans == record.spans
    assert back["ap-0002"].relations == anapath_record().relations
    assert back["ap-0002"].attributes == [
        {"span": 1, "status": "positive"},
        {"span": 0, "hypothetical": True},
    ]


WORDS = ["Jean", "Dupont", "né", "le", "12/03/1961", "à", "Lyon", "Dr.", "RAS", "3+", "!"]
SEPARATORS = [" ", " ", " ", "\n", "\r\n", ". ", "\n\n", ", "]


@st.composite
def annotated(draw: st.DrawFn) -> tuple[str, list[Span]]:
    """A text of words and separators, with non-overlapping spans over runs of words."""
    n = draw(st.integers(1, 25))
    words = [draw(st.sampled_from(WORDS)) for _ in range(n)]
    gaps = [draw(st.sampled_from(SEPARATORS)) for _ in range(n - 1)]
    bounds, text = [], ""
    for i, word in enumerate(words):
        bounds.append((len(text), len(text) + len(word)))
        text += word + (gaps[i] if i < n - 1 else "")
    cuts = sorted(draw(st.sets(st.integers(0, n), max_size=8)))
    spans = []
    for first, stop in zip(cuts[::2], cuts[1::2], strict=False):
        if stop > first and draw(st.booleans()):
            start, end = bounds[first][0], bounds[stop - 1][1]
            spans.append(Span(start, end, draw(st.sampled_from(["NOM", "DATE"])), text[start:end]))
    return text, spans


@settings(max_examples=80, deadline=None)
@given(annotated())
def test_brat_round_trip_property(sample: tuple[str, list[Span]]) -> None:
    text, spans = sample
    with tempfile.TemporaryDirectory() as folder:
        write_brat([Record("cr-1", PSEUDO, "gold", spans)], {"cr-1": text}, Path(folder))
        [back] = read_brat(Path(folder), PSEUDO)
    assert back.spans == spans


@settings(max_examples=80, deadline=None)
@given(annotated())
def test_conll_keeps_every_token_and_one_b_tag_per_span(sample: tuple[str, list[Span]]) -> None:
    text, spans = sample
    sentences = conll_sentences(text, spans, "cr-1")
    assert [t for s in sentences for t, _ in s] == [text[a:b] for a, b in tokenize(text)]
    tags = [tag for s in sentences for _, tag in s]
    assert sum(tag.startswith("B-") for tag in tags) == len(spans)
    assert all(s[0][1][:2] != "I-" for s in sentences)  # no sentence starts inside a span


def test_brat_refuses_document_labels_and_names_the_doc_id(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"ll-0003.*span use cases only"):
        write_brat([lettre_record()], TEXTS, tmp_path)
    record = anapath_record()
    record.relations = [{"from": 0, "to": 5, "type": "has_result"}]
    with pytest.raises(ValueError, match="ap-0002: relation 1 points at span 5"):
        write_brat([record], TEXTS, tmp_path)
    edge = Record("crh-0001", PSEUDO, "gold", [Span(29, 41, "DATE", CRH[29:41])])
    with pytest.raises(ValueError, match="crh-0001: span 29-41 starts or ends with a line"):
        write_brat([anapath_record(), edge], TEXTS, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written when any document is refused


def test_read_brat_refuses_fragments_with_text_between(tmp_path: Path) -> None:
    (tmp_path / "cr-1.txt").write_text("Jean et Paul", encoding="utf-8")
    (tmp_path / "cr-1.ann").write_text("T1\tPRENOM 0 4;8 12\tJean Paul\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cr-1.ann:1"):
        read_brat(tmp_path, PSEUDO)


# --- CoNLL -----------------------------------------------------------------------------------

Sentence = list[tuple[str, str]]


def read_conll(path: Path) -> dict[str, list[Sentence]]:
    """``doc_id -> sentences`` of ``(token, tag)``, as an evaluator's reader sees them."""
    out: dict[str, list[Sentence]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if block.startswith("-DOCSTART- "):
            current = out.setdefault(block.split(" ", 1)[1], [])
        elif block:
            pairs = [line.split("\t") for line in block.splitlines()]
            current.append([(token, tag) for token, tag in pairs])
    return out


VU = "Vu le 12/03/2024 par Mme. Durand.\nRAS. Sortie à Lille !"


def vu_record() -> Record:
    labels = [("12/03/2024", "DATE"), ("Durand", "NOM"), ("Lille", "VILLE")]
    return Record("cr-0004", PSEUDO, "gold", [span(VU, quote, label) for quote, label in labels])


def test_conll_tags_and_sentences_on_a_hand_example(tmp_path: Path) -> None:
    path = tmp_path / "test.conll"
    write_conll([vu_record()], {"cr-0004": VU}, path)
    assert path.read_text(encoding="utf-8") == (
        "-DOCSTART- cr-0004\n\n"
        "Vu\tO\nle\tO\n12\tB-DATE\n/\tI-DATE\n03\tI-DATE\n/\tI-DATE\n2024\tI-DATE\n"
        "par\tO\nMme\tO\n.\tO\nDurand\tB-NOM\n.\tO\n\n"
        "RAS\tO\n.\tO\n\n"
        "Sortie\tO\nà\tO\nLille\tB-VILLE\n!\tO\n\n"
    )


def test_conll_never_breaks_a_sentence_inside_a_span(tmp_path: Path) -> None:
    path = tmp_path / "test.conll"
    write_conll([crh_record(), vu_record()], {**TEXTS, "cr-0004": VU}, path)
    documents = read_conll(path)
    assert list(documents) == ["crh-0001", "cr-0004"]
    second = documents["crh-0001"][1]
    assert second[:6] == [
        ("Adressé", "O"),
        ("par", "O"),
        ("le", "O"),
        ("Dr", "O"),
        ("Martin", "B-NOM"),
        ("Lefèvre", "I-NOM"),
    ]
    assert len(documents["crh-0001"]) == 2 and len(documents["cr-0004"]) == 3


def test_conll_tokens_are_cut_at_span_boundaries() -> None:
    text = "Mme Duponteil, 3e étage."
    spans = [Span(4, 10, "NOM", "Dupont"), Span(15, 16, "ZIP", "3")]
    [sentence] = conll_sentences(text, spans, "cr-5")
    assert sentence[:6] == [
        ("Mme", "O"),
        ("Dupont", "B-NOM"),
        ("eil", "O"),
        (",", "O"),
        ("3", "B-ZIP"),
        ("e", "O"),
    ]
    adjacent = [Span(0, 2, "PRENOM", "Je"), Span(2, 4, "NOM", "an")]
    [tokens] = conll_sentences("Jean Dupont", adjacent, "cr-7")
    assert tokens[:2] == [("Je", "B-PRENOM"), ("an", "B-NOM")]


def test_conll_errors_name_the_doc_id(tmp_path: Path) -> None:
    text = "Jean Dupont"
    overlapping = [Span(0, 11, "NOM", text), Span(5, 11, "NOM", "Dupont")]
    with pytest.raises(ValueError, match="cr-6: spans 0-11 and 5-11 overlap"):
        write_conll([Record("cr-6", PSEUDO, "gold", overlapping)], {"cr-6": text}, tmp_path / "x")
    with pytest.raises(ValueError, match=r"ll-0003.*span use cases only"):
        write_conll([lettre_record()], TEXTS, tmp_path / "x")
