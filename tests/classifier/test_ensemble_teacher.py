"""Distilling several teachers: the student learns their ensemble's answers (the mean logit per
label, the mean evidence per token), each teacher scored once and cached apart; a LoRA student
starts from the base, since its adapter loads on top of the base and cannot carry a teacher's
weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.tiny_model import toy_rows, write_jsonl


@pytest.fixture(scope="module")
def second_teacher(tiny_base: Path, toy_files: tuple[Path, Path],
                   tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another toy model: the toy task again, in another draw."""
    from training.config import TrainingArguments
    from training.trainer import train

    out = tmp_path_factory.mktemp("teachers") / "second"
    train(TrainingArguments(
        data=[str(toy_files[0])], validation=[str(toy_files[1])], out=str(out), base=str(tiny_base),
        labels=["hostility", "insult", "threat"], epochs=6, batch_size=16, max_length=32,
        score_max_length=32, stride=8, learning_rate=3e-3, lora_alpha=64, head_learning_rate=0.1,
        threads=1, draw=1,
    ), log=lambda message: None)
    return out


def _encoded(tiny_base: Path, labels: list[str]) -> tuple[list, int]:
    from moderation import compat
    from moderation.labelled import Example
    from training.data import encode

    tokenizer = compat.load_tokenizer(tiny_base)
    examples = [Example(row["text"], {"hostility": float(row["hostility"])})
                for row in toy_rows(40, 51)]
    return encode(examples, tokenizer, labels, 32), tokenizer.pad_token_id or 0


def test_the_ensemble_answers_with_the_mean_logit_and_the_mean_evidence(
        toy_model: Path, second_teacher: Path, tiny_base: Path, tmp_path: Path) -> None:
    from moderation.modeldir import read_model_info
    from training.teacher import teacher_outputs

    teachers = [read_model_info(toy_model), read_model_info(second_teacher)]
    labels = teachers[0].label_names
    alone = []
    for index, info in enumerate(teachers):
        data, pad = _encoded(tiny_base, labels)
        teacher_outputs([info], data, pad, tmp_path / f"alone{index}", lambda message: None)
        alone.append(data)
    data, pad = _encoded(tiny_base, labels)
    messages: list[str] = []
    teacher_outputs(teachers, data, pad, tmp_path / "both", messages.append)

    def logit(p: np.ndarray) -> np.ndarray:
        return np.log(p) - np.log1p(-p)

    for k, example in enumerate(data):
        first, second = alone[0][k], alone[1][k]
        mean = (logit(first.soft) + logit(second.soft)) / 2
        np.testing.assert_allclose(example.soft, 1 / (1 + np.exp(-mean)), rtol=1e-5, atol=1e-6)
        assert not np.allclose(first.soft, second.soft)  # two teachers, two answers
        np.testing.assert_allclose(
            example.token_soft.astype(np.float32),
            (first.token_soft.astype(np.float32) + second.token_soft.astype(np.float32)) / 2,
            atol=1e-3)
    assert sum("scoring" in m for m in messages) == 2
    assert {p.name for p in (tmp_path / "both").iterdir()} == {
        "teacher-outputs.safetensors", "teacher-outputs-1.safetensors"}

    # Scored again, both come from their caches.
    messages.clear()
    again, pad = _encoded(tiny_base, labels)
    teacher_outputs(teachers, again, pad, tmp_path / "both", messages.append)
    assert not [m for m in messages if "scoring" in m]
    for kept, scored in zip(again, data, strict=True):
        np.testing.assert_array_equal(kept.soft, scored.soft)


def test_a_lora_student_learns_from_the_ensemble_what_its_data_lacks(
        toy_model: Path, second_teacher: Path, tiny_base: Path, tmp_path: Path) -> None:
    """Insult is in no example of the student's data: it can only learn it from the teachers."""
    import json

    from moderation.metrics import roc_auc
    from moderation.modeldir import read_model_info
    from moderation.scorer import Scorer
    from training.config import TrainingArguments
    from training.trainer import train

    rows = [{k: v for k, v in row.items() if k != "insult"} for row in toy_rows(400, 52)]
    val = [{k: v for k, v in row.items() if k != "insult"} for row in toy_rows(120, 53)]
    out = tmp_path / "student"
    train(TrainingArguments(
        data=[str(write_jsonl(tmp_path / "train.jsonl", rows))],
        validation=[str(write_jsonl(tmp_path / "val.jsonl", val))], out=str(out),
        base=str(tiny_base), teacher=[str(toy_model), str(second_teacher)], epochs=8,
        batch_size=16, max_length=32, score_max_length=32, stride=8, learning_rate=3e-3,
        lora_alpha=64, head_learning_rate=0.1, threads=1,
    ), log=lambda message: None)

    assert read_model_info(out).finetune == "lora"
    assert not list(out.glob("teacher-outputs*"))
    config = json.loads((out / "training_config.json").read_text())
    assert config["teacher"] == [str(toy_model), str(second_teacher)]
    assert "the ensemble of" in (out / "README.md").read_text(encoding="utf-8")
    test = toy_rows(200, 54)
    scores = Scorer(out, backend="torch").score_batch([row["text"] for row in test])
    insult = np.array([r.scores["insult"] for r in scores])
    assert roc_auc(np.array([row["insult"] for row in test]), insult) > 0.9


def test_teachers_with_other_labels_are_refused(toy_model: Path, tiny_base: Path,
                                                tmp_path: Path) -> None:
    from moderation.errors import ConfigError
    from training.config import TrainingArguments
    from training.trainer import train

    data = write_jsonl(tmp_path / "train.jsonl", toy_rows(80, 55))
    other = tmp_path / "other"
    train(TrainingArguments(
        data=[str(data)], out=str(other), base=str(tiny_base), labels=["hostility", "insult"],
        max_steps=2, batch_size=16, max_length=32, score_max_length=32, stride=8, threads=1,
    ), log=lambda message: None)
    with pytest.raises(ConfigError, match="answer with other labels"):
        train(TrainingArguments(data=[str(data)], out=str(tmp_path / "student"),
                                base=str(tiny_base), teacher=[str(toy_model), str(other)],
                                max_steps=2, max_length=32, threads=1),
              log=lambda message: None)


def test_a_settings_file_may_name_one_teacher_as_a_string() -> None:
    from tests.conftest import REPO
    from training.checkpoints import config_key
    from training.config import TrainingArguments

    args = TrainingArguments.from_toml(REPO / "training" / "recipes" / "fast.toml", out="x")
    assert args.teacher == ["models/default"]
    # keyed as before a run could have several teachers, so such a run's checkpoint resumes
    assert '"teacher": "models/default"' in config_key(args)
