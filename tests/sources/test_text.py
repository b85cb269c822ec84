"""Decoding and normalisation of clinical text (curation.sources.text)."""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from curation.sources.base import Problem, Reason
from curation.sources.text import binary_problem, decode, normalise

NOTE = "Patiente opérée le 12/03/2024, suites simples. Fièvre à 38,5 °C à J2."
CANDIDATES = ["utf-8", "cp1252"]


def test_utf8_is_tried_first() -> None:
    assert decode(NOTE.encode("utf-8"), CANDIDATES) == (NOTE, "utf-8")


def test_cp1252_export_is_recognised() -> None:
    assert decode(NOTE.encode("cp1252"), CANDIDATES) == (NOTE, "cp1252")


def test_cp1252_specific_characters() -> None:
    # the euro sign and typographic apostrophe live in 0x80-0x9F, where latin-1 has controls
    text = "Reste à charge : 15 € ; l’examen est normal."
    assert decode(text.encode("cp1252"), CANDIDATES) == (text, "cp1252")


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_bom_decides_the_encoding_and_is_stripped(bom: bytes, encoding: str) -> None:
    raw = bom + NOTE.encode(encoding)
    assert decode(raw, CANDIDATES) == (NOTE, encoding)


def test_bytes_no_candidate_decodes_are_undecodable() -> None:
    # 0x81 and 0x8D are invalid UTF-8 starts and undefined in cp1252
    result = decode(b"Compte rendu \x81\x8d illisible", CANDIDATES)
    assert isinstance(result, Problem)
    assert result.reason is Reason.UNDECODABLE
    assert "ingest.encodings" in result.message


def test_order_of_candidates_matters() -> None:
    raw = b"Compte rendu \x81\x8d"
    assert decode(raw, ["utf-8", "latin-1"]) == ("Compte rendu \x81\x8d", "latin-1")


def test_invalid_bytes_after_a_utf8_bom_are_undecodable() -> None:
    result = decode(codecs.BOM_UTF8 + "opérée".encode("cp1252"), CANDIDATES)
    assert isinstance(result, Problem)
    assert result.reason is Reason.UNDECODABLE


def test_nul_bytes_are_binary_content() -> None:
    result = decode(b"%PDF-1.7\x00\x00\x01binary", CANDIDATES)
    assert isinstance(result, Problem)
    assert result.reason is Reason.BINARY_CONTENT
    assert "byte 8" in result.message


def test_normalise_composes_decomposed_accents() -> None:
    decomposed = unicodedata.normalize("NFD", "Hémoglobine à 9,8 g/dL, sérologie négative")
    assert len(decomposed) > len("Hémoglobine à 9,8 g/dL, sérologie négative")
    assert normalise(decomposed) == "Hémoglobine à 9,8 g/dL, sérologie négative"


def test_normalise_makes_line_endings_uniform_and_strips_bom() -> None:
    raw = "\ufeffMotif : douleur thoracique\r\nExamen : normal\rConclusion : RAD\n"
    assert normalise(raw) == "Motif : douleur thoracique\nExamen : normal\nConclusion : RAD\n"


def test_normalise_is_idempotent() -> None:
    once = normalise("Tension\r\n130/80 mmHg, e\u0301tat ge\u0301ne\u0301ral conserve\u0301")
    assert normalise(once) == once


def test_usual_whitespace_is_not_binary() -> None:
    assert binary_problem("Poids\t72 kg\nTaille\t1,70 m\f\n", 0.0) is None


def test_control_characters_above_the_ratio_are_binary() -> None:
    text = "Bilan " + "\x01\x02\x03" * 10
    problem = binary_problem(text, 0.05)
    assert problem is not None
    assert problem.reason is Reason.BINARY_CONTENT
    assert "30 control characters" in problem.message
    assert binary_problem("Bilan normal\x07", 0.5) is None


def test_nul_characters_are_binary_at_any_ratio() -> None:
    problem = binary_problem("Bilan normal" + "\x00", 1.0)
    assert problem is not None and problem.reason is Reason.BINARY_CONTENT
