"""The ATIH CIM-10 list shipped by edsnlp, and the codes our vocabulary uses."""

from __future__ import annotations

import pytest

from curation.cim10 import (
    CHAPTERS,
    ancestry,
    block,
    block_title,
    category_codes,
    chapter,
    chapter_title,
    children,
    code_list,
    codes,
    display,
    dotted,
    lookup,
    normalise,
    parent,
    siblings,
)
from curation.sources.synthetic.vocab import CANCERS, COMORBIDITIES, CONDITIONS


def test_list_is_complete_and_lookup_accepts_dots() -> None:
    assert len(code_list()) > 40_000
    assert lookup("J18.1").code == "J181"
    assert lookup("k509").category == "K50"
    with pytest.raises(KeyError, match="ZZ99"):
        lookup("ZZ99")


def test_vocabulary_codes_are_usable_pmsi_codes() -> None:
    codes = [c.code for c in CONDITIONS] + [c.code for c in COMORBIDITIES]
    codes += [code for cancer in CANCERS for _, code in cancer.sites]
    codes += [cancer.metastasis[1] for cancer in CANCERS]
    for code in codes:
        assert lookup(code).pmsi_type == "0", code


def test_hierarchy_chapter_block_category_code() -> None:
    assert ancestry("E11.9") == ("IV", "E10-E14", "E11", "E119")
    assert ancestry("I10") == ("IX", "I10-I15", "I10")
    # ATIH extensions sit under their 4-character parent
    assert ancestry("S7200")[-3:] == ("S72", "S720", "S7200")
    assert chapter("C509") == "II" and chapter("D48") == "II" and chapter("D50") == "III"
    assert chapter_title("IX") == "Maladies de l'appareil circulatoire"
    assert block("C50") == "C50-C50" and block_title("E10-E14") == "Diabetes mellitus"


def test_every_code_has_a_parent_chain_down_from_its_category() -> None:
    for key in code_list():
        path = ancestry(key)
        assert path[-1] == key
        assert path[0] in {numeral for numeral, *_ in CHAPTERS}
        codes = [p for p in path if p in code_list()]
        assert codes[0] == key[:3]
        assert all(b.startswith(a) for a, b in zip(codes, codes[1:], strict=False))


def test_siblings_children_and_display() -> None:
    assert "E118" in siblings("E119") and "E119" not in siblings("E119")
    assert all(code.startswith("E11") and len(code) == 4 for code in siblings("E119"))
    assert children("E11")[:3] == ["E110", "E111", "E112"]
    assert parent("E11") is None and parent("E119") == "E11"
    assert category_codes("I10") == ["I10"]
    assert display("J181") == "J18.1 Pneumopathie lobaire, sans précision"
    assert dotted("I10") == "I10" and normalise(" e11.9 ") == "E119"
    assert "E119" in codes() and "E999" not in codes()
