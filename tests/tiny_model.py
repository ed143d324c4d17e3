"""A tiny randomly initialised BERT and a separable toy task, built in the tests.

The toy task: a text is ``hostility`` when it holds one of the hostile words, ``insult`` when
it holds an insulting one; spans mark those words. ``threat`` is a label that no example
annotates, so its loss is masked everywhere.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FILLER = ("the river runs past our small town and people walk along it every morning "
          "while market stalls open near bridge with bread fruit coffee music").split()
HOSTILE = ["awful", "vile", "rotten"]
INSULTS = ["idiot", "clown", "moron"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def toy_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(6, 14))]
        kind = rng.random()
        bad: list[str] = []
        if kind < 0.3:
            bad = [rng.choice(HOSTILE)]
        elif kind < 0.55:
            bad = [rng.choice(INSULTS)]
        for word in bad:
            words.insert(rng.randint(0, len(words)), word)
        text = " ".join(words)
        spans = []
        position = 0
        for word in words:
            if word in HOSTILE or word in INSULTS:
                spans.append({"start": position, "end": position + len(word), "label": "hostility"})
            position += len(word) + 1
        rows.append({
            "text": text,
            "hostility": int(bool(bad)),
            "insult": int(bool(bad) and bad[0] in INSULTS),
            "spans": spans,
        })
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def build_tiny_bert(path: Path, seed: int = 0) -> Path:
    """A 2-layer BERT with hidden size 32 and a word-level vocabulary of the toy task."""
    import torch
    import transformers

    path.mkdir(parents=True, exist_ok=True)
    vocab = SPECIAL + sorted(set(FILLER + HOSTILE + INSULTS))
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(vocab=str(path / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(path)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    transformers.BertModel(config, add_pooling_layer=False).save_pretrained(path, safe_serialization=True)
    return path
