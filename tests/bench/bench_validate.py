"""Throughput of ``validate`` on predictions: the records and spans suites on a million spans.

Not a test (pytest does not collect it):
``python tests/bench/bench_validate.py --spans 1000000 --documents 10000``.
Builds synthetic documents (``Patient : Jean DUPONT, né le 12/03/1950, tél …`` sentences) and
one prediction record per document, plants one defect per expectation of the two suites, and
validates the tables as ``curation validate preannotations`` does (:func:`run_checks` with the
stage's index columns), without Data Docs and then with Data Docs into a temporary folder.
Prints the time to build the records and the tables, the validation time and spans/s, the peak
resident memory (and, with ``--tracemalloc``, Python's peak allocation), and each failed
expectation beside the defect planted for it: the counts must match (exit status 1 if not).
GX draws its progress bars on stderr: ``2>/dev/null`` keeps the figures alone.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curation.quality import frames
from curation.quality.validation import Check, ValidationReport, run_checks
from curation.schema import Record, Span
from curation.stages.validate import RECORD_INDEX, SPAN_INDEX
from curation.usecases.pseudonymisation import LABELS

USE_CASE = "pseudonymisation"
FIRST = ("Jean", "Claire", "Paul", "Marie", "Louis", "Sophie", "Hugo", "Camille")
LAST = ("DUPONT", "MARTIN", "LEROY", "MOREAU", "FOURNIER", "GIRARD", "BONNET", "LAMBERT")

#: (suite, expectation, target) -> rows each planted defect must make fail.
PLANTED: dict[tuple[str, str, str], int] = {
    ("records", "expect_column_values_to_not_be_null", "doc_length"): 1,
    ("records", "expect_column_values_to_be_in_set", "use_case"): 1,
    ("records", "expect_column_values_to_be_unique", "key"): 2,
    ("spans", "expect_column_values_to_be_between", "start"): 1,
    ("spans", "expect_column_pair_values_a_to_be_greater_than_b", "end, start"): 1,
    ("spans", "expect_column_pair_values_a_to_be_greater_than_b", "doc_length, end"): 1,
    ("spans", "expect_span_text_to_match_document", "start, end, text, doc_text"): 1,
    ("spans", "expect_column_values_to_be_in_set", "label"): 1,
    ("spans", "expect_column_values_to_be_between", "score"): 1,
    ("spans", "expect_spans_not_to_overlap", "record, start, end"): 1,
}


def sentence(n: int) -> tuple[str, list[tuple[int, int, str]]]:
    """One synthetic sentence and its spans ``(start, end, label)``; ``n`` varies the values."""
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    date = f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1930 + n % 70}"
    phone = f"06 {n % 100:02d} {n // 100 % 100:02d} 56 78"
    parts = ["Patient : ", first, " ", last, ", né le ", date, ", tél ", phone, ". "]
    labels = {1: "PRENOM", 3: "NOM", 5: "DATE_NAISSANCE", 7: "TEL"}
    text, spans = "", []
    for i, part in enumerate(parts):
        if i in labels:
            spans.append((len(text), len(text) + len(part), labels[i]))
        text += part
    return text, spans


def build(documents: int, n_spans: int) -> tuple[dict[str, str], list[Record]]:
    """Texts and one clean prediction record per document, ``n_spans`` spans in all."""
    per_doc = -(-n_spans // documents)  # spans per document, rounded up
    texts: dict[str, str] = {}
    records: list[Record] = []
    left = n_spans
    for d in range(documents):
        doc_id = f"doc-{d:07d}"
        text, spans = "", list[Span]()
        n = 0
        while len(spans) < min(per_doc, left):
            piece, found = sentence(d * 31 + n)
            spans += [
                Span(len(text) + a, len(text) + b, label, piece[a:b], 0.9) for a, b, label in found
            ]
            text += piece
            n += 1
        spans = spans[: min(per_doc, left)]
        left -= len(spans)
        texts[doc_id] = text
        records.append(Record(doc_id, USE_CASE, "rules-v1", spans=spans))
    return texts, records


def plant(texts: dict[str, str], records: list[Record]) -> None:
    """One defect per expectation of :data:`PLANTED`, in distinct documents."""
    records.append(Record("doc-missing", USE_CASE, "rules-v1"))  # no such document
    records[1].use_case = "oncology_response"
    records.append(Record(records[2].doc_id, USE_CASE, "rules-v2"))  # a second prediction
    first = records[3].spans[0]
    records[3].spans[0] = Span(-1, first.end, first.label, texts[records[3].doc_id][-1 : first.end])
    first = records[4].spans[0]
    records[4].spans[0] = Span(first.start, first.start, first.label, "")
    last = records[5].spans[-1]
    text = texts[records[5].doc_id]
    records[5].spans[-1] = Span(last.start, len(text) + 3, last.label, text[last.start :])
    records[6].spans[1] = Span(**{**records[6].spans[1].to_dict(), "text": "DUPOND"})
    records[7].spans[1].label = "PATIENT"
    records[8].spans[1].score = 1.7
    tel = records[9].spans[3]  # a piece of the phone number, as its own span
    records[9].spans.insert(3, Span(tel.start, tel.start + 2, "TEL", tel.text[:2]))


def rss_mib() -> float:
    """Peak resident memory of this process so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label: str, figures: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    figures[label] = time.perf_counter() - started


def found_failures(report: ValidationReport) -> dict[tuple[str, str, str], int | None]:
    return {(o.suite, o.expectation, o.target): o.unexpected_count for o in report.failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--no-data-docs", action="store_true", help="skip the Data Docs run")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace Python allocations (much slower)"
    )
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()
    figures: dict[str, float] = {}
    with timed("records", figures):
        texts, records = build(args.documents, args.spans)
        plant(texts, records)
    loaded = frames.LoadedRecords()
    for line, record in enumerate(records, 1):
        loaded.add(line, record, record.doc_id)
    with timed("tables", figures):
        checks = [
            Check(
                "records", frames.records_frame(loaded, texts), RECORD_INDEX, stage="preannotations"
            ),
            Check("spans", frames.spans_frame(loaded, texts), SPAN_INDEX, stage="preannotations"),
        ]
    n_spans = len(checks[1].frame)
    chars = sum(len(t) for t in texts.values())
    print(
        f"{len(texts):,} documents ({chars:,} characters), {len(records):,} records, "
        f"{n_spans:,} spans (doc_text column: {checks[1].frame['doc_text'].dtype} dtype)"
    )
    print(f"{'step':<28} {'seconds':>8} {'spans/s':>12} {'peak RSS so far':>16}")
    print(f"{'build records (Record/Span)':<28} {figures['records']:>8.2f} {'':>12} {'':>16}")
    print(
        f"{'build tables (frames)':<28} {figures['tables']:>8.2f} {'':>12} {rss_mib():>12,.0f} MiB"
    )

    parameters = {"labels": list(LABELS), "use_cases": [USE_CASE]}
    small = frames.LoadedRecords()
    for line, record, record_key in list(loaded)[:3]:
        small.add(line, record, record_key)
    run_checks(  # warm-up: GX's first checkpoint pays for imports and registrations
        [Check("spans", frames.spans_frame(small, texts), SPAN_INDEX)], parameters
    )
    runs: list[tuple[str, str | None]] = [("validate", None)]
    if not args.no_data_docs:
        runs.append(("validate + Data Docs", "docs"))
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, docs in runs:
            with timed(label, figures):
                report = run_checks(
                    checks, parameters, data_docs=Path(tmp) / docs if docs else None
                )
            reports.append(report)
            seconds = figures[label]
            print(
                f"{label:<28} {seconds:>8.2f} {n_spans / seconds:>12,.0f} {rss_mib():>12,.0f} MiB"
            )
    total = figures["records"] + figures["tables"] + figures["validate"]
    print(f"{'build + validate, in all':<28} {total:>8.2f} {n_spans / total:>12,.0f}")
    if args.tracemalloc:
        print(f"tracemalloc peak: {tracemalloc.get_traced_memory()[1] / 2**20:,.0f} MiB")

    found = found_failures(reports[0])
    print(f"\n{'suite':<8} {'expectation on target':<72} {'planted':>7} {'found':>7}")
    for key in sorted(set(PLANTED) | set(found)):
        suite, expectation, target = key
        print(
            f"{suite:<8} {expectation + ' on ' + target:<72} {PLANTED.get(key, '-')!s:>7} "
            f"{found.get(key, '-')!s:>7}"
        )
    same = all(found_failures(r) == PLANTED for r in reports)
    print(
        f"failures found: {len(found)} of {len(PLANTED)} planted; "
        f"{'all match' if same else 'MISMATCH'}"
    )
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
