"""Section detection of French hospital reports, mapped to the seven summary sections.

Titles are found by edsnlp's ``eds.sections`` (AP-HP's list of CRH titles, matched on the
``NORM`` attribute: lower case, accents folded, a title alone on its line). edsnlp 0.23 knows
``motif``, ``antécédents``, ``histoire de la maladie``, ``examens complémentaires``,
``diagnostic``, ``conclusion``, ``traitements sortie``, ``prescriptions``, ``modalites
sortie``... but not titles French reports use every day: "Motif d'admission", "HDM",
"Anamnèse", "Bilan paraclinique", "Diagnostic de sortie", "TTT de sortie", "Ordonnance de
sortie", "Suivi", "Conduite à tenir", "Rendez-vous", nor "Traitement habituel", "Examen à
l'entrée" or "Évolution dans le service", which must still end the section before them.
:data:`EXTRA_TITLES` adds these to edsnlp's patterns (same labels where the meaning is the same,
a new ``suivi`` label otherwise); :data:`TO_SUMMARY` maps every label to a summary section, or
to none (the title only ends the previous section).

A section's body runs from the line after its title to the next title; the last section of a
document stops at its first blank line, where reports put the signature.

Examples
--------
>>> text = ("Motif d'admission\\nDouleur thoracique constrictive.\\n\\nHDM\\nDepuis 3 jours, "
...         "dyspnée d'effort.\\n\\nTTT de sortie :\\n- bisoprolol 2,5 mg : 1 cp/j\\n\\nDr X\\n")
>>> [(s.label, s.summary, text[s.start:s.end].strip()) for s in find_sections(text)]
[('motif', 'motif', 'Douleur thoracique constrictive.'), ('histoire de la maladie', \
'histoire', "Depuis 3 jours, dyspnée d'effort."), ('traitements sortie', 'traitement_sortie', \
'- bisoprolol 2,5 mg : 1 cp/j')]
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

#: Titles missing from edsnlp 0.23's ``eds.sections`` patterns (regular expressions on
#: ``NORM``: lower case, no accents), by section label. Labels edsnlp has keep its meaning;
#: ``suivi`` is ours.
EXTRA_TITLES: dict[str, tuple[str, ...]] = {
    "motif": (r"motif d'admission", r"motif de l'admission", r"motif d'entree"),
    "antécédents": (r"atcd medicaux", r"antecedents medico-chirurgicaux"),
    "histoire de la maladie": (r"hdm", r"anamnese", r"histoire clinique"),
    "traitements entrée": (
        r"traitements? habituels?",
        r"ttt habituel",
        r"ttt a l'entree",
        r"traitement a domicile",
    ),
    "examens": (r"examen a l'entree", r"examen physique"),
    "examens complémentaires": (
        r"examens",
        r"examens paracliniques",
        r"bilan paraclinique",
        r"bilan biologique",
        r"biologie",
        r"imagerie",
    ),
    "evolution": (
        r"evolution dans le service",
        r"evolution clinique",
        r"evolution et prise en charge",
    ),
    "diagnostic": (
        r"diagnostics? de sortie",
        r"diagnostics? retenus?",
        r"diagnostic principal",
        r"diagnostic final",
    ),
    "traitements sortie": (
        r"traitements de sortie",
        r"traitements? a la sortie",
        r"ttt de sortie",
        r"ordonnance de sortie",
    ),
    "suivi": (
        r"suivi",
        r"suivi propose",
        r"conduite a tenir",
        r"cat",
        r"rendez-vous",
        r"rdv",
        r"surveillance",
        r"a prevoir",
    ),
}

#: Section label -> summary section; a label left out only ends the section before it.
TO_SUMMARY: dict[str, str] = {
    "motif": "motif",
    "antécédents": "antecedents",
    "antécédents familiaux": "antecedents",
    "facteurs de risques": "antecedents",
    "histoire de la maladie": "histoire",
    "examens complémentaires": "examens",
    "diagnostic": "diagnostic",
    "conclusion": "diagnostic",
    "traitements sortie": "traitement_sortie",
    "prescriptions": "traitement_sortie",
    "suivi": "suivi",
    "modalites sortie": "suivi",
}

_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n")
_BULLET = re.compile(r"^[\s\-*•·_+→]+")


@dataclass(frozen=True, slots=True)
class Section:
    """One titled section: its label, summary section (or ``None``) and character offsets of
    its title and of its body (the text after the title's line)."""

    label: str
    summary: str | None
    title_start: int
    title_end: int
    start: int
    end: int


def title_patterns() -> dict[str, list[str]]:
    """edsnlp's section patterns with :data:`EXTRA_TITLES` added."""
    from edsnlp.pipes.misc.sections.patterns import sections

    merged = {label: list(patterns) for label, patterns in sections.items()}
    for label, extra in EXTRA_TITLES.items():
        merged.setdefault(label, []).extend(p for p in extra if p not in merged.get(label, []))
    return merged


@cache
def section_pipeline(*, drugs: bool = False) -> Any:
    """``eds.normalizer``, ``eds.sentences`` (bullets start sentences) and ``eds.sections``
    with our titles, plus ``eds.drugs`` when asked; built once per process (about a second)."""
    import edsnlp
    import edsnlp.pipes as eds

    nlp = edsnlp.blank("eds")
    nlp.add_pipe(eds.normalizer())
    nlp.add_pipe(eds.sentences(use_bullet_start=True))
    nlp.add_pipe(eds.sections(sections=title_patterns()))
    if drugs:
        with contextlib.redirect_stderr(io.StringIO()):  # edsnlp forces a tqdm bar on terms
            nlp.add_pipe(eds.drugs())
    return nlp


def sections_of(doc: Any) -> list[Section]:
    """The sections of a document processed by :func:`section_pipeline`, in text order."""
    text: str = doc.text
    titles = sorted(doc.spans.get("section_titles", []), key=lambda s: s.start_char)
    out: list[Section] = []
    for i, title in enumerate(titles):
        line_end = text.find("\n", title.end_char)
        start = len(text) if line_end < 0 else line_end + 1
        if i + 1 < len(titles):
            end = titles[i + 1].start_char
        else:  # the last section stops at its first blank line (signature, closing formula)
            content = re.search(r"\S", text[start:])
            blank = _BLANK_LINE.search(text, start + content.start()) if content else None
            end = blank.start() if blank else len(text)
        label = str(title.label_)
        out.append(
            Section(label, TO_SUMMARY.get(label), title.start_char, title.end_char, start, end)
        )
    return out


def find_sections(text: str) -> list[Section]:
    """The sections of ``text`` (one document through :func:`section_pipeline`)."""
    return sections_of(section_pipeline()(text))


def sentences_in(doc: Any, start: int, end: int) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``doc`` within ``[start, end)``, clipped to it,
    without leading bullets or surrounding blanks; empty and punctuation-only ones dropped."""
    text: str = doc.text
    out: list[tuple[int, int]] = []
    for sent in doc.sents:
        a, b = max(sent.start_char, start), min(sent.end_char, end)
        if a >= b:
            continue
        piece = text[a:b]
        bullet = _BULLET.match(piece)
        lead = bullet.end() if bullet else 0
        a, b = a + lead, a + len(piece.rstrip())
        if a < b and any(c.isalnum() for c in text[a:b]):
            out.append((a, b))
    return out
