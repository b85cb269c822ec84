"""Checks every QRM item must pass before it is offered to a teacher or released.

An item is ``{"stem", "options": {"A".."E"}, "answers", "explanation"}``. :func:`check_item`
returns the named problems of one item (none: valid):

- ``missing_field``: a key is absent or not of its type, or the stem is empty;
- ``options_not_a_to_e``: the options are not exactly A, B, C, D, E;
- ``empty_option``: an option has no text;
- ``duplicate_options``: two options are the same after :func:`normalise` (case, accents,
  spaces and end punctuation);
- ``no_answer``: no correct answer;
- ``answer_not_an_option``: an answer outside A-E, or given twice;
- ``option_in_stem``: an option's text is written in the stem (it gives the answer away, or
  makes a distractor absurd);
- ``identifying_data``: a phone number, an e-mail address, a NIR, a date of birth or a
  hospital identifier (IPP, NDA) in the stem, an option or the explanation. Found by the
  platform's own detectors (:class:`curation.models.rules.PhiRules`, edsnlp's ``eds.dates``
  for dates of birth); names are the pseudonymisation model's job, not a rule's.

Examples
--------
>>> item = {"stem": "Quel est le diagnostic le plus probable ?",
...         "options": {"A": "Embolie pulmonaire", "B": "Pneumothorax", "C": "Péricardite aiguë",
...                     "D": "Pneumopathie lobaire", "E": "embolie  pulmonaire."},
...         "answers": ["A"], "explanation": "Angioscanner typique."}
>>> [p.code for p in check_item(item)]
['duplicate_options']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from curation.models.rules import PhiRules

LETTERS: tuple[str, ...] = ("A", "B", "C", "D", "E")

#: Detector labels that make an item unfit: what identifies a patient without a name.
IDENTIFYING_LABELS: frozenset[str] = frozenset(
    {"TEL", "MAIL", "SECU", "DATE_NAISSANCE", "IPP", "NDA"}
)

PROBLEM_CODES: tuple[str, ...] = (
    "missing_field",
    "options_not_a_to_e",
    "empty_option",
    "duplicate_options",
    "no_answer",
    "answer_not_an_option",
    "option_in_stem",
    "identifying_data",
)

_SPACES = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\s\W_]+|[\s\W_]+$")


@dataclass(frozen=True, slots=True)
class Problem:
    """A named defect of an item: ``code`` (one of :data:`PROBLEM_CODES`), the ``field`` it
    is in (``stem``, ``options.B``, ``answers``...) and a message that quotes no text."""

    code: str
    field: str
    message: str


def normalise(text: str) -> str:
    """Lower case, no accents, one space between words, no punctuation at either end.

    >>> normalise("  Œdème aigu du POUMON. ")
    'oedeme aigu du poumon'
    """
    folded = text.casefold().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", folded)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _EDGE_PUNCT.sub("", _SPACES.sub(" ", plain))


def contains(haystack: str, needle: str) -> bool:
    """Whether normalised ``needle`` is written in normalised ``haystack``, as whole words.

    >>> contains("Le scanner montre une embolie pulmonaire bilatérale.", "Embolie pulmonaire")
    True
    >>> contains("Notion de pneumopathies à répétition.", "pneumopathie")
    False
    """
    key = normalise(needle)
    if not key:
        return False
    return re.search(rf"(?<!\w){re.escape(key)}(?!\w)", normalise(haystack)) is not None


@cache
def detector() -> PhiRules:
    """The platform's rule detector of structured identifiers (built once per process)."""
    return PhiRules()


def identifying_labels(text: str) -> list[str]:
    """Labels of the identifying data found in ``text`` (see :data:`IDENTIFYING_LABELS`).

    >>> identifying_labels("Rappeler au 06 12 34 56 78 ou écrire à j.dupont@chu.fr.")
    ['TEL', 'MAIL']
    """
    if not text.strip():
        return []
    return [s.label for s in detector()(text) if s.label in IDENTIFYING_LABELS]


def check_item(item: Mapping[str, Any]) -> list[Problem]:
    """Every problem of one item, in a fixed order; an empty list means the item is valid."""
    problems: list[Problem] = []
    stem, options, answers = item.get("stem"), item.get("options"), item.get("answers")
    explanation = item.get("explanation", "")
    for name, value, kind in (
        ("stem", stem, str),
        ("options", options, Mapping),
        ("answers", answers, list),
        ("explanation", explanation, str),
    ):
        if not isinstance(value, kind):
            problems.append(Problem("missing_field", name, f"{name} is missing or not a {kind}"))
    if isinstance(stem, str) and not stem.strip():
        problems.append(Problem("missing_field", "stem", "the stem is empty"))
    texts: dict[str, str] = {}
    if isinstance(options, Mapping):
        if sorted(map(str, options)) != list(LETTERS):
            problems.append(
                Problem("options_not_a_to_e", "options", f"options must be {list(LETTERS)}")
            )
        texts = {str(k): str(v) if v is not None else "" for k, v in options.items()}
        for letter, text in sorted(texts.items()):
            if not normalise(text):
                problems.append(Problem("empty_option", f"options.{letter}", "empty option"))
        seen: dict[str, str] = {}
        for letter, text in sorted(texts.items()):
            key = normalise(text)
            if key and key in seen:
                problems.append(
                    Problem(
                        "duplicate_options",
                        f"options.{letter}",
                        f"option {letter} repeats option {seen[key]}",
                    )
                )
            seen.setdefault(key, letter)
    if isinstance(answers, list):
        if not answers:
            problems.append(Problem("no_answer", "answers", "no correct answer"))
        wrong = [a for a in answers if a not in LETTERS or a not in texts]
        if wrong or len(set(map(str, answers))) != len(answers):
            problems.append(
                Problem(
                    "answer_not_an_option",
                    "answers",
                    f"answers must be distinct letters among {list(LETTERS)}",
                )
            )
    if isinstance(stem, str):
        for letter, text in sorted(texts.items()):
            if contains(stem, text):
                problems.append(
                    Problem(
                        "option_in_stem", f"options.{letter}", f"option {letter} is in the stem"
                    )
                )
    fields = {"stem": stem, "explanation": explanation} | {
        f"options.{k}": v for k, v in texts.items()
    }
    for name, value in fields.items():
        if isinstance(value, str):
            labels = identifying_labels(value)
            if labels:
                problems.append(
                    Problem("identifying_data", name, f"identifying data ({', '.join(labels)})")
                )
    return problems


def is_valid(item: Mapping[str, Any]) -> bool:
    """Whether ``item`` has no problem."""
    return not check_item(item)
