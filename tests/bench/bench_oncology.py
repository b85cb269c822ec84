"""Benchmark of the oncology pre-annotator: rules alone vs rules + model on held-out synthetic
pathology reports and RCP forms.

Prints strict/partial F1 per label, relation F1 (a ``has_result`` pair counts when both its
spans match the gold ones exactly), status accuracy (over gold results found exactly),
flag F1 (negated, hypothetical, family, over spans found exactly) and documents per second.
The held-out corpus has its own seed, and by default the noise of ``params.yaml`` (typos,
case, OCR), which is what rules find hard and the model is for.

Usage::

    python tests/bench/bench_oncology.py --n-documents 400 --seed 7
    python tests/bench/bench_oncology.py --clean            # without noise
    python tests/bench/bench_oncology.py --model-dir models/oncology_extraction
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curation.metrics.spans import score_spans
from curation.models.oncology.extractor import OncologyExtractor, build_extractor
from curation.schema import Record
from curation.settings import GenerateSettings, NoiseSettings, PreannotateSettings, load_params
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases import get

USE_CASE = get("oncology_extraction")
FLAGS = ("negated", "hypothetical", "family")


def held_out(n: int, seed: int, noise: NoiseSettings) -> tuple[list[tuple[str, str]], list[Record]]:
    settings = GenerateSettings(
        seed=seed, n_documents=n, doc_types=list(USE_CASE.doc_types), noise=noise
    )
    docs, gold = [], []
    for item in generate_documents(settings):
        if USE_CASE.id in item.records:
            docs.append((item.document.doc_id, item.document.text))
            gold.append(item.records[USE_CASE.id])
    return docs, gold


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def structure_scores(gold: Sequence[Record], predicted: Sequence[Record]) -> dict[str, Any]:
    """Relation F1, status accuracy and flag F1 over exactly matched spans."""
    by_id = {r.doc_id: r for r in predicted}
    rel = [0, 0, 0]
    status_ok = status_n = 0
    flags = {f: [0, 0, 0] for f in FLAGS}
    for g in gold:
        p = by_id.get(g.doc_id, Record(g.doc_id, USE_CASE.id, "none"))
        key = lambda r, i: (r.spans[i].start, r.spans[i].end, r.spans[i].label)  # noqa: E731
        g_rel = {(key(g, x["from"]), key(g, x["to"])) for x in g.relations}
        p_rel = {(key(p, x["from"]), key(p, x["to"])) for x in p.relations}
        rel[0] += len(g_rel & p_rel)
        rel[1] += len(p_rel - g_rel)
        rel[2] += len(g_rel - p_rel)
        p_attrs = {key(p, a["span"]): a for a in p.attributes}
        for a in g.attributes:
            found = p_attrs.get(key(g, a["span"]))
            if found is None:
                continue
            if "status" in a:
                status_n += 1
                status_ok += found.get("status") == a["status"]
            for f in FLAGS:
                gold_flag, pred_flag = bool(a.get(f)), bool(found.get(f))
                flags[f][0] += gold_flag and pred_flag
                flags[f][1] += pred_flag and not gold_flag
                flags[f][2] += gold_flag and not pred_flag
    return {
        "relation_f1": _f1(*rel),
        "status_accuracy": status_ok / status_n if status_n else float("nan"),
        "flag_f1": {f: _f1(*c) for f, c in flags.items()},
        "flag_support": {f: c[0] + c[2] for f, c in flags.items()},
    }


def print_spans(name: str, gold: list[Record], predicted: list[Record], rate: float) -> None:
    spans = score_spans(gold, predicted, USE_CASE.labels)
    print(f"\n== {name}: {len(gold)} documents, {rate:.1f} docs/s")
    print(f"{'label':18} {'strict F1':>9} {'partial F1':>10} {'support':>8}")
    for label in USE_CASE.labels:
        s, p = spans.strict.per_label[label], spans.partial.per_label[label]
        print(f"{label:18} {s.f1 or 0:9.4f} {p.f1 or 0:10.4f} {s.support:8d}")
    print(f"{'micro':18} {spans.strict.micro.f1:9.4f} {spans.partial.micro.f1:10.4f}")


def run(
    name: str, extractor: OncologyExtractor, docs: list[tuple[str, str]], gold: list[Record]
) -> None:
    started = time.perf_counter()
    predicted = list(extractor.predict(docs))
    rate = len(docs) / (time.perf_counter() - started)
    print_spans(f"{name} ({extractor.origin})", gold, predicted, rate)
    structure = structure_scores(gold, predicted)
    print(
        f"relation F1 {structure['relation_f1']:.4f}, "
        f"status accuracy {structure['status_accuracy']:.4f}, flag F1 "
        + ", ".join(
            f"{f} {structure['flag_f1'][f]:.3f} (n={structure['flag_support'][f]})" for f in FLAGS
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-documents", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clean", action="store_true", help="no noise in the held-out texts")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--model-dir", type=Path, default=Path("models/oncology_extraction"))
    args = parser.parse_args()
    noise = NoiseSettings() if args.clean else load_params(args.params).generate.noise
    docs, gold = held_out(args.n_documents, args.seed, noise)
    settings = PreannotateSettings(use_model=False)
    run("rules alone", build_extractor(USE_CASE, settings, None), docs, gold)
    if (args.model_dir / "config.json").exists():
        merged = build_extractor(USE_CASE, PreannotateSettings(use_model=True), args.model_dir)
        assert merged.engine is not None
        started = time.perf_counter()
        alone = [Record(i, USE_CASE.id, "model", spans=s) for i, s in merged.engine.predict(docs)]
        rate = len(docs) / (time.perf_counter() - started)
        print_spans(f"model alone, for reference ({merged.engine.origin})", gold, alone, rate)
        run("rules + model", merged, docs, gold)
    else:
        print(f"\n{args.model_dir}: no trained model (curation train oncology_extraction)")


if __name__ == "__main__":
    main()
