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
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation import paths
from curation.io import InputError, file_sha256, read_records
from curation.metrics.summary import headline, main_scores
from curation.release import ReleaseRefused, card, manifest, publish, versioning
from curation.release.baselines import score_files, write_reports
from curation.release.formats import write_brat, write_conll, write_jsonl, write_parquet
from curation.release.report import ReportData, render_report
from curation.release.splits import SplitUnit, assign_splits, split_changes
from curation.schema import Record
from curation.settings import Params
from curation.stages.validate import ValidationFailed, load_documents
from curation.stages.validate import run as validate
from curation.usecases import get
from curation.usecases.base import UseCase

GATES = ("documents", "annotations", "gold")


@dataclass(slots=True)
class ReleaseSummary:
    use_case: str
    version: str
    folder: Path
    splits: dict[str, int] = field(default_factory=dict)
    unchanged: bool = False
    baselines: dict[str, float | None] = field(default_factory=dict)
    headline: str = "micro F1"  # what the baselines' figure measures (summary.headline)
    tag: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        if self.unchanged:
            tagged = f" (tag {self.tag})" if self.tag else ""
            return f"release {self.use_case} v{self.version}: already released{tagged}, unchanged"
        sizes = ", ".join(f"{k} {v}" for k, v in self.splits.items())
        lines = [f"released {self.use_case} v{self.version} -> {self.folder} ({sizes})"]
        lines += [f"  baseline {k}: {self.headline} {v} (test)" for k, v in self.baselines.items()]
        lines.append(f"  report: {self.folder / 'report' / 'index.html'}")
        lines.append(
            f"  tagged {self.tag}"
            if self.tag
            else f"  to publish: git add {self.folder} && git commit && "
            f"git tag {self.use_case}@v{self.version} (or release again with --tag)"
        )
        return "\n".join(lines)


def check_gates(use_case_id: str) -> dict[str, bool]:
    """The gold's quality gates; raises :class:`ReleaseRefused` when one failed, is missing,
    or validated another version of its file than the one there now."""
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
        source = Path(str(results.get("source", "")))
        digest = results.get("source_sha256")
        if digest and source.is_file() and file_sha256(source) != digest:
            raise ReleaseRefused(
                f"{source} changed after its {stage} validation; run `dvc repro` to validate it"
            )
        passed[f"validate {stage}"] = True
    return passed


def previous_release(
    folder: Path,
) -> tuple[dict[str, Any] | None, dict[str, str], dict[str, str]]:
    """The previous release's ``release.json``, its splits and the splits of documents it no
    longer held (``retired``: a document that comes back returns to its split)."""
    info, splits = folder / "release.json", folder / "splits.json"
    if not info.exists():
        return None, {}, {}
    before = json.loads(info.read_text())
    current = json.loads(splits.read_text()) if splits.exists() else {}
    return before, current, dict(before.get("retired_splits", {}))


def test_digest(records: list[Record], texts: dict[str, str]) -> str:
    """SHA-256 of the test split's content (texts and results, not origin or provenance): a
    corrected label in the test split changes it, so the next version must be a major one."""
    rows = [
        {**_released(r).to_dict(), "origin": None, "provenance": None, "text": texts[r.doc_id]}
        for r in sorted(records, key=lambda r: r.doc_id)
    ]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()


def _patient_groups(splits: dict[str, str], patients: dict[str, str | None]) -> dict[str, str]:
    """A released patient group per document: an index, never the hospital's patient id."""
    numbers: dict[str, str] = {}
    out = {}
    for doc_id in sorted(splits):
        key = patients.get(doc_id) or f"doc:{doc_id}"
        numbers.setdefault(key, f"patient-{len(numbers) + 1:05d}")
        out[doc_id] = numbers[key]
    return out


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
    """Document labels where the record has them (evidence spans repeat them), else spans'."""
    return list(record.labels) or [s.label for s in record.spans]


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
    before, previous, retired = previous_release(folder)
    patients: dict[str, str | None] = {
        str(d): None if p is None else str(p) for d, p in rows["patient_id"].items()
    }
    units = [SplitUnit(r.doc_id, patients[r.doc_id], _strata(r)) for r in gold]
    splits = assign_splits(units, settings.ratios, settings.seed, {**retired, **previous})
    changes = split_changes(previous, splits)
    retired = {d: s for d, s in {**retired, **previous}.items() if d not in splits}
    by_split: dict[str, list[Record]] = {s: [] for s in settings.ratios}
    for record in gold:
        by_split[splits[record.doc_id]].append(_released(record))
    groups = _patient_groups(splits, patients)
    extra = {
        doc_id: {"patient_group": groups[doc_id], "doc_type": rows.at[doc_id, "doc_type"]}
        for doc_id in splits
    }
    test_sha256 = test_digest(by_split.get("test", []), texts)
    with tempfile.TemporaryDirectory(dir=folder.parent if folder.parent.exists() else None) as tmp:
        staging = Path(tmp)
        data = staging / "data"
        _write_data(use_case, by_split, texts, extra, data)
        baseline_files = {
            name: Path(path.format(use_case=use_case_id))
            for name, path in settings.baselines.items()
        }
        scored, errors = score_files(use_case, by_split.get("test", []), baseline_files, data)
        new_manifest = manifest.build(staging)
        previous_version = before["version"] if before else None
        if before is not None and previous_version == version:
            old = json.loads((folder / "manifest.json").read_text())
            if old.get("files") == new_manifest["files"]:
                done = ReleaseSummary(use_case_id, version, folder, unchanged=True)
                publish.track(folder, settings.remote)  # finishes a release cut off before
                if tag:
                    done.tag = publish.tag(folder, use_case_id, version)
                return done
            raise ReleaseRefused(
                f"{use_case_id} v{version} is released already with other data; "
                "release a new version"
            )
        labels_changed = before is not None and before.get("labels") != list(use_case.labels)
        data_changed = bool(changes["added"] or changes["removed"] or changes["moved"])
        if before is not None:
            data_changed = data_changed or before.get("data_sha256") != publish.digest(new_manifest)
        if before is not None and before.get("test_sha256") not in (None, test_sha256):
            changes["test_touched"] = True  # same documents, other content (labels fixed)
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
                source_name=str(folder / "data"),
            )
        except ValidationFailed as exc:
            raise ReleaseRefused(f"the released splits fail the benchmark gate:\n{exc}") from None
        quality["validate benchmark"] = validation.success
        summary = ReleaseSummary(use_case_id, version, folder, changes=changes)
        summary.baselines = {k: main_scores(v).get("f1") for k, v in scored.items()}
        summary.headline = next((headline(v) for v in scored.values()), summary.headline)
        _install(folder, staging)
    summary.splits = {s: len(rs) for s, rs in by_split.items()}
    agreement = _read_json(paths.quality_dir(use_case_id) / "agreement.json")
    provenance = publish.provenance(
        use_case, params, {k: str(v) for k, v in baseline_files.items()}
    )
    entry = versioning.changelog_entry(version, previous_version, changes, summary.splits)
    info = {
        "use_case": use_case_id,
        "version": version,
        "previous_version": previous_version,
        "labels": list(use_case.labels),
        "splits": summary.splits,
        "data_sha256": publish.digest(new_manifest),
        "test_sha256": test_sha256,
        "retired_splits": retired,
        "changes": changes,
        "required_bump": required,
        "provenance": provenance,
    }
    (folder / "splits.json").write_text(json.dumps(splits, indent=1, sort_keys=True) + "\n")
    manifest.write(folder, new_manifest)
    write_reports(folder, scored)
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
            headline=summary.headline,
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
    publish.track(folder, settings.remote)
    # written last: a release cut off before this point is not one, and runs again in full
    (folder / "release.json").write_text(json.dumps(info, indent=2) + "\n")
    if tag:
        summary.tag = publish.tag(folder, use_case_id, version)
    return summary


def _install(folder: Path, staging: Path) -> None:
    """Replace the release's data with the staged files."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    if data.exists():
        shutil.rmtree(data)
    shutil.move(str(staging / "data"), str(data))


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
