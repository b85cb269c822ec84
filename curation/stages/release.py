"""``curation release <use_case> --version X.Y.Z``: gold -> a versioned benchmark.

Refuses unless the quality gates of the gold passed (``reports/quality/<use_case>/gold.json``
and ``annotations.json``). Then builds ``benchmarks/<use_case>/``:

``data/``             DVC-tracked (``data.dvc``), pushed to the DVC remote: per split
                      ``<split>.parquet`` (Hugging Face ``datasets``), ``<split>.jsonl``, and
                      for span use cases ``brat/<split>/`` and ``conll/<split>.conll``; the
                      baselines' predictions under ``baselines/``
``splits.json``       ``doc_id -> split``: the next version keeps every document where it is
``README.md``         the dataset card (Hugging Face front matter)
``manifest.json``     SHA-256 and size of every data file
``release.json``      version, provenance, counts, changes (read by the next release)
``CHANGELOG.md``      one entry per version
``baselines/``        metrics of each baseline on the test split (DVC metrics and plots)
``report/index.html`` the release report

Splits are grouped by patient and stable across versions (:mod:`curation.release.splits`);
the version must follow semantic versioning against the previous release
(:mod:`curation.release.versioning`: a changed test split is a major version). The released
split is validated by the ``benchmark`` suite (no patient in two splits, split sizes, no
residual identifier in pseudonymised text) before it replaces anything. Releasing the same
version again with nothing changed does nothing. With ``tag``, the release is committed to
git and tagged ``<use_case>@vX.Y.Z`` (what ``dvc artifacts get`` and ``dvc.api`` fetch).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation import paths
from curation.io import InputError, read_records
from curation.release import card, manifest, versioning
from curation.release.baselines import per_label_rows, score_baseline
from curation.release.formats import write_brat, write_conll, write_jsonl, write_parquet
from curation.release.report import ReportData, render_report
from curation.release.splits import SplitUnit, assign_splits, split_changes
from curation.schema import Record
from curation.settings import Params
from curation.stages.validate import ValidationFailed, load_documents
from curation.stages.validate import run as validate
from curation.usecases import get
from curation.usecases.base import UseCase

GATES = ("annotations", "gold")


class ReleaseRefused(RuntimeError):
    """The release cannot be made (gates failed, wrong version, no gold); the message says why."""


@dataclass(slots=True)
class ReleaseSummary:
    use_case: str
    version: str
    folder: Path
    splits: dict[str, int] = field(default_factory=dict)
    unchanged: bool = False
    baselines: dict[str, float | None] = field(default_factory=dict)
    tag: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        if self.unchanged:
            tagged = f" (tag {self.tag})" if self.tag else ""
            return f"release {self.use_case} v{self.version}: already released{tagged}, unchanged"
        sizes = ", ".join(f"{k} {v}" for k, v in self.splits.items())
        lines = [f"released {self.use_case} v{self.version} -> {self.folder} ({sizes})"]
        lines += [f"  baseline {k}: strict micro F1 {v} (test)" for k, v in self.baselines.items()]
        lines.append(f"  report: {self.folder / 'report' / 'index.html'}")
        lines.append(
            f"  tagged {self.tag}"
            if self.tag
            else f"  to publish: git add {self.folder} && git commit && "
            f"git tag {self.use_case}@v{self.version} (or release again with --tag)"
        )
        return "\n".join(lines)


def check_gates(use_case_id: str) -> dict[str, bool]:
    """The gold's quality gates; raises :class:`ReleaseRefused` when one failed or is missing."""
    passed = {}
    for stage in GATES:
        path = paths.quality_dir(use_case_id) / f"{stage}.json"
        if not path.exists():
            raise ReleaseRefused(f"{path}: no validation of {stage}; run `dvc repro` first")
        results = json.loads(path.read_text(encoding="utf-8"))
        if not results.get("success"):
            raise ReleaseRefused(
                f"the {stage} quality gate failed ({results.get('failed_critical')} critical "
                f"expectations, see {path}); fix the data and run `dvc repro`"
            )
        passed[f"validate {stage}"] = True
    return passed


def previous_release(folder: Path) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The previous release's ``release.json`` and ``splits.json`` (empty without one)."""
    info, splits = folder / "release.json", folder / "splits.json"
    if not info.exists():
        return None, {}
    return json.loads(info.read_text()), json.loads(splits.read_text()) if splits.exists() else {}


def _strata(record: Record) -> tuple[str, ...]:
    return tuple(sorted({s.label for s in record.spans} | set(record.labels)))


def _released(record: Record) -> Record:
    """The gold record as released: provenance without who annotated (staff e-mails)."""
    kept = {k: v for k, v in record.provenance.items() if k in ("rule", "agreement", "annotations")}
    return Record(
        record.doc_id,
        record.use_case,
        record.origin,
        spans=record.spans,
        labels=record.labels,
        relations=record.relations,
        attributes=record.attributes,
        sections=record.sections,
        items=record.items,
        provenance=kept,
    )


def _write_data(
    use_case: UseCase,
    by_split: dict[str, list[Record]],
    texts: dict[str, str],
    extra: dict[str, dict[str, Any]],
    data: Path,
) -> None:
    used = ("spans", "labels", "relations", "attributes", "sections", "items")
    fields = [f for f in used if any(getattr(r, f) for rs in by_split.values() for r in rs)]
    for split, records in by_split.items():
        write_jsonl(records, texts, data / f"{split}.jsonl", extra)
        write_parquet(records, texts, data / f"{split}.parquet", extra, fields=fields or None)
        if use_case.kind == "spans":
            write_brat(records, texts, data / "brat" / split)
            write_conll(records, texts, data / "conll" / f"{split}.conll")


def _label_counts(by_split: dict[str, list[Record]]) -> dict[str, dict[str, int]]:
    return {
        split: dict(sorted(Counter(lb for r in rs for lb in _strata_all(r)).items()))
        for split, rs in by_split.items()
    }


def _strata_all(record: Record) -> list[str]:
    return [s.label for s in record.spans] + list(record.labels)


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseRefused(f"git {' '.join(args)} failed: {done.stderr.strip()[:300]}")
    return done.stdout.strip()


def _dvc(*args: str) -> None:
    done = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseRefused(f"dvc {' '.join(args)} failed: {done.stderr.strip()[:300]}")


def _provenance(use_case: UseCase, params: Params, baselines: dict[str, str]) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    store = Path(params.push.store)
    projects = json.loads(store.read_text()) if store.exists() else {}
    origins = {}
    for name, path in baselines.items():
        first = next(iter(read_records(path)), None) if Path(path).exists() else None
        origins[f"baseline {name}"] = first.origin if first else None
    return {
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": commit.stdout.strip() or None,
        "use_case_declaration": use_case.version,
        "label_studio_projects": {
            key: pid
            for server in projects.values()
            for key, pid in server.items()
            if key.startswith(f"{use_case.id}@")
        },
        "params_sha256": manifest.file_sha256(Path("params.yaml"))
        if Path("params.yaml").exists()
        else None,
        **origins,
    }


def run(use_case_id: str, version: str, params: Params, *, tag: bool = False) -> ReleaseSummary:
    """Release gold of ``use_case_id`` as ``version``; see the module docstring."""
    use_case, settings = get(use_case_id), params.release
    versioning.parse(version)
    folder = paths.benchmark_dir(use_case_id)
    quality = check_gates(use_case_id)
    gold = list(read_records(paths.gold(use_case_id)))
    if not gold:
        raise ReleaseRefused(f"{paths.gold(use_case_id)}: no gold; adjudicate first")
    documents, texts = load_documents(use_case, params)
    rows = documents.set_index("doc_id")
    missing = [r.doc_id for r in gold if r.doc_id not in texts]
    if missing:
        raise InputError(f"gold doc_ids {missing[:5]} are not in the document table")
    before, previous = previous_release(folder)
    patients = {d: None if p is None else str(p) for d, p in rows["patient_id"].items()}
    units = [SplitUnit(r.doc_id, patients[r.doc_id], _strata(r)) for r in gold]
    splits = assign_splits(units, settings.ratios, settings.seed, previous)
    changes = split_changes(previous, splits)
    by_split: dict[str, list[Record]] = {s: [] for s in settings.ratios}
    for record in gold:
        by_split[splits[record.doc_id]].append(_released(record))
    extra = {
        doc_id: {
            "patient_id": rows.at[doc_id, "patient_id"],
            "doc_type": rows.at[doc_id, "doc_type"],
        }
        for doc_id in splits
    }
    with tempfile.TemporaryDirectory(dir=folder.parent if folder.parent.exists() else None) as tmp:
        staging = Path(tmp)
        data = staging / "data"
        _write_data(use_case, by_split, texts, extra, data)
        new_manifest = manifest.build(staging)
        previous_version = before["version"] if before else None
        if before is not None and previous_version == version:
            old = json.loads((folder / "manifest.json").read_text())
            if old.get("files") == new_manifest["files"]:
                done = ReleaseSummary(use_case_id, version, folder, unchanged=True)
                if tag:
                    done.tag = _tag(folder, use_case_id, version)
                return done
            raise ReleaseRefused(
                f"{use_case_id} v{version} is released already with other data; "
                "release a new version"
            )
        labels_changed = before is not None and before.get("labels") != list(use_case.labels)
        data_changed = bool(changes["added"] or changes["removed"] or changes["moved"])
        if before is not None:
            data_changed = data_changed or before.get("data_sha256") != _digest(new_manifest)
        required = versioning.required_bump(changes, labels_changed, data_changed)
        try:
            versioning.check_version(version, previous_version, required)
        except ValueError as exc:
            raise ReleaseRefused(str(exc)) from None
        try:
            validation = validate(
                "benchmark",
                use_case_id,
                params,
                source=data,
                output=paths.quality_dir(use_case_id) / "benchmark.json",
            )
        except ValidationFailed as exc:
            raise ReleaseRefused(f"the released splits fail the benchmark gate:\n{exc}") from None
        quality["validate benchmark"] = validation.success
        summary = ReleaseSummary(use_case_id, version, folder, changes=changes)
        baseline_files = {
            name: Path(path.format(use_case=use_case_id))
            for name, path in settings.baselines.items()
        }
        scored, errors = _baselines(use_case, by_split.get("test", []), baseline_files, data)
        summary.baselines = {
            k: v.get("strict", {}).get("micro", {}).get("f1") for k, v in scored.items()
        }
        new_manifest = manifest.build(staging)
        _install(folder, staging)
    summary.splits = {s: len(rs) for s, rs in by_split.items()}
    agreement = _read_json(paths.quality_dir(use_case_id) / "agreement.json")
    provenance = _provenance(use_case, params, {k: str(v) for k, v in baseline_files.items()})
    entry = _changelog_entry(version, previous_version, changes, summary.splits)
    info = {
        "use_case": use_case_id,
        "version": version,
        "previous_version": previous_version,
        "labels": list(use_case.labels),
        "splits": summary.splits,
        "data_sha256": _digest(new_manifest),
        "changes": changes,
        "required_bump": required,
        "provenance": provenance,
    }
    (folder / "splits.json").write_text(json.dumps(splits, indent=1, sort_keys=True) + "\n")
    (folder / "release.json").write_text(json.dumps(info, indent=2) + "\n")
    manifest.write(folder, new_manifest)
    _write_baselines(folder, scored)
    annotators = len(agreement.get("annotators", {})) if agreement else 0
    card_text = card.render(
        card.CardData(
            use_case=use_case,
            version=version,
            splits=summary.splits,
            label_counts=_label_counts(by_split),
            annotators=annotators,
            agreement=agreement,
            quality=quality,
            provenance=provenance,
            license=settings.license,
            baselines=summary.baselines,
            limitations=settings.limitations,
            changelog=entry,
        )
    )
    (folder / "README.md").write_text(card_text, encoding="utf-8")
    changelog = folder / "CHANGELOG.md"
    history = changelog.read_text(encoding="utf-8") if changelog.exists() else "# Changelog\n"
    head, _, rest = history.partition("\n")
    changelog.write_text(f"{head}\n\n## v{version}\n\n{entry}\n{rest}", encoding="utf-8")
    render_report(
        ReportData(
            use_case=use_case_id,
            version=version,
            description=use_case.description,
            provenance=provenance,
            splits=summary.splits,
            label_counts=_label_counts(by_split),
            agreement=agreement,
            quality={
                stage: r
                for stage in (*GATES, "benchmark")
                if (r := _read_json(paths.quality_dir(use_case_id) / f"{stage}.json"))
            },
            baselines=scored,
            errors=errors,
            changelog={"previous_version": previous_version, **changes},
            limitations=settings.limitations,
        ),
        folder / "report" / "index.html",
    )
    _track(folder, settings.remote)
    if tag:
        summary.tag = _tag(folder, use_case_id, version)
    return summary


def _digest(built: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(built["files"], sort_keys=True).encode("utf-8")).hexdigest()


def _baselines(
    use_case: UseCase, test: list[Record], files: dict[str, Path], data: Path
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    scored: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    wanted = {r.doc_id for r in test}
    for name, path in files.items():
        if not path.exists() or not test:
            continue
        predicted = [r for r in read_records(path) if r.doc_id in wanted]
        target = data / "baselines" / f"{name}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(r.to_json() + "\n" for r in predicted), encoding="utf-8")
        scored[name], found = score_baseline(use_case, test, predicted, name)
        errors += found
    return scored, errors


def _write_baselines(folder: Path, scored: dict[str, dict[str, Any]]) -> None:
    out = folder / "baselines"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, metrics in scored.items():
        (out / f"{name}.json").write_text(json.dumps(metrics, indent=2) + "\n")
        rows = per_label_rows(metrics)
        (out / f"{name}_per_label.json").write_text(json.dumps(rows, indent=2) + "\n")
        if "confusion" in metrics:
            labels, matrix = metrics["confusion"]["labels"], metrics["confusion"]["matrix"]
            cells = [
                {"actual": a, "predicted": p}
                for i, a in enumerate(labels)
                for j, p in enumerate(labels)
                for _ in range(matrix[i][j])
            ]
            (out / f"{name}_confusion.json").write_text(json.dumps(cells) + "\n")


def _install(folder: Path, staging: Path) -> None:
    """Replace the release's data with the staged files."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    if data.exists():
        shutil.rmtree(data)
    shutil.move(str(staging / "data"), str(data))


def _track(folder: Path, push: bool) -> None:
    """``dvc add`` the data folder (and push it to the default remote when asked)."""
    if not Path(".dvc").exists():
        return
    _dvc("add", "-q", str(folder / "data"))
    if push and subprocess.run(["dvc", "remote", "default"], capture_output=True).returncode == 0:
        _dvc("push", "-q", str(folder / "data.dvc"))


def _tag(folder: Path, use_case_id: str, version: str) -> str:
    """Commit the release folder (and ``dvc.lock``) and tag it; an existing tag is kept."""
    name = f"{use_case_id}@v{version}"
    if (
        subprocess.run(
            ["git", "rev-parse", "-q", "--verify", f"refs/tags/{name}"], capture_output=True
        ).returncode
        == 0
    ):
        return name
    _git("add", str(folder))
    staged = subprocess.run(["git", "diff", "--cached", "--quiet"]).returncode != 0
    if staged:
        _git("commit", "-q", "-m", f"Release {use_case_id} v{version}")
    _git("tag", "-a", name, "-m", f"{use_case_id} benchmark v{version}")
    return name


def _changelog_entry(
    version: str, previous: str | None, changes: dict[str, Any], splits: dict[str, int]
) -> str:
    if previous is None:
        sizes = ", ".join(f"{k} {v}" for k, v in splits.items())
        return f"First release ({sizes} documents)."
    lines = [f"Since v{previous}:"]
    for kind in ("added", "removed"):
        for split, ids in changes.get(kind, {}).items():
            lines.append(f"- {len(ids)} documents {kind} ({split})")
    for split, moved in changes.get("moved", {}).items():
        lines.append(f"- {len(moved)} documents moved out of {split}")
    touched = "touched" if changes.get("test_touched") else "untouched"
    lines.append(f"- test split {touched}")
    return "\n".join(lines)


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
