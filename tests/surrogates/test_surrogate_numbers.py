"""Numbers keep their layout: phones, NIR with a valid key, postcodes, IPP and NDA."""

from __future__ import annotations

import random
import re

import pytest

from curation.schema import Span
from curation.surrogates import Pseudonymiser
from curation.surrogates.dates import parse_date
from curation.surrogates.numbers import identifier, nir, phone, postcode

KEY = b"cle-de-test-numeros-0123456789"


def valid_nir(value: str) -> bool:
    """Key check written independently of the code under test."""
    compact = value.replace(" ", "").upper()
    body, key = compact[:13], compact[13:]
    number = int(body.replace("2A", "19").replace("2B", "18"))
    return len(compact) == 15 and int(key) == 97 - number % 97


def skeleton(value: str) -> str:
    return re.sub(r"\d", "9", value)


@pytest.mark.parametrize(
    "original",
    [
        "01.91.44.99.62",
        "0208528174",
        "+33 (0)7 87 03 44 59",
        "06-68-41-26-81",
        "+33 5 10 84 76 89",
        "06 44 26 73 21",
        "0033 6 12 34 56 78",
    ],
)
def test_phone_keeps_its_layout_prefix_and_kind(original: str) -> None:
    for seed in range(20):
        new = phone(original, random.Random(seed))
        assert new != original and skeleton(new) == skeleton(original)
        digits, new_digits = re.sub(r"\D", "", original), re.sub(r"\D", "", new)
        kind = len(digits) - 9  # position of the 06/01 kind digit
        assert new_digits[:kind] == digits[:kind]  # 0, 33, 330, 0033
        mobile = digits[kind] in "67"
        assert (new_digits[kind] in "67") == mobile


@pytest.mark.parametrize(
    "original", ["1 93 03 13 528 538 52", "276096776134449", "2 71 07 2B 809 201 94"]
)
def test_nir_has_a_valid_key_its_layout_and_sex(original: str) -> None:
    assert valid_nir(original)
    for seed in range(30):
        new = nir(original, random.Random(seed), days=45)
        assert new is not None and new != original
        assert valid_nir(new), new
        assert [i for i, c in enumerate(new) if c == " "] == [
            i for i, c in enumerate(original) if c == " "
        ]
        assert new[0] == original[0]


def test_nir_key_is_valid_for_corsica() -> None:
    corsican = [
        out
        for seed in range(400)
        if (out := nir("1 85 05 75 123 456 73", random.Random(seed), days=0)) is not None
        and out[8:10] in ("2A", "2B")
    ]
    assert corsican and all(valid_nir(v) for v in corsican)


def test_nir_follows_the_shifted_birth_date() -> None:
    text = "Née le 15/03/1985, NIR 2 85 03 75 123 456 27."
    spans = [Span(7, 17, "DATE_NAISSANCE", "15/03/1985"), Span(23, 44, "SECU", text[23:44])]
    out = Pseudonymiser(KEY).pseudonymise(text, spans, doc_id="d1", patient_id="p1")
    born = parse_date(out.spans[0].text)
    assert born is not None and born.value is not None
    secu = out.spans[1].text
    assert secu[2:4] == f"{born.value.year % 100:02d}" and secu[5:7] == f"{born.value.month:02d}"
    assert valid_nir(secu)


def test_ipp_and_nda_keep_length_and_character_classes() -> None:
    for original in ("8009297173", "216804833", "AB-001234"):
        new = identifier(original, random.Random(3))
        assert new != original and len(new) == len(original)
        assert [c.isdigit() for c in new] == [c.isdigit() for c in original]
        assert [c.isupper() for c in new] == [c.isupper() for c in original]
        assert new[0] != "0"


def test_postcode_is_five_digits_and_may_keep_its_department() -> None:
    for seed in range(20):
        new = postcode("75013", random.Random(seed), keep_department=False)
        assert re.fullmatch(r"\d{5}", new) and new != "75013"
        kept = postcode("75013", random.Random(seed), keep_department=True)
        assert re.fullmatch(r"75\d{3}", kept) and kept != "75013"
    assert postcode("97411", random.Random(0), keep_department=True).startswith("974")
