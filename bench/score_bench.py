"""Batch-scoring benchmark: end-to-end comments/s and peak memory of our backends and of the
alternatives, on one fixed generated corpus.

    python bench/score_bench.py [--model DIR] [--size 2000] [--threads N] [--engines ...]

Engines (each one run of a child process, model loading included, timed by the wall clock;
peak memory is the child's maximum resident set size):

- ``torch``, ``onnx-fp32``, ``onnx-int8``: ``moderation score --backend ...`` on the corpus,
  writing its JSONL records. The ONNX graphs are exported before the clock starts (a one-off).
- ``fast-torch``, ``fast-onnx-int8``: the same with the distilled student (``--fast-model``,
  default models/fast).
- ``bert-base``: a randomly initialised BERT-base classifier, the compute of Detoxify's model
  (bench/peer_runner.py).
- ``profanity-check``: alt-profanity-check, the bag-of-words peer (``pip install -e '.[bench]'``).

A one-comment run of each engine measures its start-up (imports and model loading), so the
table also gives the scoring rate after it. Ratios are to our torch fp32 in the same run.

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

from moderation.modeldir import default_model_dir, shipped_model_dir  # noqa: E402

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
            words: list[str] = []
            for j in range(length):
                word = rng.choice(WORDS)
                words.append(word.capitalize() if j == 0 or words[-1][-1] in ".?!" else word)
                if rng.random() < 0.08:
                    words[-1] += rng.choice(PUNCTUATION)
            text = " ".join(words).rstrip(",") + "."
            handle.write(json.dumps({"id": f"c{i}", "author": f"reader{i % 97}",
                                     "thread": f"article {i // 40}", "text": text}) + "\n")
    return path


ENGINES = ("torch", "onnx-fp32", "onnx-int8", "fast-torch", "fast-onnx-int8", "bert-base",
           "profanity-check")


def command(engine: str, corpus_path: Path, out: Path, model: Path, threads: int, chunk: int) -> list[str]:
    if engine in ("bert-base", "profanity-check"):
        return [sys.executable, str(REPO / "bench" / "peer_runner.py"), engine, str(corpus_path),
                str(out), "--threads", str(threads)]
    backend, _, precision = engine.removeprefix("fast-").partition("-")
    return [sys.executable, "-m", "moderation.cli", "score", str(corpus_path), "--model", str(model),
            "-o", str(out), "-q", "--threads", str(threads), "--chunk", str(chunk),
            "--backend", backend, "--precision", precision or "int8"]


def run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv[:4])} failed:\n{err.decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def model_of(engine: str, args: argparse.Namespace) -> Path:
    return args.fast_model if engine.startswith("fast-") else args.model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_dir(), help="model directory "
                        "(default: models/default)")
    parser.add_argument("--fast-model", type=Path, default=shipped_model_dir("fast"),
                        help="the student for the fast-* engines (default: models/fast)")
    parser.add_argument("--size", type=int, default=2000, help="corpus size (comments)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads")
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    args = parser.parse_args()
    if not (args.model / "config.json").is_file():
        sys.exit(f"no model at {args.model}: pass --model DIR")
    if any(e.startswith("fast-") for e in args.engines) and not (args.fast_model / "config.json").is_file():
        sys.exit(f"no model at {args.fast_model}: pass --fast-model DIR or leave out the fast-* engines")
    info = json.loads((args.model / "config.json").read_text())
    for engine in args.engines:
        if "onnx-" in engine:  # the one-off export stays off the clock
            run([sys.executable, "-m", "moderation.cli", "export", "--model",
                 str(model_of(engine, args)), "--precision", engine.rsplit("-", 1)[1]])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one = corpus(root / "one.jsonl", 1)
        path = corpus(root / "corpus.jsonl", args.size)
        words = sum(len(json.loads(line)["text"].split()) for line in path.open(encoding="utf-8"))
        for engine in args.engines:
            model = model_of(engine, args)
            startup, _ = run(command(engine, one, root / "one.out", model, args.threads, args.chunk))
            wall, rss = run(command(engine, path, root / f"{engine}.out", model, args.threads,
                                    args.chunk))
            # A run shorter than its own start-up (start-up varies) has no rate to give.
            after = args.size / (wall - startup) if wall > startup * 1.05 else None
            rows.append((engine, startup, wall, args.size / wall, after, rss))
    print(f"model: {info.get('name')} {info.get('version')} (max_length {info.get('max_length')}); "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, --threads "
          f"{args.threads}; {args.size:,} comments, {words / args.size:.0f} words each on average")
    print()
    base = next((r[3] for r in rows if r[0] == "torch"), None)
    print("| engine | start-up s | wall s | comments/s end to end | comments/s after start-up "
          "| peak RSS MiB | × torch fp32 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for engine, startup, wall, rate, scoring, rss in rows:
        ratio = f"{rate / base:.2f}" if base else "–"
        after = f"{scoring:,.1f}" if scoring else "–"
        print(f"| {engine} | {startup:.1f} | {wall:.1f} | {rate:,.1f} | {after} | {rss:,.0f} "
              f"| {ratio} |")


if __name__ == "__main__":
    main()
