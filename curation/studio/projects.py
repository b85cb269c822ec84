"""The Label Studio projects of a use case: find or create them, read what they hold, assign.

A use case version has one shared project (``"pseudonymisation v1"``) or, with named
annotators, one project per annotator (``"pseudonymisation v1 — a.martin@chu.fr"``). Their ids
are remembered in an untracked JSON store (``push.store``, by server URL then key
``<use_case>@<version>`` or ``<use_case>@<version>/<e-mail>``) and checked on every use: a
stored id whose project is gone or has another title is looked up again by title, and a
project is created only when none has that title. A project whose labeling config differs
from ``annotation_configs/`` is refused: a changed config is a new use case version. The server
refuses titles over 50 characters: longer ones are cut and end with a short hash
(:func:`fit_title`), the full e-mail stays in the project's description.

Why the per-annotator projects and what the open-source server enforces: see
:mod:`curation.stages.push`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from curation.io import atomic_writer
from curation.settings import PushSettings
from curation.studio.server import StudioError
from curation.usecases.base import UseCase

#: The project's ``sampling`` that serves the lowest prediction score first.
UNCERTAINTY = "Uncertainty sampling"
PAGE_SIZE = 1000
#: Longest project title the server accepts.
TITLE_MAX = 50


class ProjectError(StudioError):
    """A project cannot be found, created or used as it is; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """Which project: its store key, its title, and its annotator (``None``: shared)."""

    key: str
    title: str
    annotator: str | None = None


def project_specs(use_case: UseCase, settings: PushSettings) -> list[ProjectSpec]:
    """The projects a push fills: the shared one, or one per named annotator."""
    key = f"{use_case.id}@{use_case.version}"
    title = f"{settings.title_prefix}{use_case.id} {use_case.version}"
    if not settings.annotators:
        return [ProjectSpec(key, fit_title(title))]
    return [ProjectSpec(f"{key}/{a}", fit_title(f"{title} — {a}"), a) for a in settings.annotators]


def fit_title(title: str) -> str:
    """``title`` within the server's 50 characters: a longer one is cut and given a short hash.

    >>> fit_title("pseudonymisation v1 — anne-sophie.delacroix-martin@chu-nord.fr")
    'pseudonymisation v1 — anne-sophie.delacroi… 8d1f8a'
    """
    if len(title) <= TITLE_MAX:
        return title
    tag = hashlib.sha256(title.encode()).hexdigest()[:6]
    return f"{title[: TITLE_MAX - 8]}… {tag}"


def project_url(server: str, project_id: int) -> str:
    return f"{server}/projects/{project_id}/data"


class ProjectStore:
    """Project ids by server URL and key, in a small JSON file (written atomically)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, int]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(s): {str(k): int(v) for k, v in p.items()} for s, p in data.items()}
        except (ValueError, AttributeError, TypeError):
            raise ProjectError(
                f"{self.path}: not a project store (JSON server -> key -> id); delete it, "
                "projects are found again by title"
            ) from None

    def get(self, server: str, key: str) -> int | None:
        return self.read().get(server, {}).get(key)

    def put(self, server: str, key: str, project_id: int) -> None:
        data = self.read()
        data.setdefault(server, {})[key] = project_id
        with atomic_writer(self.path) as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")

    def for_use_case(self, server: str, use_case: UseCase) -> dict[str, int]:
        """Every project of ``use_case`` on ``server``: key -> id (what ``pull`` reads)."""
        key = f"{use_case.id}@{use_case.version}"
        projects = self.read().get(server, {})
        return {k: v for k, v in projects.items() if k == key or k.startswith(key + "/")}


def _get(client: LabelStudio, project_id: int) -> Any | None:
    try:
        return client.projects.get(id=project_id)
    except ApiError as exc:
        if exc.status_code == 404:
            return None
        raise


def _check_config(project: Any, label_config: str, source: str) -> None:
    if (project.label_config or "").strip() != label_config.strip():
        raise ProjectError(
            f"project {project.id} ({project.title!r}) has a labeling config that differs from "
            f"{source}: a changed config is a new use case version (new file, new project); "
            "restore the file or rename the project"
        )


def find_or_create(
    client: LabelStudio,
    store: ProjectStore,
    server: str,
    spec: ProjectSpec,
    label_config: str,
    *,
    source: str,
    settings: Mapping[str, Any],
    description: str = "",
) -> tuple[int, str]:
    """Id of the project of ``spec`` and how it was had: ``stored``, ``found`` or ``created``.

    ``settings`` (overlap, sampling) are given to a created project; see :func:`ensure_settings`
    for an existing one. ``source`` names the config file in errors.
    """
    stored = store.get(server, spec.key)
    if stored is not None:
        project = _get(client, stored)
        if project is not None and project.title == spec.title:
            _check_config(project, label_config, source)
            return stored, "stored"
    listed: Iterable[Any] = client.projects.list(title=spec.title, page_size=100)
    same = [p for p in listed if p.title == spec.title]
    if same:
        project_id, how = min(int(p.id) for p in same), "found"
        project = client.projects.get(id=project_id)
        _check_config(project, label_config, source)
    else:
        created = client.projects.create(
            title=spec.title, label_config=label_config, description=description, **settings
        )
        project_id, how = int(created.id or 0), "created"
    store.put(server, spec.key, project_id)
    return project_id, how


def ensure_settings(client: LabelStudio, project_id: int, wanted: Mapping[str, Any]) -> list[str]:
    """Set the project's ``wanted`` settings that differ; returns the names changed.

    Only differences are sent: a change of ``maximum_annotations`` or
    ``overlap_cohort_percentage`` makes the server redraw its overlap cohort.
    """
    project = client.projects.get(id=project_id)
    changed = {k: v for k, v in wanted.items() if getattr(project, k) != v}
    if changed:
        client.projects.update(id=project_id, **changed)
    return sorted(changed)


def set_model_version(client: LabelStudio, project_id: int, model_version: str) -> bool:
    """Point uncertainty sampling at ``model_version``; ``False`` if no task has it yet.

    The server refuses a ``model_version`` that none of the project's predictions carries.
    """
    if client.projects.get(id=project_id).model_version == model_version:
        return True
    try:
        client.projects.update(id=project_id, model_version=model_version)
    except ApiError as exc:
        if exc.status_code == 400:
            return False
        raise
    return True


@dataclass(slots=True)
class Present:
    """The tasks a project holds, by ``doc_id`` (tasks without one are counted apart)."""

    task_ids: dict[str, list[int]] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    foreign: int = 0

    @property
    def duplicates(self) -> dict[str, list[int]]:
        return {d: ids for d, ids in self.task_ids.items() if len(ids) > 1}


def present_tasks(client: LabelStudio, project_id: int) -> Present:
    """The project's tasks with their ``doc_id`` and ``meta`` (paged, data only)."""
    present = Present()
    pages: Iterable[Any] = client.tasks.list(
        project=project_id, fields="task_only", include="id,data,meta", page_size=PAGE_SIZE
    )
    for task in pages:
        doc_id = (task.data or {}).get("doc_id")
        if doc_id is None:
            present.foreign += 1
            continue
        present.task_ids.setdefault(str(doc_id), []).append(int(task.id or 0))
        if task.meta:
            present.meta[str(doc_id)] = dict(task.meta)
    return present


def overlaps(client: LabelStudio, project_id: int) -> Counter[int]:
    """How many tasks have each ``overlap`` (annotations the server wants per task)."""
    pages: Iterable[Any] = client.tasks.list(
        project=project_id, fields="task_only", include="id,overlap", page_size=PAGE_SIZE
    )
    return Counter(int(task.overlap or 1) for task in pages)


def _rank(seed: int, key: str) -> int:
    """A seeded, order-free pseudo-random rank of ``key``."""
    return int.from_bytes(hashlib.sha256(f"{seed}\0{key}".encode()).digest()[:8], "big")


def assign(
    doc_ids: Sequence[str],
    annotators: Sequence[str],
    *,
    k: int,
    n_overlap: int,
    seed: int,
    loads: Mapping[str, int] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Annotators of new documents: ``n_overlap`` of them to ``k`` annotators, others to one.

    Deterministic from ``seed`` whatever the order of ``doc_ids``: documents are taken in the
    order of a seeded hash of their ``doc_id``, the first ``n_overlap`` being the overlap ones,
    and each goes to the least-loaded annotators (``loads``: tasks they already hold; ties by a
    seeded hash of the pair), which is round-robin when loads are equal.

    Examples
    --------
    >>> plan = assign(["d1", "d2", "d3", "d4"], ["a@chu.fr", "b@chu.fr"], k=2, n_overlap=1, seed=0)
    >>> sorted(len(names) for names in plan.values())
    [1, 1, 1, 2]
    """
    order = sorted(doc_ids, key=lambda d: (_rank(seed, d), d))
    overlap = set(order[: max(n_overlap, 0)])
    load = {a: (loads or {}).get(a, 0) for a in annotators}
    position = {a: i for i, a in enumerate(annotators)}
    plan: dict[str, tuple[str, ...]] = {}
    for doc_id in order:
        wanted = min(k, len(annotators)) if doc_id in overlap else 1
        chosen = sorted(annotators, key=lambda a: (load[a], _rank(seed, f"{doc_id}\0{a}")))
        for name in chosen[:wanted]:
            load[name] += 1
        plan[doc_id] = tuple(sorted(chosen[:wanted], key=position.__getitem__))
    return plan


def project_settings(settings: PushSettings) -> dict[str, Any]:
    """Overlap and sampling of the push's projects (server-side overlap only when shared)."""
    overlap = settings.overlap_k > 1 and settings.overlap_share > 0 and not settings.annotators
    return {
        "maximum_annotations": settings.overlap_k if overlap else 1,
        "overlap_cohort_percentage": int(settings.overlap_share * 100 + 0.5) if overlap else 100,
        "sampling": UNCERTAINTY,
    }


def plan_named(
    doc_ids: Sequence[str], present: Mapping[str, Present], settings: PushSettings
) -> dict[str, tuple[str, ...]]:
    """Annotators of every document, pushed or not: as recorded on the server, else assigned.

    ``present`` holds each named annotator's project content. A document already in some
    project keeps the annotators its tasks' ``meta.assigned_to`` records (and those who hold
    it); the others are assigned with :func:`assign` so that ``round(overlap_share × all
    documents)`` have ``overlap_k`` annotators.
    """
    planned: dict[str, tuple[str, ...]] = {}
    for name, held in present.items():
        for doc_id in held.task_ids:
            recorded = held.meta.get(doc_id, {}).get("assigned_to") or []
            names = [*planned.get(doc_id, ()), *map(str, recorded), name]
            planned[doc_id] = tuple(dict.fromkeys(names))
    new = [d for d in doc_ids if d not in planned]
    total = len(planned) + len(new)
    overlap = settings.overlap_k > 1 and settings.overlap_share > 0
    target = int(settings.overlap_share * total + 0.5) if overlap else 0
    have = sum(1 for names in planned.values() if len(names) > 1)
    loads = Counter(n for names in planned.values() for n in names)
    planned.update(
        assign(
            new,
            settings.annotators,
            k=settings.overlap_k,
            n_overlap=target - have,
            seed=settings.seed,
            loads=loads,
        )
    )
    return planned
