"""How right the label-noise flags are, against the synthetic answer key (after `make run`).

The simulated annotators perturb the answer key, so every deviation of the adjudicated gold
from the key is a known error. This script reads ``data/gold/<use_case>.jsonl``, the key and
``reports/quality/<use_case>/label_noise.json`` and prints the precision of the flags (a flag
is right when the gold is wrong there) and their recall (share of the gold's errors flagged).

    python tests/bench/bench_label_noise.py [--use-case pseudonymisation]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from curation import paths
from curation.io import read_records

Key = tuple[int, int, str]


def spans_by_doc(path: Path) -> dict[str, set[Key]]:
    return {r.doc_id: {(s.start, s.end, s.label) for s in r.spans} for r in read_records(path)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-case", default="pseudonymisation")
    parser.add_argument("--answer-key", type=Path, default=None)
    args = parser.parse_args()
    uc = args.use_case
    key = spans_by_doc(args.answer_key or paths.answer_key(uc))
    gold = spans_by_doc(paths.gold(uc))
    report = json.loads((paths.quality_dir(uc) / "label_noise.json").read_text())
    wrong = {(d, s) for d, spans in gold.items() for s in spans if s not in key.get(d, set())}
    missed = {
        (d, s)
        for d, spans in gold.items()
        for s in key.get(d, set())
        if not any(g[0] < s[1] and s[0] < g[1] and g[2] == s[2] for g in spans)
    }
    right, hit = 0, set()
    for flag in report["flags"]:
        doc, start, end = flag["doc_id"], flag["start"], flag["end"]
        if flag["kind"] in ("relabel", "spurious"):
            found = {(doc, (start, end, flag["gold"]))} & wrong
        else:
            found = {(d, s) for d, s in missed if d == doc and s[0] < end and start < s[1]}
        right += bool(found)
        hit |= found
    errors = len(wrong) + len(missed)
    flags = len(report["flags"])
    print(f"{uc}: {len(gold)} gold documents, {sum(map(len, gold.values()))} gold spans")
    print(f"  gold errors vs the answer key: {len(wrong)} wrong spans, {len(missed)} missed spans")
    print(f"  flags: {flags}; precision {right / flags:.3f}" if flags else "  no flag")
    print(f"  recall of gold errors: {len(hit) / errors:.3f} ({len(hit)} of {errors})")


if __name__ == "__main__":
    main()
