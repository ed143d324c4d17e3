"""How far the ONNX Runtime int8 scores drift from the torch fp32 reference on real comments.

    python bench/parity.py [--model DIR] [--data-dir ../shared/data] [--size 5000] [--long 500]
                           [--passes 8]

The comments are a fixed sample of the validation split of every dataset of the default recipe
as the model's training settings rebuild it, plus ``--long`` long comments made by joining 5 to
12 of them (several scoring windows each). Each is scored by both backends;
calibrated scores are compared label by label, once per ``--passes`` size (windows per call).
int8 quantises activations per token, so the rows agree: a comment's drift does not depend on
what shares its call.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from moderation.modeldir import default_model_dir  # noqa: E402
from moderation.scorer import Scorer  # noqa: E402
from training.recipes import validation_split  # noqa: E402

SOURCES = "default"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--size", type=int, default=5000, help="comments in the sample")
    parser.add_argument("--long", type=int, default=500, help="long comments added to the sample")
    parser.add_argument("--passes", type=int, nargs="+", default=[8],
                        help="windows per model call to measure")
    args = parser.parse_args()
    examples = validation_split(args.model, SOURCES, args.data_dir, lambda m: None)
    rng = random.Random(0)
    texts = [ex.text for ex in rng.sample(examples, min(args.size, len(examples)))]
    texts += [" ".join(ex.text for ex in rng.sample(examples, rng.randint(5, 12)))
              for _ in range(args.long)]
    reference = Scorer(args.model, backend="torch")
    expected = np.stack([reference.calibrate(r.logits) for r in reference.raw_batch(texts)])
    thresholds = np.array([reference.thresholds[name] for name in reference.labels])
    flags = expected >= thresholds
    print(f"model: {reference.info.name} {reference.info.version}; {len(texts)} comments "
          f"({SOURCES} recipe validation, {args.long} of them long), {len(reference.labels)} labels each")
    print()
    print("| windows per call | mean | p99 | max | flags flipped | decisions changed |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in args.passes:
        int8 = Scorer(args.model, backend="onnx", precision="int8", batch_size=size)
        got = np.stack([int8.calibrate(r.logits) for r in int8.raw_batch(texts)])
        drift = np.abs(got - expected)
        flipped = int(((got >= thresholds) != flags).sum())
        # allow or review: a comment's decision changes when it has a flag on one side only
        changed = int(((got >= thresholds).any(1) != flags.any(1)).sum())
        print(f"| {size} | {drift.mean():.4f} | {np.percentile(drift, 99):.3f} | {drift.max():.3f} "
              f"| {flipped} of {flags.size} ({flipped / flags.size:.1%}) "
              f"| {changed} of {len(texts)} ({changed / len(texts):.1%}) |")


if __name__ == "__main__":
    main()
