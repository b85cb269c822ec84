"""Throughput of the pseudonymisation model: our batched engine versus the naive way.

The naive way is a transformers ``pipeline("token-classification")`` called one document at
a time, on the same model and the same documents. Not a test (pytest does not collect it):

    python tests/bench/bench_detector.py --model models/pseudonymisation --documents 500

Reports documents/s and tokens/s of each, and the ratio; on a machine with CUDA, the engine's
figures on the GPU as well (``device: auto``).
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import pipeline

from curation.models.engine import InferenceEngine
from curation.settings import EngineSettings, GenerateSettings
from curation.sources.synthetic.corpus import generate_documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="models/pseudonymisation")
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    docs = [
        (g.document.doc_id, g.document.text)
        for g in generate_documents(GenerateSettings(seed=99, n_documents=args.documents))
    ]
    chars = sum(len(text) for _, text in docs)
    print(f"{len(docs)} documents, {chars:,} characters, torch threads {torch.get_num_threads()}")

    rows = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        settings = EngineSettings(device=device, batch_size=args.batch_size)  # type: ignore[arg-type]
        engine = InferenceEngine(args.model, settings)
        list(engine.predict(docs[:16]))  # warm-up
        engine.stats = type(engine.stats)()
        started = time.perf_counter()
        for _ in engine.predict(docs):
            pass
        seconds = time.perf_counter() - started
        tokens = engine.stats.tokens
        rows.append((f"engine ({device}, {engine.dtype})", seconds, tokens))

        naive = pipeline(
            "token-classification",
            model=args.model,
            aggregation_strategy="first",
            stride=engine.stride,
            device=0 if device == "cuda" else -1,
        )
        naive(docs[0][1])  # warm-up
        started = time.perf_counter()
        for _, text in docs:
            naive(text)
        rows.append((f"naive pipeline ({device})", time.perf_counter() - started, tokens))

    print(f"{'method':<34} {'seconds':>8} {'docs/s':>8} {'tokens/s':>10}")
    for name, seconds, tokens in rows:
        print(f"{name:<34} {seconds:>8.2f} {len(docs) / seconds:>8.1f} {tokens / seconds:>10,.0f}")
    for i in range(0, len(rows), 2):
        print(
            f"speed-up over the naive way on {devices[i // 2]}: {rows[i + 1][1] / rows[i][1]:.1f}x"
        )


if __name__ == "__main__":
    main()
