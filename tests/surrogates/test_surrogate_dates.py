"""Dates keep their format and move by the patient's offset; intervals hold."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.schema import Span
from curation.surrogates import Pseudonymiser
from curation.surrogates.dates import format_date, parse_date, shift_date_text

KEY = b"cle-de-test-dates-0123456789"
ABBREVIATED = r"(janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\.)"
MONTH = r"(janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)"

FORMATS = [
    ("12/03/2024", r"\d\d/\d\d/\d{4}"),
    ("12.03.24", r"\d\d\.\d\d\.\d\d"),
    ("12-03-2024", r"\d\d-\d\d-\d{4}"),
    ("12 mars 2024", rf"(1er|[12]?\d|3[01]) {MONTH} \d{{4}}"),
    ("1er mars 2024", rf"(1er|[12]?\d|3[01]) {MONTH} \d{{4}}"),
    ("12 MARS 2024", rf"(1ER|[12]?\d|3[01]) {MONTH.upper()} \d{{4}}"),
    ("2024-03-12", r"\d{4}-\d\d-\d\d"),
    ("3/7/2024", r"[1-9]\d?/[1-9]\d?/\d{4}"),
    ("mars 2024", rf"{MONTH} \d{{4}}"),
    ("03/2024", r"\d\d/\d{4}"),
    ("12 févr. 2024", rf"(1er|\d{{1,2}}) {ABBREVIATED} \d{{4}}"),
]


@pytest.mark.parametrize(("original", "pattern"), FORMATS)
def test_format_is_kept_and_value_moves_by_the_offset(original: str, pattern: str) -> None:
    for days in (-365, -31, 30, 200, 365):
        new, parsed = shift_date_text(original, days, random.Random(0))
        assert parsed
        assert new != original
        assert re.fullmatch(pattern, new), (original, new)
        before, after = parse_date(original), parse_date(new)
        assert before is not None and after is not None
        assert before.value is not None and after.value is not None
        if before.shape.has_day:
            assert after.value - before.value == timedelta(days=days)
        else:  # month precision: within a month of the exact shift
            assert abs((after.value - before.value).days - days) <= 31


def test_unpadded_day_and_month_stay_unpadded() -> None:
    new, _ = shift_date_text("3/7/2024", 1, random.Random(0))
    assert new == "4/7/2024"


def test_first_of_month_is_written_1er_in_words() -> None:
    assert shift_date_text("2 mars 2024", -1, random.Random(0))[0] == "1er mars 2024"
    assert shift_date_text("1er mars 2024", 1, random.Random(0))[0] == "2 mars 2024"


def test_weekday_is_recomputed() -> None:
    new, parsed = shift_date_text("mardi 12 mars 2024", 1, random.Random(0))
    assert parsed and new == "mercredi 13 mars 2024"


def test_unparsable_dates_get_a_random_date_of_the_same_shape() -> None:
    new, parsed = shift_date_text("31/02/2024", 10, random.Random(1))
    assert not parsed
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", new)
    found = parse_date(new)
    assert found is not None and found.value is not None
    new, parsed = shift_date_text("le 3 du mois", 10, random.Random(1))
    assert not parsed and re.fullmatch(r"le \d du mois", new)


@st.composite
def dated_shapes(draw: st.DrawFn) -> tuple[date, str]:
    day = draw(st.dates(min_value=date(1931, 1, 1), max_value=date(2048, 12, 31)))
    example = draw(
        st.sampled_from(
            [
                "12/03/2024",
                "12.03.2024",
                "2024-03-12",
                "3/7/2024",
                "12 mars 2024",
                "lundi 12 mars 2024",
                "12 MARS 2024",
                "12 févr. 2024",
                "12 fevrier 2024",
            ]
        )
    )
    return day, example


@given(dated_shapes(), st.integers(min_value=-365, max_value=365))
def test_format_then_parse_is_the_identity(item: tuple[date, str], days: int) -> None:
    day, example = item
    parsed = parse_date(example)
    assert parsed is not None
    written = format_date(day, parsed.shape)
    again = parse_date(written)
    assert again is not None and again.value == day
    assert format_date(day, again.shape) == written
    shifted, ok = shift_date_text(written, days, random.Random(0))
    back = parse_date(shifted)
    assert ok and back is not None and back.value == day + timedelta(days=days)


def test_intervals_and_age_hold_within_a_patient() -> None:
    pseudo = Pseudonymiser(KEY)
    docs = [
        ("Née le 14/09/1976, admise le 02/07/2021, sortie le 10 juillet 2021.", "p1"),
        ("Revue en consultation le 2021-10-29 (patiente née le 14/09/76).", "p1"),
    ]
    olds: list[date] = []
    news: list[date] = []
    for i, (text, patient) in enumerate(docs):
        spans = []
        for m in re.finditer(r"\d{1,2}/\d\d/\d{2,4}|\d{4}-\d\d-\d\d|\d+ juillet \d{4}", text):
            label = "DATE_NAISSANCE" if "14/09" in m.group() else "DATE"
            spans.append(Span(m.start(), m.end(), label, m.group()))
        out = pseudo.pseudonymise(text, spans, doc_id=f"d{i}", patient_id=patient)
        for r in out.replacements:
            old, new = parse_date(r.original), parse_date(r.surrogate)
            assert old is not None and new is not None and old.shape == new.shape
            assert old.value is not None and new.value is not None
            olds.append(old.value)
            news.append(new.value)
    offsets = {(n - o).days for o, n in zip(olds, news, strict=True)}
    assert len(offsets) == 1 and 0 not in offsets
    assert news[2] - news[1] == olds[2] - olds[1]  # length of stay
    assert news[1] - news[0] == olds[1] - olds[0]  # age at admission
