"""Batch-scoring benchmark: `moderation score` end to end on a fixed generated corpus.

    python bench/score_bench.py [--model DIR] [--sizes 2000 20000] [--threads N] [--chunk N]

Each size is one run of the real command in a child process (model loading included), timed by
the wall clock; peak memory is the child's maximum resident set size. A one-comment run measures
the start-up (imports and model loading), so the table also gives the scoring rate after it.
Several sizes show whether memory stays flat as the corpus grows (it should: scoring streams).

The corpus is generated, deterministic and free of real text: comments of realistic length
(log-normal, median about 35 words, a long tail up to 600) from a fixed word list, in threads of
40, as a flat JSONL comment list.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from moderation.modeldir import default_model_dir

WORDS = (
    "the of and to a in is it you that he was for on are with as his they be at one have this "
    "from or had by not word but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them write would like so "
    "these her long make thing see him two has look more day could go come did number sound no "
    "most people my over know water than call first who may down side been now find any new work "
    "part take get place made live where after back little only round man year came show every "
    "good me give our under name very through just form sentence great think say help low line "
    "differ turn cause much mean before move right boy old too same tell does set three want air "
    "well also play small end put home read hand port large spell add even land here must big "
    "high such follow act why ask men change went light kind off need house picture try us again "
    "animal point mother world near build self earth father head stand own page should country "
    "found answer school grow study still learn plant cover food sun four between state keep eye "
    "never last let thought city tree cross farm hard start might story saw far sea draw left late "
    "run while press close night real life few north open seem together next white children begin "
    "council mayor vote tax road bridge ferry budget police market election minister policy "
    "report article comment agree disagree nonsense ridiculous shame idiot liar corrupt clown"
).split()
PUNCTUATION = (".", ".", ".", "?", "!", ",")


def corpus(path: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            length = min(600, max(3, int(rng.lognormvariate(math.log(35), 0.9))))
            words = []
            for j in range(length):
                word = rng.choice(WORDS)
                words.append(word.capitalize() if j == 0 or words[-1][-1] in ".?!" else word)
                if rng.random() < 0.08:
                    words[-1] += rng.choice(PUNCTUATION)
            text = " ".join(words).rstrip(",") + "."
            handle.write(json.dumps({"id": f"c{i}", "author": f"reader{i % 97}",
                                     "thread": f"article {i // 40}", "text": text}) + "\n")
    return path


def run(corpus_path: Path, out: Path, model: Path, threads: int, chunk: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `moderation score` run."""
    command = [sys.executable, "-m", "moderation.cli", "score", str(corpus_path), "--model", str(model),
               "-o", str(out), "-q", "--threads", str(threads), "--chunk", str(chunk)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"moderation score failed:\n{err.decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_dir(), help="model directory "
                        "(default: models/default)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000], help="corpus sizes (comments)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch CPU threads")
    parser.add_argument("--chunk", type=int, default=512)
    args = parser.parse_args()
    if not (args.model / "config.json").is_file():
        sys.exit(f"no model at {args.model}: pass --model DIR")
    info = json.loads((args.model / "config.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        startup, _ = run(corpus(root / "one.jsonl", 1), root / "one.out", args.model, args.threads, args.chunk)
        rows = []
        for n in args.sizes:
            path = corpus(root / f"corpus-{n}.jsonl", n)
            words = sum(len(json.loads(line)["text"].split()) for line in path.open(encoding="utf-8"))
            wall, rss = run(path, root / f"out-{n}.jsonl", args.model, args.threads, args.chunk)
            rows.append((n, words / n, wall, n / wall, n / max(wall - startup, 1e-9), rss))
    print(f"model: {info.get('name')} {info.get('version')} (base {info.get('base_model')}, "
          f"max_length {info.get('max_length')}); {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, --threads {args.threads}, --chunk {args.chunk}; "
          f"start-up (1 comment) {startup:.1f} s")
    print()
    print("| comments | words/comment | wall s | comments/s end to end | comments/s after start-up | peak RSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, words, wall, rate, scoring, rss in rows:
        print(f"| {n:,} | {words:.0f} | {wall:.1f} | {rate:,.0f} | {scoring:,.0f} | {rss:,.0f} |")


if __name__ == "__main__":
    main()
