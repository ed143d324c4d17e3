"""Training is reproducible to the step: three short runs on the tiny BERT give the losses,
learning rates and weights recorded from the trainer before it was split into modules (torch
2.13 on x86-64, one thread).

A LoRA run with spans, warmup and obfuscated copies, a one-layer student distilled from it,
and a full fine-tune with the base's dropout; each loss, each step's learning rates and a
fingerprint of the trained weights must match. A change to the losses, the example order, the
seeds or the schedule moves them far beyond the tolerance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.tiny_model import toy_rows, write_jsonl

RECORDED: dict[str, dict[str, Any]] = {
    "lora": {
        "losses": [1.3691022396087646, 1.236604928970337, 0.8865185976028442, 1.2049806118011475,
                   1.582567572593689, 0.6681406497955322, 0.9692175388336182, 0.9725937843322754],
        "lrs": [(0.0015, 0.025), (0.003, 0.05), (0.003, 0.05), (0.0025, 0.04166666666666667),
                (0.002, 0.03333333333333333), (0.0015, 0.025), (0.001, 0.016666666666666666),
                (0.0005, 0.008333333333333333)],
        "weights": [0.8447023723456368, 69.28927141670394, -7.660896366351553],
        "heads": [-2.3016573386266828, 4.925437158702718, -1.333345823565061],
    },
    "student": {
        "losses": [1.5461773872375488, 1.5705409049987793, 1.4910030364990234, 1.2571526765823364,
                   1.7887320518493652, 1.9143471717834473],
        "lrs": [(0.001, 0.01), (0.002, 0.02), (0.003, 0.03), (0.003, 0.03), (0.002, 0.02),
                (0.001, 0.01)],
        "weights": [60.9493851637914, 73.32939248810689, 18.114315155903284],
        "heads": [-2.3934699192177504, 4.979067914863343, -1.347630684669958],
    },
    "full": {  # every layer trained, the embeddings kept the base's
        "losses": [1.964477300643921, 1.6674625873565674, 1.4729111194610596, 1.5134100914001465],
        "lrs": [(0.0005, 0.001), (0.001, 0.002), (0.001, 0.002), (0.0005, 0.001)],
        "weights": [127.04492652801045, 135.86186825690527, 22.0683033579465],
        "heads": [-0.48517357953824103, 1.1553426039082795, 0.18000002889874486],
    },
}
# Absolute for the losses, relative for the weight fingerprints. The same run differs by a few
# parts in a million between CPUs whose kernels sum in another order (the student's heads: 4e-6
# on an AMD EPYC against the Intel Xeon they were recorded on); any change to the training moves
# the figures by far more than this.
TOLERANCE = 1e-4


def _fingerprint(path: Path) -> list[float]:
    """Sum, sum of squares and a fixed random projection of every tensor in a file."""
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    flat = np.concatenate([tensors[name].astype(np.float64).ravel() for name in sorted(tensors)])
    projection = np.random.default_rng(0).standard_normal(flat.size)
    return [float(flat.sum()), float((flat**2).sum()), float(flat @ projection)]


@pytest.fixture(scope="module")
def runs(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    import torch

    import training.loop
    from training.config import TrainingArguments
    from training.trainer import train

    root = tmp_path_factory.mktemp("reproducible")
    data = write_jsonl(root / "train.jsonl", toy_rows(160, 21))
    student_rows = [{k: v for k, v in row.items() if k != "insult"} for row in toy_rows(96, 22)]
    student_data = write_jsonl(root / "student.jsonl", student_rows)
    common: dict[str, Any] = dict(base=str(tiny_base), batch_size=16, max_length=32,
                                  score_max_length=32, stride=8, threads=1, checkpoint_every=100)
    settings = {
        "lora": TrainingArguments(
            data=[str(data)], out=str(root / "lora"), labels=["hostility", "insult", "threat"],
            max_steps=8, warmup_fraction=0.3, obfuscated=10, val_fraction=0.2, seed=5,
            learning_rate=3e-3, head_learning_rate=0.05, **common),
        "student": TrainingArguments(
            data=[str(student_data)], out=str(root / "student"), teacher=[str(root / "lora")],
            layers=1, max_steps=6, warmup_fraction=0.5, seed=6, learning_rate=3e-3,
            head_learning_rate=0.03, **common),
        "full": TrainingArguments(
            data=[str(data)], out=str(root / "full"), labels=["hostility", "insult"], full=True,
            max_steps=4, warmup_fraction=0.5, seed=7, learning_rate=1e-3, **common),
    }
    losses: list[float] = []
    lrs: list[tuple[float, ...]] = []
    loss_of_batch = training.loop.batch_loss

    def recorded_loss(*args: Any, **kwargs: Any) -> torch.Tensor:
        loss = loss_of_batch(*args, **kwargs)
        losses.append(loss.item())
        return loss

    adamw_step = torch.optim.AdamW.step

    def recorded_step(self: torch.optim.AdamW, *args: Any, **kwargs: Any) -> Any:
        lrs.append(tuple(float(group["lr"]) for group in self.param_groups))
        return adamw_step(self, *args, **kwargs)

    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training.loop, "batch_loss", recorded_loss)
        patch.setattr(torch.optim.AdamW, "step", recorded_step)
        for name, args in settings.items():  # the student's teacher is the LoRA run
            losses.clear()
            lrs.clear()
            train(args, log=lambda message: None)
            out = Path(args.out)
            results[name] = {"losses": list(losses), "lrs": list(lrs),
                             "weights": _fingerprint(out / "checkpoint" / "trainable.safetensors"),
                             "heads": _fingerprint(out / "heads.safetensors")}
    return results


@pytest.mark.parametrize("name", list(RECORDED))
def test_losses_and_learning_rates_are_the_recorded_ones(runs: dict[str, dict[str, Any]],
                                                         name: str) -> None:
    got, want = runs[name], RECORDED[name]
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(np.array(got["lrs"]), np.array(want["lrs"]), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", list(RECORDED))
def test_trained_weights_are_the_recorded_ones(runs: dict[str, dict[str, Any]], name: str) -> None:
    got, want = runs[name], RECORDED[name]
    np.testing.assert_allclose(got["weights"], want["weights"], rtol=TOLERANCE)
    np.testing.assert_allclose(got["heads"], want["heads"], rtol=TOLERANCE)


def test_full_fine_tuning_ships_the_layers_and_keeps_the_base_embeddings(
        runs: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> None:
    from safetensors.numpy import load_file

    from moderation.modeldir import read_model_info
    from moderation.scorer import Scorer

    model = next(p for p in tmp_path_factory.getbasetemp().glob("reproducible*/full"))
    names = list(load_file(str(model / "encoder.safetensors")))
    assert names and not [n for n in names if "embeddings" in n]
    assert any("layer.0." in n for n in names)
    assert read_model_info(model).finetune == "full"
    # the model loads (its embeddings from the base) and scores
    (result,) = Scorer(model, backend="torch").score_batch(["you vile idiot"])
    assert 0.0 <= result.scores["hostility"] <= 1.0
