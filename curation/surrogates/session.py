"""The bookkeeping of a pseudonymisation run: counts, atomic outputs, per-document work.

Shared by the ``pseudonymise`` stage and its file mode. Counts only: a summary never holds
text, originals or surrogates, and logs name doc_ids and files.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from curation.io import record_from_dict
from curation.schema import Record, Span
from curation.surrogates.pseudonymiser import PseudonymisedText, Pseudonymiser
from curation.surrogates.records import RemapCounts, remap_record
from curation.usecases.pseudonymisation import USE_CASE

logger = logging.getLogger("curation.stages.pseudonymise")

#: What to do with a document that has no prediction record.
MissingPrediction = Literal["error", "pass_through"]


class PseudonymiseError(ValueError):
    """The inputs cannot be pseudonymised; the message names the file and doc_id."""


@dataclass(slots=True)
class PseudonymiseSummary:
    """Counts of one run (never text, originals or surrogates)."""

    output: str
    spans: str
    mapping: str
    documents: int = 0
    patients: int = 0
    documents_with_spans: int = 0
    passed_through: int = 0
    spans_replaced: Counter[str] = field(default_factory=Counter)
    unparsable_dates: int = 0
    merged_overlaps: int = 0
    created_at_shifted: int = 0
    created_at_cleared: int = 0
    orphan_predictions: int = 0
    reoffset: dict[str, RemapCounts] = field(default_factory=dict)
    seconds: float = 0.0

    def render(self) -> str:
        """A few lines for the terminal."""
        replaced = sum(self.spans_replaced.values())
        lines = [
            f"pseudonymise: {self.documents} documents ({self.patients} patients), "
            f"{replaced} spans replaced in {self.documents_with_spans} documents "
            f"in {self.seconds:.1f} s -> {self.output}",
            "  by label: "
            + (", ".join(f"{k} {v}" for k, v in sorted(self.spans_replaced.items())) or "none"),
            f"  unparsable dates {self.unparsable_dates} (random date of the same shape), "
            f"overlapping spans merged {self.merged_overlaps}",
        ]
        if self.created_at_shifted or self.created_at_cleared:
            lines.append(
                f"  created_at shifted {self.created_at_shifted}, "
                f"cleared (not an ISO date) {self.created_at_cleared}"
            )
        if self.passed_through:
            lines.append(f"  WARNING {self.passed_through} documents without prediction copied")
        if self.orphan_predictions:
            lines.append(f"  {self.orphan_predictions} predictions of unknown doc_ids ignored")
        for path, c in self.reoffset.items():
            lines.append(
                f"  re-offset {path}: {c.records} records, {c.spans_mapped} spans moved, "
                f"{c.spans_replaced} now surrogates, {c.conflicts} conflicts dropped "
                f"({c.relations_dropped} relations, {c.attributes_dropped} attributes), "
                f"{c.texts_rewritten} texts rewritten, {c.orphans} orphan records"
            )
        lines.append(f"  spans {self.spans}; secret mapping {self.mapping} (never release)")
        return "\n".join(lines)


class AtomicOutputs:
    """Files written beside their targets, moved in place only when the run succeeds."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._pending: list[tuple[Path, Path]] = []
        self._handles: list[IO[str]] = []

    def temporary(self, target: str | Path, *, secret: bool = False) -> Path:
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if secret else 0o777)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        self._pending.append((tmp, target))
        self._stack.callback(tmp.unlink, missing_ok=True)
        return tmp

    def text(self, target: str | Path, *, secret: bool = False) -> IO[str]:
        tmp = self.temporary(target, secret=secret)
        if secret:  # the mapping is readable by its owner only
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            handle = open(fd, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        else:
            handle = tmp.open("w", encoding="utf-8", newline="\n")
        self._handles.append(self._stack.enter_context(handle))
        return handle

    def publish(self) -> None:
        """Close the text files and move every output in place (Parquet closed by caller)."""
        for handle in self._handles:
            handle.close()
        for tmp, target in self._pending:
            os.replace(tmp, target)


class Session:
    """The per-document work shared by the stage and the file mode: pseudonymise, count.

    Parameters
    ----------
    pseudo
        The pseudonymiser (holds the key).
    summary
        Where the counts go.
    on_missing_prediction
        ``error`` (refuse a document without prediction) or ``pass_through``.
    shift_created_at
        Move ``created_at`` by the patient's date offset.
    rewrite_generated_text
        Replace originals in the sections and items of carried-over records.
    """

    def __init__(
        self,
        pseudo: Pseudonymiser,
        summary: PseudonymiseSummary,
        *,
        on_missing_prediction: MissingPrediction = "error",
        shift_created_at: bool = True,
        rewrite_generated_text: bool = True,
    ) -> None:
        self.pseudo = pseudo
        self.summary = summary
        self.on_missing_prediction = on_missing_prediction
        self.shift_created_at = shift_created_at
        self.rewrite_generated_text = rewrite_generated_text
        self._patients: set[str] = set()

    def document(
        self, doc_id: str, text: str, patient_id: str | None, spans: list[Span]
    ) -> PseudonymisedText:
        out = self.pseudo.pseudonymise(text, spans, doc_id=doc_id, patient_id=patient_id)
        s = self.summary
        s.documents += 1
        self._patients.add(patient_id or f"\x00{doc_id}")
        s.patients = len(self._patients)
        s.documents_with_spans += bool(out.spans)
        s.spans_replaced.update(span.label for span in out.spans)
        s.unparsable_dates += out.unparsable_dates
        s.merged_overlaps += out.merged_overlaps
        return out

    def passed_through(self, doc_id: str, where: str) -> None:
        if self.on_missing_prediction == "error":
            raise PseudonymiseError(
                f"doc_id {doc_id!r} has no record in {where}: run the detector on it, or set "
                "pseudonymise.on_missing_prediction: pass_through to copy it unchanged"
            )
        logger.warning("pseudonymise: doc_id %s has no prediction, copied unchanged", doc_id)
        self.summary.documents += 1
        self.summary.passed_through += 1

    def created_at(self, value: str | None, doc_id: str, patient_id: str | None) -> str | None:
        """``created_at`` moved by the patient's offset (cleared when it is not ISO)."""
        if value is None or not self.shift_created_at:
            return value
        shifted = self.pseudo.shift_timestamp(value, doc_id=doc_id, patient_id=patient_id)
        if shifted is None:
            self.summary.created_at_cleared += 1
        else:
            self.summary.created_at_shifted += 1
        return shifted

    def prediction_spans(self, found: list[tuple[int, dict[str, Any]]], where: Path) -> Record:
        line_no, data = found[0]
        record = record_from_dict(data, f"{where}:{line_no}")
        if record.use_case != USE_CASE.id:
            raise PseudonymiseError(
                f"{where}:{line_no}: use_case {record.use_case!r}, expected {USE_CASE.id!r}"
            )
        return record

    def remap(
        self, found: list[tuple[int, dict[str, Any]]], out: PseudonymisedText | None, where: Path
    ) -> Iterator[Record]:
        counts = self.summary.reoffset.setdefault(str(where), RemapCounts())
        rewrite = out.rewriter() if out is not None and self.rewrite_generated_text else None
        for line_no, data in found:
            record = record_from_dict(data, f"{where}:{line_no}")
            if out is None:  # document passed through: offsets unchanged
                counts.records += 1
                counts.spans_mapped += len(record.spans)
                yield record
                continue
            moved, c = remap_record(record, out.offsets, rewrite)
            counts.add(c)
            if c.conflicts:
                logger.info(
                    "re-offset %s: doc_id %s, %d conflicts", where, record.doc_id, c.conflicts
                )
            yield moved
