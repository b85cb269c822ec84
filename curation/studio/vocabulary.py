"""A use case's open vocabulary as Label Studio shows it: suggestion options and a searchable tree.

A use case that declares ``vocabulary = "curation.cim10:codes"`` (``icd10_coding``) has too many
labels for a config: its tasks carry their options in task data instead. This module builds
them from the vocabulary's module, found from the declaration (never from the use case id):

- :meth:`CodeVocabulary.options`: the ranked suggestions, ``{"value": code, "hint": ...}``, for
  the ``<Labels>`` and ``<Choices>`` that read ``value="$codes"``;
- :meth:`CodeVocabulary.taxonomy`: the per-task tree for a ``<Taxonomy value="$taxonomy">``,
  restricted to the blocks the suggestions fall in (chapter > block > category > code), each node
  ``{"value": "E11.9 Diabète sucré de type 2, sans complication", "alias": "E119"}``: the search
  box matches the displayed text (code or French words), results hold the dotless code.

Examples
--------
>>> from curation.usecases import get
>>> vocab = vocabulary(get("icd10_coding"))
>>> vocab.path("E11.9")
['IV', 'E10-E14', 'E11', 'E119']
>>> vocab.options([("E119", 0.91, "DP")])[0]["hint"]
'E11.9 Diabète sucré de type 2, sans complication · DP suggéré · score 0.91'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from curation import cim10
from curation.usecases.base import UseCase


@dataclass(frozen=True)
class CodeVocabulary:
    """What the studio needs of a coded vocabulary (CIM-10 today)."""

    name: str
    codes: frozenset[str]
    normalise: Callable[[str], str]
    display: Callable[[str], str]
    siblings: Callable[[str], list[str]]
    ancestry: Callable[[str], tuple[str, ...]]
    node_title: Callable[[str], str]
    subtree_roots: Callable[[str], list[str]]

    def known(self, code: str) -> bool:
        """Whether ``code`` (dotted or not, any case) is in the vocabulary."""
        return self.normalise(code) in self.codes

    def path(self, code: str) -> list[str]:
        """Aliases from the root of the tree down to ``code`` (a taxonomy result path)."""
        return list(self.ancestry(code))

    def options(self, ranked: Ranked) -> list[dict[str, str]]:
        """``{"value", "hint"}`` of ``(code, score, suggested role)`` triples, in that order."""
        out = []
        for code, score, role in ranked:
            hint = self.display(code) if self.known(code) else code
            if role:
                hint += f" · {role} suggéré"
            if score is not None:
                hint += f" · score {score:.2f}"
            out.append({"value": code, "hint": hint})
        return out

    def taxonomy(self, codes: Iterable[str]) -> list[dict[str, Any]]:
        """The tree of every block (or lone category) holding one of ``codes``, sorted.

        Unknown codes are left out: they cannot be placed in the tree.
        """
        paths = [self.path(c) for c in codes if self.known(c)]
        roots: dict[str, dict[str, Any]] = {}
        for path in sorted(paths):
            chapter = roots.setdefault(path[0], {**self._node(path[0], []), "children": []})
            head = path[1]
            if not any(child["alias"] == head for child in chapter["children"]):
                chapter["children"].append(self._subtree(head))
        return list(roots.values())

    def _subtree(self, key: str) -> dict[str, Any]:
        return self._node(key, [self._subtree(k) for k in self.subtree_roots(key)])

    def _node(self, key: str, children: list[dict[str, Any]]) -> dict[str, Any]:
        node: dict[str, Any] = {"value": self.node_title(key), "alias": key}
        if children:
            node["children"] = children
        return node


def tree_paths(
    nodes: Sequence[Mapping[str, Any]], prefix: tuple[str, ...] = ()
) -> set[tuple[str, ...]]:
    """Every path (tuple of aliases, or values without alias) of a Label Studio taxonomy tree."""
    out: set[tuple[str, ...]] = set()
    for node in nodes:
        path = (*prefix, str(node.get("alias") or node["value"]))
        out.add(path)
        out |= tree_paths(node.get("children") or [], path)
    return out


def vocabulary(use_case: UseCase) -> CodeVocabulary | None:
    """The studio view of ``use_case.vocabulary`` (``None`` for a closed label set)."""
    if use_case.vocabulary is None:
        return None
    module = use_case.vocabulary.partition(":")[0]
    if module not in ADAPTERS:
        raise KeyError(
            f"use case {use_case.id}: no Label Studio adapter for vocabulary "
            f"{use_case.vocabulary!r}; add one to curation.studio.vocabulary.ADAPTERS"
        )
    return ADAPTERS[module]()


# --- CIM-10 -----------------------------------------------------------------------------------


@cache
def _cim10() -> CodeVocabulary:
    return CodeVocabulary(
        name="CIM-10",
        codes=cim10.codes(),
        normalise=cim10.normalise,
        display=cim10.display,
        siblings=cim10.siblings,
        ancestry=cim10.ancestry,
        node_title=cim10.node_title,
        subtree_roots=cim10.node_children,
    )


Ranked = Iterable[tuple[str, float | None, str | None]]

#: Vocabulary module -> its adapter.
ADAPTERS: dict[str, Callable[[], CodeVocabulary]] = {"curation.cim10": _cim10}

__all__ = ["ADAPTERS", "CodeVocabulary", "tree_paths", "vocabulary"]
