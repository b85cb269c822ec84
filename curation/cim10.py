"""The CIM-10 (ATIH, French PMSI version) code list that edsnlp ships.

``edsnlp/resources/cim10.csv.gz`` holds 42,886 codes written without the dot (``J189``) with
their PMSI type flag and French labels. We use it as is rather than keeping a list of our own:
it is maintained upstream with the rest of AP-HP's French clinical resources.
PMSI type ``0`` codes are usable in any position; ``3`` marks a code that must be refined
(a parent of more precise codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd


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


def lookup(code: str) -> Cim10Code:
    """The entry of ``code`` (dotted or not); ``KeyError`` names the code if it is unknown."""
    key = code.replace(".", "").upper()
    try:
        return code_list()[key]
    except KeyError:
        raise KeyError(f"CIM-10 code {code!r} is not in the ATIH list shipped by edsnlp") from None
