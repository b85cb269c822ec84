"""Throughput of the generator and of ingest, and the generator's peak memory.

Not a test (pytest does not collect it): ``make bench`` or
``python tests/bench/bench_corpus.py --documents 100000``. Each step runs in its own process
through the real ``curation`` command, so the figures are what a data steward gets; peak
resident memory is read per step, at two corpus sizes, to show that generation is streamed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


def run_step(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run a ``curation`` command; returns (seconds, peak RSS in MiB) of that process alone."""
    wrapper = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:], check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, str(BIN / "curation"), *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    seconds = time.perf_counter() - started
    return seconds, int(done.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=100_000)
    args = parser.parse_args()
    sizes = sorted({max(args.documents // 10, 1), args.documents})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"{'step':<10} {'documents':>10} {'seconds':>8} {'docs/s':>8} {'peak MiB':>9}")
        for n in sizes:
            seconds, rss = run_step(["generate", "--n-documents", str(n)], work)
            print(f"{'generate':<10} {n:>10,} {seconds:>8.1f} {n / seconds:>8,.0f} {rss:>9.0f}")
        params = {
            "ingest": {
                "source": {"kind": "parquet", "path": "data/synthetic/documents.parquet"},
            }
        }
        (work / "params.yaml").write_text(yaml.safe_dump(params))
        n = sizes[-1]
        seconds, rss = run_step(["ingest"], work)
        print(f"{'ingest':<10} {n:>10,} {seconds:>8.1f} {n / seconds:>8,.0f} {rss:>9.0f}")
        print("(seconds include interpreter start-up and imports, about 2 s per step)")


if __name__ == "__main__":
    main()
