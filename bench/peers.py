"""Side-by-side ROC-AUC of a model and two offline peers on the same validation data.

The peers are `alt-profanity-check` (a linear model on bag-of-words) and `hatesonar` (a
logistic regression trained on the Davidson et al. tweets), both from PyPI and both CPU-only.
They are benchmark-only dependencies (`pip install -e '.[bench]'`): the library never imports
them (hatesonar loads a pickled model, which the library itself never does). hatesonar needs
the en_US.UTF-8 locale on the machine.

    python bench/peers.py --model models/default --recipe default [--data-dir ../shared/data]

prints the table and writes MODEL/peers.json, which `python -m training.card MODEL` puts in the
model card. Peer scores map onto our labels as follows:

| peer | score | our labels |
|---|---|---|
| alt-profanity-check | probability of profanity | hostility, insult, profanity, threat, identity_attack |
| hatesonar | 1 - P(neither) | hostility, insult, profanity, threat |
| hatesonar | P(hate_speech) | identity_attack |

Each label is compared only on the datasets that annotate it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from moderation.backends import BACKENDS
from moderation.labelled import Example, infer_labels
from moderation.metrics import roc_auc

HOSTILITY_LABELS = ("hostility", "insult", "identity_attack", "profanity", "threat")


def peer_scores(texts: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Per peer, per our label, a score for each text."""
    from hatesonar import Sonar
    from profanity_check import predict_prob

    profanity = np.asarray(predict_prob(texts), dtype=np.float64)
    try:
        sonar = Sonar()
    except Exception as exc:  # its ONNX graph normalises text in the en_US.UTF-8 locale
        if "locale" not in str(exc):
            raise
        sys.exit("hatesonar needs the en_US.UTF-8 locale: on Debian, apt-get install locales, "
                 "uncomment en_US.UTF-8 in /etc/locale.gen and run locale-gen")
    hate, not_neither = [], []
    for text in texts:
        classes = {c["class_name"]: c["confidence"] for c in sonar.ping(text=text)["classes"]}
        hate.append(classes["hate_speech"])
        not_neither.append(1.0 - classes["neither"])
    sonar_any = np.array(not_neither)
    return {
        "alt-profanity-check": dict.fromkeys(HOSTILITY_LABELS, profanity),
        "hatesonar": {**dict.fromkeys(HOSTILITY_LABELS, sonar_any), "identity_attack": np.array(hate)},
    }


def compare(model_dir: Path, examples: list[Example], backend: str | None = None) -> dict[str, Any]:
    from moderation.scorer import Scorer

    scorer = Scorer(model_dir, backend=backend)
    examples = [infer_labels(ex, scorer.info.groups) for ex in examples]
    examples = [ex for ex in examples if any(label in ex.labels for label in HOSTILITY_LABELS)]
    texts = [ex.text for ex in examples]
    ours = np.stack([scorer.calibrate(r.logits) for r in scorer.raw_batch(texts)])
    peers = peer_scores(texts)
    index = {name: i for i, name in enumerate(scorer.labels)}
    name = f"{scorer.info.name} {scorer.info.version}"
    rows = []
    for source in sorted({ex.source for ex in examples}):
        for label in HOSTILITY_LABELS:
            idx = [k for k, ex in enumerate(examples) if ex.source == source and label in ex.labels]
            y = np.array([examples[k].labels[label] >= 0.5 for k in idx])
            if len(idx) < 20 or y.all() or not y.any() or label not in index:
                continue
            aucs = {name: roc_auc(y, ours[idx, index[label]])}
            aucs.update({peer: roc_auc(y, scores[label][idx]) for peer, scores in peers.items()})
            rows.append({"dataset": source, "label": label, "examples": len(idx),
                         "positives": int(y.sum()), "roc_auc": aucs})
    return {
        "about": f"ROC-AUC on the validation split ({len(examples)} texts with hostility-group "
                 f"labels; ours on the {scorer.backend.name} backend). hatesonar was trained on "
                 "the Davidson et al. tweets, so its davidson2017 figures are in-domain for it.",
        "models": [name, *peers],
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/default", type=Path)
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--data-dir")
    parser.add_argument("--backend", choices=BACKENDS, help="where our model runs (default: onnx "
                        "where installed, as `moderation score`)")
    args = parser.parse_args()
    from training.recipes import validation_split

    examples = validation_split(args.model, args.recipe, args.data_dir, lambda m: None)
    result = compare(args.model, examples, args.backend)
    models = result["models"]
    print(f"{'dataset':<26} {'label':<16} {'n':>5} " + " ".join(f"{m[:22]:>22}" for m in models))
    for row in result["rows"]:
        print(f"{row['dataset']:<26} {row['label']:<16} {row['examples']:>5} "
              + " ".join(f"{row['roc_auc'][m]:>22.3f}" for m in models))
    (args.model / "peers.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.model / 'peers.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
