"""Speed and quality of the CIM-10 coder: rules only, classifier only, merged. Not a test
(pytest does not collect it):

    python tests/bench/bench_coding.py --train-documents 1500 --documents 500

Trains on a synthetic corpus (its own seed, CRH and letters only), then on N held-out
synthetic documents of another seed measures documents/s on CPU of each mode (the rules'
pipeline is built first and its build time reported apart), the peak resident memory, and
the merged coder's micro F1, DP accuracy and P@k/R@k with ``coding_metrics``, and the
evidence coverage of each mode: the share of suggested codes with at least one evidence span
(``ev/sugg``), and the same among the gold codes it found (``ev/found``); with
``--thresholds`` also the micro F1 of each ``min_score`` (how the default was tuned), and
with ``--lexicon-scores`` that of each ``lexicon_score``.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
from pathlib import Path

from curation.metrics.coding import coding_metrics, normalise_code
from curation.models.coding import Coder, train
from curation.models.coding.lexicon import Lexicon
from curation.models.coding.rules import lexicon_pipeline, rule_pipeline
from curation.models.coding.store import load
from curation.schema import Record
from curation.settings import (
    CoderSettings,
    GenerateSettings,
    SyntheticTrainingCorpus,
    TrainUseCaseSettings,
)
from curation.sources.synthetic.corpus import generate_documents
from curation.usecases.icd10_coding import USE_CASE

CODED_TYPES = ["crh", "lettre_liaison"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def evidence_coverage(gold: list[Record], predicted: list[Record]) -> tuple[float, float]:
    """Share of suggested codes with an evidence span; the same among gold codes found."""
    suggested = found = suggested_with = found_with = 0
    for truth, record in zip(gold, predicted, strict=True):
        expected = {normalise_code(c) for c in truth.labels}
        for s in record.provenance.get("suggestions", []):
            has = bool(s["evidence"])
            suggested += 1
            suggested_with += has
            if normalise_code(s["code"]) in expected:
                found += 1
                found_with += has
    return round(suggested_with / max(suggested, 1), 3), round(found_with / max(found, 1), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-documents", type=int, default=1500)
    parser.add_argument("--documents", type=int, default=500, help="held-out documents")
    parser.add_argument("--seed", type=int, default=99, help="seed of the held-out corpus")
    parser.add_argument(
        "--thresholds", type=float, nargs="*", default=[0.1, 0.15, 0.2, 0.25, 0.3, 0.4]
    )
    parser.add_argument("--lexicon-scores", type=float, nargs="*", default=[])
    args = parser.parse_args()

    corpus = SyntheticTrainingCorpus(n_documents=args.train_documents, doc_types=CODED_TYPES)
    folder = Path(tempfile.mkdtemp(prefix="coder-bench-"))
    started = time.perf_counter()
    report = train(
        USE_CASE,
        TrainUseCaseSettings(synthetic=corpus, coder=CoderSettings(validation_share=0)),
        folder,
        progress=False,
    )
    print(
        f"trained on {report.documents} documents ({report.codes} codes, {report.dp_codes} as DP,"
        f" {report.lexicon_terms} lexicon terms) in {time.perf_counter() - started:.1f} s"
        " (generation included)"
    )
    generated = generate_documents(
        GenerateSettings(
            seed=args.seed, n_documents=args.documents, sites=["bench"], doc_types=CODED_TYPES
        )
    )
    held = [g for g in generated if USE_CASE.id in g.records]
    docs = [(g.document.doc_id, g.document.text) for g in held]
    gold = [g.records[USE_CASE.id] for g in held]
    chars = sum(len(text) for _, text in docs)
    print(f"held out: {len(docs)} documents, {chars:,} characters, seed {args.seed}")

    started = time.perf_counter()
    rule_pipeline()
    print(
        f"edsnlp pipeline (eds.cim10 + qualifiers) built in {time.perf_counter() - started:.1f} s"
    )
    model = load(folder)
    started = time.perf_counter()
    lexicon_pipeline(model.lexicon)
    print(f"lexicon matcher added in {time.perf_counter() - started:.2f} s")
    modes = {
        "rules only": Coder(USE_CASE, None),
        "classifier only": Coder(USE_CASE, model, use_rules=False),
        "merged, no lex.": Coder(USE_CASE, dataclasses.replace(model, lexicon=Lexicon())),
        "merged": Coder(USE_CASE, model),
    }
    print(
        f"{'mode':<16} {'seconds':>8} {'docs/s':>8} {'ms/doc':>7} {'micro F1':>9} {'DP acc':>7}"
        f" {'ev/sugg':>8} {'ev/found':>8}"
    )
    merged_scores = {}
    for name, coder in modes.items():
        list(coder.predict(docs[:8]))  # warm-up
        started = time.perf_counter()
        predicted = list(coder.predict(docs))
        seconds = time.perf_counter() - started
        with_suggestion, with_found = evidence_coverage(gold, predicted)
        scores = coding_metrics(gold, predicted, USE_CASE, n_resamples=200)
        if name == "merged":
            merged_scores = scores
        print(
            f"{name:<16} {seconds:>8.2f} {len(docs) / seconds:>8.1f} "
            f"{1000 * seconds / len(docs):>7.2f} {scores['micro']['f1']:>9} "
            f"{scores['dp_accuracy']:>7} {with_suggestion:>8} {with_found:>8}"
        )
    print(f"peak RSS {peak_rss_mb():,.0f} MB")

    m = merged_scores
    print(
        f"merged: micro P {m['micro']['precision']} R {m['micro']['recall']} "
        f"F1 {m['micro']['f1']} (95% CI {m['bootstrap']['micro_f1']['low']}-"
        f"{m['bootstrap']['micro_f1']['high']}), macro F1 {m['macro']['f1']}, "
        f"category F1 {m['category']['f1']}, DP accuracy {m['dp_accuracy']}"
    )
    for k, at in m["at_k"].items():
        print(f"  P@{k} {at['precision']}  R@{k} {at['recall']}")

    if args.thresholds:
        print("min_score -> merged micro F1 / P / R")
        for threshold in args.thresholds:
            settings = model.settings.model_copy(update={"min_score": threshold})
            coder = Coder(USE_CASE, dataclasses.replace(model, settings=settings))
            s = coding_metrics(gold, list(coder.predict(docs)), USE_CASE, n_resamples=1)
            micro = s["micro"]
            print(f"  {threshold:<5} {micro['f1']} / {micro['precision']} / {micro['recall']}")
    if args.lexicon_scores:
        print("lexicon_score -> merged micro F1 / P / R, DP accuracy, ev/sugg, ev/found")
        for weight in args.lexicon_scores:
            settings = model.settings.model_copy(update={"lexicon_score": weight})
            coder = Coder(USE_CASE, dataclasses.replace(model, settings=settings))
            predicted = list(coder.predict(docs))
            s = coding_metrics(gold, predicted, USE_CASE, n_resamples=1)
            micro = s["micro"]
            print(
                f"  {weight:<5} {micro['f1']} / {micro['precision']} / {micro['recall']}, "
                f"{s['dp_accuracy']}, {evidence_coverage(gold, predicted)}"
            )


if __name__ == "__main__":
    main()
