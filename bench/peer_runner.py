"""The comparison classifiers of bench/score_bench.py, each run the way `moderation score` runs:
read a JSONL comment list, score every text, write one JSON record per comment.

    python bench/peer_runner.py bert-base IN.jsonl OUT.jsonl [--threads N] [--batch-size N]
    python bench/peer_runner.py profanity-check IN.jsonl OUT.jsonl

``bert-base`` is a randomly initialised BERT-base classifier (12 layers, hidden 768, the
compute of Detoxify's original model) with the MiniLM tokenizer (the same uncased WordPiece
vocabulary), batched by length like our scorer; its scores mean nothing, its speed is the
point. ``profanity-check`` is alt-profanity-check, the fast bag-of-words peer (bench extra).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def read_texts(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_scores(path: Path, rows: list[dict], scores: list[float]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row, score in zip(rows, scores, strict=True):
            handle.write(json.dumps({"id": row["id"], "score": round(float(score), 6)}) + "\n")


def bert_base(texts: list[str], threads: int, batch_size: int) -> list[float]:
    import torch
    import transformers

    from moderation.modeldir import DEFAULT_BASE, resolve_base

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tokenizer = transformers.AutoTokenizer.from_pretrained(resolve_base(DEFAULT_BASE))
    # transformers 5's config dataclass takes num_labels through keywords its signature leaves out.
    config = transformers.BertConfig(num_labels=6, problem_type="multi_label_classification")  # type: ignore[call-arg]
    model = transformers.BertForSequenceClassification(config).eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    scores = [0.0] * len(texts)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encoded = tokenizer([texts[i] for i in batch], truncation=True, max_length=256,
                                padding=True, return_tensors="pt")
            probs = torch.sigmoid(model(**encoded).logits)
            for i, p in zip(batch, probs[:, 0].tolist(), strict=True):
                scores[i] = p
    return scores


def profanity_check(texts: list[str]) -> list[float]:
    from profanity_check import predict_prob

    return list(predict_prob(texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("peer", choices=("bert-base", "profanity-check"))
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    rows = read_texts(args.input)
    texts = [row["text"] for row in rows]
    if args.peer == "bert-base":
        scores = bert_base(texts, args.threads, args.batch_size)
    else:
        scores = profanity_check(texts)
    write_scores(args.output, rows, scores)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
