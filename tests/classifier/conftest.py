"""A tiny randomly initialised BERT and a separable toy task, built in the tests.

The toy task: a text is ``hostility`` when it holds one of the hostile words, ``insult`` when
it holds an insulting one; spans mark those words. ``threat`` is a label that no example
annotates, so its loss is masked everywhere.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def toy_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("toy-data")
    return write_jsonl(root / "train.jsonl", toy_rows(400, 1)), write_jsonl(root / "val.jsonl", toy_rows(120, 2))


@pytest.fixture(scope="session")
def toy_model(tiny_base: Path, toy_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the toy task (shared by the tests that only read it)."""
    from training.config import TrainingArguments
    from training.trainer import train

    out = tmp_path_factory.mktemp("models") / "toy"
    train(TrainingArguments(
        data=[str(toy_files[0])], validation=[str(toy_files[1])], out=str(out), base=str(tiny_base),
        labels=["hostility", "insult", "threat"], epochs=10, batch_size=16, max_length=32,
        score_max_length=32, stride=8, learning_rate=3e-3, lora_alpha=64, head_learning_rate=0.1,
        threads=2,
    ), log=lambda message: None)
    return out
