"""The Ray engine against the single-process engine, on the same generated corpus.

    python bench/ray_bench.py [--model DIR] [--sizes 500 4000 16000] [--shards 8] [--actors 2]

For each corpus size (comments, split into ``--shards`` JSONL files), one run of
``moderation score`` (local engine, all cores to one process) and one of
``moderation score --engine ray`` (a local Ray instance started by the run; ``--actors`` actors,
each with its own model and ``cores / actors`` threads), both end to end: start-up, reading,
scoring and writing. Prints wall seconds and comments/s per engine; the crossover is the size
from which Ray's start-up (the instance, then one model per actor) is paid back. Needs the
``distributed`` extra. The corpus is bench/score_bench.py's.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.score_bench import corpus  # noqa: E402
from moderation.modeldir import default_model_dir  # noqa: E402


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv[3:6])} failed:\n{result.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 4000, 16000])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    common = ["--model", str(args.model), "-q", "--backend", args.backend]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in args.sizes:
            shard_dir = root / f"corpus-{n}"
            shard_dir.mkdir()
            whole = corpus(root / f"whole-{n}.jsonl", n)
            lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
            per = -(-len(lines) // args.shards)
            for i in range(args.shards):
                (shard_dir / f"shard-{i:03d}.jsonl").write_text("".join(lines[i * per:(i + 1) * per]),
                                                                 encoding="utf-8")
            local = timed([sys.executable, "-m", "moderation.cli", "score", str(shard_dir), *common,
                           "-o", str(root / f"local-{n}.jsonl"), "--threads", str(cores)])
            ray = timed([sys.executable, "-m", "moderation.cli", "score", str(shard_dir), *common,
                         "-o", str(root / f"ray-{n}"), "--engine", "ray", "--actors", str(args.actors),
                         "--threads", str(max(1, cores // args.actors))])
            rows.append((n, local, ray))
    print(f"{platform.processor() or platform.machine()}, {cores} CPUs; backend {args.backend}; "
          f"{args.shards} shards; Ray: a local instance, {args.actors} actors")
    print()
    print("| comments | local s | local comments/s | ray s | ray comments/s | ray / local time |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, local, ray in rows:
        print(f"| {n:,} | {local:.1f} | {n / local:,.0f} | {ray:.1f} | {n / ray:,.0f} | {ray / local:.2f} |")


if __name__ == "__main__":
    main()
