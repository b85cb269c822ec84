"""The ATIH CIM-10 list shipped by edsnlp, and the codes our vocabulary uses."""

from __future__ import annotations

import pytest

from curation.cim10 import code_list, lookup
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
