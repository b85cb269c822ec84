"""QRM questions (one stem, five options A-E, one or more correct answers) built from a stay's
facts: the reference items of the ``mcq_generation`` answer key.

Distractors come from the same CIM-10 chapter first (so they are plausible), then from the
rest of the vocabulary.
"""

from __future__ import annotations

from typing import Any

from curation.sources.synthetic.context import Ctx, age
from curation.sources.synthetic.vocab import CANCERS, CONDITIONS

LETTERS = ("A", "B", "C", "D", "E")


def _options(ctx: Ctx, correct: list[str], pool: list[str]) -> tuple[list[str], list[str]]:
    """Five distinct options in random order, and the letters of the correct ones."""
    rng = ctx.rng
    heads = {c.split()[0] for c in correct}  # no distractor that is a variant of an answer
    distractors = [p for p in dict.fromkeys(pool) if p.split()[0] not in heads]
    rng.shuffle(distractors)
    options = correct + distractors[: 5 - len(correct)]
    rng.shuffle(options)
    answers = [LETTERS[i] for i, option in enumerate(options) if option in correct]
    return options, answers


def make_question(ctx: Ctx) -> dict[str, Any] | None:
    """One question about the stay, or ``None`` when the facts do not make five options."""
    rng, cond = ctx.rng, ctx.stay.condition
    sex = "un homme" if ctx.patient.sex == "M" else "une femme"
    if cond is not None and rng.random() < 0.5:
        same = [c.mentions[0] for c in CONDITIONS if c.code[0] == cond.code[0] and c is not cond]
        other = [c.mentions[0] for c in CONDITIONS if c.code[0] != cond.code[0]]
        options, answers = _options(ctx, [cond.mentions[0]], same + other)
        stem = (
            f"Vous prenez en charge {sex} de {age(ctx)} ans qui présente "
            f"{', '.join(cond.symptoms)}. Le bilan montre : {'; '.join(cond.findings)}. "
            "Quel est le diagnostic le plus probable ?"
        )
        explanation = f"Le tableau clinique et le bilan sont typiques d'une {cond.mentions[0]}."
    elif cond is not None:
        drugs = [t.split(" : ")[0] for t in cond.treatments][:2]
        pool = [t.split(" : ")[0] for c in CONDITIONS if c is not cond for t in c.treatments]
        options, answers = _options(ctx, drugs, pool)
        stem = (
            f"{sex.capitalize()} de {age(ctx)} ans est hospitalisé(e) pour "
            f"{cond.mentions[0]}. Parmi les traitements suivants, lequel ou lesquels sont "
            "indiqués à la sortie ?"
        )
        explanation = f"Traitement de sortie recommandé : {', '.join(drugs)}."
    elif ctx.onco is not None:
        case = ctx.onco
        pool = [h for c in CANCERS if c is not case.cancer for h in c.histologies]
        options, answers = _options(ctx, [case.histology], pool)
        stem = (
            f"{sex.capitalize()} de {age(ctx)} ans présente une lésion du "
            f"{case.cancer.organ}. Quel type histologique est décrit sur les prélèvements ?"
        )
        explanation = f"L'analyse anatomopathologique conclut à un {case.histology}."
    else:  # pragma: no cover - every stay has a condition or a cancer
        return None
    if len(options) < 5:
        return None
    return {
        "stem": stem,
        "options": dict(zip(LETTERS, options, strict=True)),
        "answers": answers,
        "explanation": explanation,
    }
