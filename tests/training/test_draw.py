"""``draw``: another draw of the same run. The initialisation and the example order change; the
data, the validation split and the augmented copies stay, so draws measure how far a setting's
figures move by chance. Draw 0 is the run as it always was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tiny_model import toy_rows, write_jsonl


def _args(tiny_base: Path, data: Path, out: Path, **settings: Any) -> Any:
    from training.config import TrainingArguments

    return TrainingArguments(
        data=[str(data)], out=str(out), base=str(tiny_base), labels=["hostility", "insult"],
        batch_size=16, max_length=32, score_max_length=32, stride=8, threads=1, max_steps=4,
        val_fraction=0.2, seed=5, obfuscated=10, learning_rate=3e-3, head_learning_rate=0.05,
        **settings)


def _weights(model: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(model / "checkpoint" / "trainable.safetensors"))


def test_a_draw_changes_the_trained_weights_and_keeps_the_data(tiny_base: Path,
                                                               tmp_path: Path) -> None:
    import torch

    from training.data import load_data
    from training.trainer import train

    data = write_jsonl(tmp_path / "train.jsonl", toy_rows(120, 41))
    runs = {name: _args(tiny_base, data, tmp_path / name, **settings)
            for name, settings in (("plain", {}), ("zero", {"draw": 0}), ("one", {"draw": 1}))}
    for args in runs.values():
        train(args, log=lambda message: None)

    def texts(args: Any) -> tuple[list[str], list[str]]:
        train_ex, val_ex, _ = load_data(args, lambda message: None)
        return [ex.text for ex in train_ex], [ex.text for ex in val_ex]

    assert texts(runs["one"]) == texts(runs["plain"])  # same split, same augmented copies
    plain, zero, one = (_weights(tmp_path / name) for name in ("plain", "zero", "one"))
    for name in plain:
        assert torch.equal(plain[name], zero[name])
        assert not torch.equal(plain[name], one[name]), name
    card = (tmp_path / "one" / "README.md").read_text(encoding="utf-8")
    assert "seed 5, draw 1." in card
    assert "seed 5. " in (tmp_path / "plain" / "README.md").read_text(encoding="utf-8")


def test_a_checkpoint_of_one_draw_does_not_resume_another(tiny_base: Path, tmp_path: Path) -> None:
    from moderation.errors import ConfigError
    from training.trainer import train

    data = write_jsonl(tmp_path / "train.jsonl", toy_rows(60, 42))
    train(_args(tiny_base, data, tmp_path / "run"), log=lambda message: None)
    with pytest.raises(ConfigError, match="made with other settings"):
        train(_args(tiny_base, data, tmp_path / "run", draw=2, resume=True), log=lambda m: None)


def test_a_negative_draw_is_refused() -> None:
    from moderation.errors import ConfigError
    from training.config import TrainingArguments

    with pytest.raises(ConfigError, match="draw must not be negative"):
        TrainingArguments(out="x", data=["d.jsonl"], draw=-1)
