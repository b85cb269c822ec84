"""Throughput of ``push``: tasks with predictions imported in batches versus one per request.

Not a test (pytest does not collect it): ``python tests/bench/bench_push.py --tasks 5000``.
Starts its own Label Studio (``curation.studio.server.up``) on a free port in a temporary
folder and stops it at the end. The corpus is synthetic (the generator's documents, with their
pseudonymisation answer key as predictions, scores spread so that the queue order matters).
Each mode pushes the same documents through the real stage into a project of its own: batches of
``studio.batch_size`` tasks, then one task per request; a second push of the batched project
measures the cost of the idempotence check (listing the project, nothing to import).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.schema import DOCUMENT_SCHEMA
from curation.settings import GenerateSettings, Params, PushSettings, StudioSettings
from curation.sources.synthetic.corpus import generate_documents
from curation.stages import push
from curation.studio import server
from curation.studio.client import connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_corpus(root: Path, n: int) -> tuple[Path, Path, int]:
    """Documents (Parquet) and scored predictions (JSONL); returns them and the span count."""
    rows, lines, spans = [], [], 0
    for item in generate_documents(GenerateSettings(n_documents=n, seed=21)):
        rows.append(item.document.to_row())
        record = item.records["pseudonymisation"].to_dict()
        for i, span in enumerate(record.get("spans", [])):
            digest = hashlib.sha256(f"{record['doc_id']}/{i}".encode()).digest()
            span["score"] = round(0.3 + 0.7 * digest[0] / 255, 3)
        spans += len(record.get("spans", []))
        lines.append(json.dumps({**record, "origin": "bench-v1"}, ensure_ascii=False))
    documents, predictions = root / "documents.parquet", root / "predictions.jsonl"
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), documents)
    predictions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return documents, predictions, spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=5000, help="documents to push")
    parser.add_argument("--batch-size", type=int, default=StudioSettings().batch_size)
    parser.add_argument(
        "--single-tasks", type=int, default=None, help="tasks pushed one per request (all)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        documents, predictions, spans = write_corpus(root, args.tasks)
        single_docs = documents
        n_single = min(args.single_tasks or args.tasks, args.tasks)
        if n_single < args.tasks:
            single_docs = root / "single.parquet"
            pq.write_table(pq.read_table(documents).slice(0, n_single), single_docs)
        studio = StudioSettings(
            port=free_port(),
            data_dir=str(root / "studio"),
            env_file=str(root / "studio.env"),
            start_timeout=300,
            batch_size=args.batch_size,
        )
        started = time.perf_counter()
        server.up(studio)
        print(f"Label Studio ready in {time.perf_counter() - started:.0f} s ({studio.local_url})")
        try:
            client = connect(studio)

            def run(prefix: str, batch_size: int, table: Path) -> push.PushSummary:
                params = Params(
                    studio=studio.model_copy(update={"batch_size": batch_size}),
                    push=PushSettings(store=str(root / "projects.json"), title_prefix=prefix),
                )
                return push.run(
                    "pseudonymisation",
                    params,
                    documents=table,
                    predictions=predictions,
                    client=client,
                    progress=False,
                )

            batched = run("bench batches ", args.batch_size, documents)
            again = run("bench batches ", args.batch_size, documents)
            single = run("bench single ", 1, single_docs)
        finally:
            server.down(studio)
    per_task = spans / args.tasks
    print(f"{args.tasks:,} synthetic documents, {spans:,} predicted spans ({per_task:.1f} a task)")
    print(f"{'mode':<28} {'tasks':>7} {'seconds':>8} {'tasks/s':>8}")
    rates = []
    for mode, summary in ((f"batches of {args.batch_size}", batched), ("one per request", single)):
        rates.append(summary.imported / summary.seconds)
        print(f"{mode:<28} {summary.imported:>7,} {summary.seconds:>8.1f} {rates[-1]:>8.1f}")
    print(f"{'re-push (nothing to import)':<28} {again.present:>7,} {again.seconds:>8.1f}")
    print(f"ratio: batches import {rates[0] / rates[1]:.1f} times more tasks per second")
    print("(seconds are the whole stage: read, check predictions, list the project, import)")


if __name__ == "__main__":
    main()
